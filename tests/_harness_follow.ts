/**
 * Watching a background command's stdout and stderr as they arrive, re-exported by _harness.ts.
 *
 * @module
 */
import type { RunResult } from "./_harness.ts";

/** A background command whose output is watched as it arrives. */
export interface Followed {
  readonly child: Deno.ChildProcess;
  /** stdout so far. */
  readonly stdout: string;
  /** stderr so far. */
  readonly stderr: string;
  /** Whether the process has exited. */
  readonly exited: boolean;
  /** Settles once the process has exited and both streams have ended. */
  readonly done: Promise<RunResult>;
  /** SIGKILLs the process unless it has exited. */
  kill(): void;
}

/**
 * Watches a spawned command's stdout and stderr as they arrive (for output that must be seen while
 * the command still runs).
 *
 * @example
 * ```ts
 * const recv = follow(spawnCircuit(["recv", "-d", url, path]));
 * await eventually("a body", 2000, () => recv.stdout !== "");
 * console.log((await recv.done).code);
 * ```
 */
export function follow(child: Deno.ChildProcess): Followed {
  const state = { stdout: "", stderr: "", exited: false };
  const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) state[key] += chunk;
  };
  const done = Promise.all([pump(child.stdout, "stdout"), pump(child.stderr, "stderr"), child.status])
    .then(([, , status]) => ({ code: status.code, stdout: state.stdout, stderr: state.stderr }));
  child.status.then(() => state.exited = true);
  return {
    child,
    get stdout() {
      return state.stdout;
    },
    get stderr() {
      return state.stderr;
    },
    get exited() {
      return state.exited;
    },
    done,
    kill() {
      if (state.exited) return;
      try {
        child.kill("SIGKILL");
      } catch {
        // exited meanwhile
      }
    },
  };
}
