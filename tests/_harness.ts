/**
 * Test harness: real `circuit` servers as separate OS processes and the real CLI, run with
 * exactly the permission list of the deno.json `start` task.
 *
 * @module
 */

import { COMMANDS as COMMAND_TABLE } from "../cli/command_table.ts";

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

/**
 * Asserts SPEC §12's ERR(t) (`code` 1) or USAGE(t) (`code` 2): that exit code, and stderr exactly one
 * line starting `circuit: ` and containing `text`. With `banner` (for `start`), a `CIRCUIT <version>`
 * line may precede it.
 *
 * @example
 * ```ts
 * assertFails(await circuit(["ls"]), 2, "ls needs a glob argument");
 * ```
 */
export function assertFails(r: RunResult, code: 1 | 2, text: string, opts: { banner?: boolean } = {}): void {
  const what = `stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
  if (r.code !== code) throw new Error(`exit code ${r.code}, want ${code}; ${what}`);
  let err = r.stderr;
  if (opts.banner && err.startsWith("CIRCUIT ")) err = err.slice(err.indexOf("\n") + 1);
  if (!err.endsWith("\n") || err.indexOf("\n") !== err.length - 1) {
    throw new Error(`stderr is not exactly one line; ${what}`);
  }
  if (!err.startsWith("circuit: ")) throw new Error(`stderr does not start with "circuit: "; ${what}`);
  if (!err.includes(text)) throw new Error(`stderr does not contain ${JSON.stringify(text)}; ${what}`);
}

/**
 * Asserts a successful run (exit 0; stderr shown otherwise) and returns it.
 *
 * @example
 * ```ts
 * const key = ok(await circuit(["keygen"]), "keygen").stdout;
 * ```
 */
export function ok(r: RunResult, what = ""): RunResult {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
  return r;
}

/**
 * Asserts success with nothing printed (as `mk*`, `set`, `scrub` succeed).
 *
 * @example
 * ```ts ignore
 * assertQuiet(await circuit(["scrub", "-d", url, anchor]), "scrub");
 * ```
 */
export function assertQuiet(r: RunResult, what = ""): void {
  if (r.code !== 0 || r.stdout !== "" || r.stderr !== "") {
    throw new Error(`${what}: want exit 0 and no output, got ${JSON.stringify(r)}`);
  }
}

/**
 * SPEC §12's ERR(t): exit 1 and one stderr line `circuit: …t…`.
 *
 * @example
 * ```ts
 * assertErr(await circuit(["ls", "-d", "circuit://bad", "/"]), "is not a valid circuit address");
 * ```
 */
export function assertErr(r: RunResult, text: string, opts: { banner?: boolean } = {}): void {
  assertFails(r, 1, text, opts);
}

/**
 * SPEC §12's USAGE(t): exit 2 and one stderr line `circuit: …t…`.
 *
 * @example
 * ```ts
 * assertUsage(await circuit(["bogus"]), "unknown command");
 * ```
 */
export function assertUsage(r: RunResult, text: string): void {
  assertFails(r, 2, text);
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
