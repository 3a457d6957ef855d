/**
 * Test harness: real `circuit` servers as separate OS processes and the real CLI, run with
 * exactly the permission list of the deno.json `start` task.
 *
 * @module
 */

const _root = new URL("..", import.meta.url).pathname;
const _config = JSON.parse(Deno.readTextFileSync(`${_root}deno.json`));

/** The flags between `deno run` and `cli.ts` in the `start` task: what users run with. */
export const PERMISSIONS: string[] = (_config.tasks.start as string).split(" ").filter((w) => w.startsWith("--"));

/** The CLI entry point. */
export const CLI = `${_root}cli.ts`;

/** Environment for every spawned Deno: no backtraces, no colours. */
export const QUIET_ENV = { RUST_BACKTRACE: "0", NO_COLOR: "1" };

/** Result of one CLI run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `circuit <args>` to completion. */
export async function circuit(
  args: string[],
  opts: { stdin?: string | Uint8Array; env?: Record<string, string>; cwd?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command("deno", {
    args: ["run", ...PERMISSIONS, CLI, ...args],
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { ...QUIET_ENV, ...opts.env },
    cwd: opts.cwd,
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin);
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

/** Spawns `circuit <args>` in the background (for blocking commands). */
export function spawnCircuit(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: "piped" | "null" } = {},
): Deno.ChildProcess {
  return new Deno.Command("deno", {
    args: ["run", ...PERMISSIONS, CLI, ...args],
    stdin: opts.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
    env: { ...QUIET_ENV, ...opts.env },
  }).spawn();
}

/** Reads a spawned process's remaining output. */
export async function collect(child: Deno.ChildProcess): Promise<RunResult> {
  const out = await child.output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

/** A server started for a test. */
export class TestServer {
  /** Its circuit URL, as printed. */
  readonly url: string;
  /** Its server anchor, `/X…`. */
  serverAnchor = "";

  readonly child: Deno.ChildProcess;
  readonly varDir: string;
  #stderr: Promise<string>;

  private constructor(url: string, child: Deno.ChildProcess, varDir: string, stderr: Promise<string>) {
    this.url = url;
    this.child = child;
    this.varDir = varDir;
    this.#stderr = stderr;
  }

  /** Starts `circuit start -a 127.0.0.1:0 -var <dir> <extra>` and waits for its URL. */
  static async start(dir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<TestServer> {
    const varDir = `${dir}/var-${crypto.randomUUID().slice(0, 8)}`;
    const child = new Deno.Command("deno", {
      args: ["run", ...PERMISSIONS, CLI, "start", "-a", "127.0.0.1:0", "-var", varDir, ...extra],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { ...QUIET_ENV, ...env },
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) {
        await child.status;
        throw new Error(`server did not start: ${await stderr}`);
      }
      text += value;
    }
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    const server = new TestServer(text.trim(), child, varDir, stderr);
    // The first ops-log line, written before the URL was printed, names the server.
    server.serverAnchor = "/" + (await server.opsLog())[0].ServerID;
    return server;
  }

  /** The server's OS process ID. */
  get pid(): number {
    return this.child.pid;
  }

  /** Everything the server wrote to stderr (resolves once it has exited). */
  stderr(): Promise<string> {
    return this.#stderr;
  }

  /** Sends a signal to the server process. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Stops the server (SIGKILL unless told otherwise) and waits for it. */
  async stop(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    this.kill("SIGCONT");
    this.kill(signal);
    const status = await this.child.status;
    await this.#stderr;
    return status;
  }

  /** The lines of the ops log, parsed. */
  async opsLog(): Promise<Record<string, unknown>[]> {
    const text = await Deno.readTextFile(`${this.varDir}/ops.log`);
    return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  }
}

/** Polls `check` every 100 ms until it returns true or `ms` pass; throws with `what` on time-out. */
export async function eventually(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether a process with this PID exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}
