/**
 * Handles on processes and containers: the three standard streams, signals, waits (SPEC §7.2, §7.6, §8).
 *
 * @module
 */
import { camelize } from "./case.ts";
import { openTail, type TailOptions } from "./tail.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { _Handle } from "./handle.ts";
import type { DockerStat, Opts, ProcStat } from "./handle_types.ts";

function _procStat(raw: unknown): ProcStat {
  const r = raw as {
    Cmd: { Env: string[] | null; Dir: string; Path: string; Args: string[]; Scrub: boolean };
    Exit: { Body: string; Code: number | null; Signal: string | null } | null;
    Phase: ProcStat["phase"];
  };
  return {
    cmd: { path: r.Cmd.Path, args: r.Cmd.Args, env: r.Cmd.Env, dir: r.Cmd.Dir, scrub: r.Cmd.Scrub },
    phase: r.Phase,
    exit: r.Exit && { body: r.Exit.Body, code: r.Exit.Code, signal: r.Exit.Signal },
  };
}

/** @internal Processes and containers: the three standard streams and signals. */
export abstract class _Streaming extends _Handle {
  #stdin: WritableStream<Uint8Array> | null = null;

  /**
   * The process's standard input. `close()` closes it; `abort()` leaves it open for another
   * writer (the next access of `stdin` returns a fresh stream). Opened on the first write.
   */
  get stdin(): WritableStream<Uint8Array> {
    if (this.#stdin) return this.#stdin;
    let inner: Promise<WritableStreamDefaultWriter<Uint8Array>> | null = null;
    const open = () =>
      inner ??= this._conn.openInput("stdin", this._target).then(({ writable }) => writable.getWriter());
    this.#stdin = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        const w = await open();
        await w.write(chunk);
      },
      close: async () => {
        const w = await open();
        await w.close();
      },
      abort: async (reason) => {
        // stdin stays open on the server: the next access gets a fresh writer.
        this.#stdin = null;
        if (inner) await (await inner).abort(reason);
      },
    });
    return this.#stdin;
  }

  /** A new reader of the process's standard output; cancelling it loses nothing. */
  get stdout(): ReadableStream<Uint8Array> {
    return this.#output("stdout");
  }

  /** A new reader of the process's standard error; cancelling it loses nothing. */
  get stderr(): ReadableStream<Uint8Array> {
    return this.#output("stderr");
  }

  #output(which: "stdout" | "stderr"): ReadableStream<Uint8Array> {
    // Lazy: merely touching `stdout` must not take the stream's single reader.
    return this._conn.openOutput("read", { ...this._target, Stream: which }, { lazy: true }).stream;
  }

  /**
   * The last output held for `tail` (SPEC §13.2), without taking anything from the single
   * `stdout` reader; with `follow`, new output until the process exits.
   *
   * @example
   * ```ts ignore
   * console.log(await new Response(proc.tail({ bytes: 1024 })).text());
   * ```
   */
  tail(opts: TailOptions = {}): ReadableStream<Uint8Array> {
    return openTail(this._conn, this._target, opts);
  }

  /**
   * Throws away the stream's buffered and future output (for services nobody reads).
   *
   * @example
   * ```ts ignore
   * await proc.discard("stderr");
   * ```
   */
  async discard(stream: "stdout" | "stderr"): Promise<void> {
    await this._conn.call("discard", { ...this._target, Stream: stream }, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * Sends a signal (`"TERM"`, `"SIGKILL"`, …) to the process.
   *
   * @example
   * ```ts ignore
   * await proc.signal("TERM");
   * ```
   */
  async signal(name: string): Promise<void> {
    await this._conn.call("signal", { ...this._target, Signal: name }, { timeoutMs: CALL_TIMEOUT_MS });
  }
}

/**
 * A process element. Besides `wait()` and `peek()` it has `path`; `stdin` (a
 * `WritableStream`: `close()` closes the process's stdin, `abort()` leaves it open); `stdout` and
 * `stderr` (each access opens a new `ReadableStream`; cancelling it loses nothing);
 * `discard(stream)`; and `signal(name)`.
 *
 * @example
 * ```ts ignore
 * const proc = await anchor.makeProc({ path: "/bin/cat" });
 * const w = proc.stdin.getWriter();
 * await w.write(new TextEncoder().encode("echo\n"));
 * await w.close();
 * console.log(await new Response(proc.stdout).text()); // "echo\n"
 * console.log((await proc.wait()).phase); // "exited"
 * ```
 */
export class Proc extends _Streaming {
  /** Always `"proc"`. */
  readonly kind = "proc" as const;

  /**
   * Waits until the process has exited and returns its final state.
   *
   * @example
   * ```ts ignore
   * const stat = await proc.wait();
   * console.log(stat.phase, stat.exit);
   * ```
   */
  async wait(opts: Opts = {}): Promise<ProcStat> {
    return _procStat(await this._conn.call("wait", this._target, { signal: opts.signal }));
  }

  /**
   * The process's current state.
   *
   * @example
   * ```ts ignore
   * console.log((await proc.peek()).phase); // "running"
   * ```
   */
  async peek(): Promise<ProcStat> {
    return _procStat(await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS }));
  }
}

/** Map-valued fields of a container's state whose keys are data, not field names. */
const _DOCKER_MAPS = new Set(["Ports", "PortBindings", "Volumes", "VolumesRW", "ExposedPorts"]);

/**
 * A docker container element: the same streams, `discard()` and `signal()` as {@linkcode Proc},
 * with the engine's state from `wait()` and `peek()`.
 *
 * @example
 * ```ts ignore
 * const c = await anchor.makeDocker({ image: "busybox", path: "/bin/echo", args: ["hi"], scrub: true });
 * await c.stdin.close();
 * console.log(await new Response(c.stdout).text()); // "hi\n"
 * await c.wait();
 * ```
 */
export class Container extends _Streaming {
  /** Always `"docker"`. */
  readonly kind = "docker" as const;

  /**
   * Waits until the container has stopped and returns its final state.
   *
   * @example
   * ```ts ignore
   * console.log((await container.wait()).state);
   * ```
   */
  async wait(opts: Opts = {}): Promise<DockerStat> {
    return camelize(
      await this._conn.call("wait", this._target, { signal: opts.signal }),
      _DOCKER_MAPS,
    ) as DockerStat;
  }

  /**
   * The container's current state.
   *
   * @example
   * ```ts ignore
   * console.log((await container.peek()).id);
   * ```
   */
  async peek(): Promise<DockerStat> {
    return camelize(
      await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS }),
      _DOCKER_MAPS,
    ) as DockerStat;
  }
}
