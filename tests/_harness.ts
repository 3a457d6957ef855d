/**
 * Test harness: real `circuit` servers as separate OS processes and the real CLI, run with
 * exactly the permission list of the deno.json `start` task. Also re-exports the assertions on
 * runs (_harness_assert.ts) and {@linkcode follow} (_harness_follow.ts), so tests import from here.
 *
 * @module
 */

import { COMMANDS as COMMAND_TABLE } from "../cli/command_table.ts";

export { assertErr, assertFails, assertQuiet, assertUsage, ok } from "./_harness_assert.ts";
export { follow, type Followed } from "./_harness_follow.ts";

const _root = new URL("..", import.meta.url).pathname;
const _config = JSON.parse(Deno.readTextFileSync(`${_root}deno.json`));

/** The flags between `deno run` and `cli.ts` in the `start` task: what users run with. */
export const PERMISSIONS: string[] = (_config.tasks.start as string).split(" ").filter((w) =>
  w.startsWith("--")
);

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

/** Options of {@linkcode circuit}. */
export interface CircuitOptions {
  /** Bytes written to the command's stdin, which is then closed; absent: stdin is /dev/null. */
  stdin?: string | Uint8Array;
  /** Variables added to the environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Start from an empty environment (plus what Deno needs to find its cache) instead of the test's. */
  clearEnv?: boolean;
  /** SIGKILL the command after this many ms, so a command that wrongly blocks fails the test instead of hanging it. */
  timeoutMs?: number;
}

/** Variables a spawned Deno needs to find its cache and the `deno` executable. */
const _DENO_ENV = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"];

function _env(opts: { env?: Record<string, string>; clearEnv?: boolean }): Record<string, string> {
  const base: Record<string, string> = {};
  if (opts.clearEnv) {
    for (const name of _DENO_ENV) {
      const v = Deno.env.get(name);
      if (v !== undefined) base[name] = v;
    }
  }
  return { ...base, ...QUIET_ENV, ...opts.env };
}

/**
 * Runs `circuit <args>` to completion.
 *
 * @example
 * ```ts
 * const r = await circuit(["keygen"]);
 * console.log(r.code, r.stdout);
 * ```
 */
export async function circuit(args: string[], opts: CircuitOptions = {}): Promise<RunResult> {
  const child = new Deno.Command("deno", {
    args: ["run", ...PERMISSIONS, CLI, ...args],
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: _env(opts),
    clearEnv: opts.clearEnv,
    cwd: opts.cwd,
  }).spawn();
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, opts.timeoutMs);
  try {
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      // A command that fails before reading its input closes the pipe; its exit status tells the story.
      await w.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin)
        .catch(() => {});
      await w.close().catch(() => {});
    }
    const out = await child.output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
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
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
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
  #log: { text: string };

  private constructor(
    url: string,
    child: Deno.ChildProcess,
    varDir: string,
    stderr: Promise<string>,
    log: { text: string },
  ) {
    this.url = url;
    this.child = child;
    this.varDir = varDir;
    this.#stderr = stderr;
    this.#log = log;
  }

  /** Starts `circuit start -a 127.0.0.1:0 -var <dir> <extra>` and waits for its URL. */
  static start(
    dir: string,
    extra: string[] = [],
    env: Record<string, string> = {},
    permissions: string[] = PERMISSIONS,
  ): Promise<TestServer> {
    const varDir = `${dir}/var-${crypto.randomUUID().slice(0, 8)}`;
    return TestServer.startWith(["-a", "127.0.0.1:0", "-var", varDir, ...extra], {
      env,
      varDir,
      permissions,
    });
  }

  /**
   * Starts `circuit start <args>` exactly as given and waits for its URL. `varDir` is where its ops log
   * is; absent, the default of SPEC §3.4 under `env.TMPDIR` (else `/tmp`) is assumed.
   *
   * @example
   * ```ts
   * const s = await TestServer.startWith(["-if", "lo"], { env: { TMPDIR: dir } });
   * await s.stop();
   * ```
   */
  static async startWith(
    args: string[],
    opts: { env?: Record<string, string>; varDir?: string; permissions?: string[] } = {},
  ): Promise<TestServer> {
    const child = new Deno.Command("deno", {
      args: ["run", ...(opts.permissions ?? PERMISSIONS), CLI, "start", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { ...QUIET_ENV, ...opts.env },
    }).spawn();
    const log = { text: "" };
    const stderr = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log.text += chunk;
      return log.text;
    })();
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
    const url = text.trim();
    const [pid, workerId] = url.split("/").slice(-2);
    const tmp = opts.env?.TMPDIR || "/tmp";
    const varDir = opts.varDir?.replaceAll("%W", workerId) ??
      `${tmp}/circuit-${workerId}-P${pid.padStart(4, "0")}`;
    const server = new TestServer(url, child, varDir, stderr, log);
    // The first ops-log line, written before the URL was printed, names the server.
    server.serverAnchor = "/" + (await server.opsLog())[0].ServerID;
    return server;
  }

  /** What the server has written to stderr so far. */
  log(): string {
    return this.#log.text;
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
export async function eventually(
  what: string,
  ms: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
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

/** Generous bound for a client command that must not block: a hang then fails the test instead of stalling it. */
export const CLIENT_TIMEOUT_MS = 30_000;

/**
 * Runs `fn` with one server started on a fresh temp dir (`circuit start <extra>` with `env`);
 * the server is stopped and the dir removed afterwards, whatever `fn` does.
 *
 * @example
 * ```ts ignore
 * await withServer(async (s) => console.log(s.serverAnchor));
 * ```
 */
export async function withServer<T>(
  fn: (s: TestServer, dir: string) => Promise<T>,
  opts: { extra?: string[]; env?: Record<string, string> } = {},
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-test-" });
  let s: TestServer | undefined;
  try {
    s = await TestServer.start(dir, opts.extra, opts.env);
    return await fn(s, dir);
  } finally {
    await s?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `circuit <cmd> -d <server URL> <rest>`, as §12 runs every client command. */
export function clientOf(
  server: TestServer,
): (cmd: string, rest?: string[], opts?: CircuitOptions) => Promise<RunResult> {
  return (cmd, rest = [], opts = {}) =>
    circuit([cmd, "-d", server.url, ...rest], { timeoutMs: CLIENT_TIMEOUT_MS, ...opts });
}

/** Every command, as `circuit help` must name them: the CLI's own table. */
export const COMMANDS: readonly string[] = COMMAND_TABLE.map((c) => c.name);
