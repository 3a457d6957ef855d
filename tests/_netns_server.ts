/**
 * Servers and CLI runs inside a network namespace (or here), for the multi-host tests;
 * re-exported by _netns.ts.
 *
 * @module
 */
import { CLI, PERMISSIONS, QUIET_ENV, type RunResult } from "./_harness.ts";
import { inNs } from "./_netns.ts";

const _decoder = new TextDecoder();

/** Runs `circuit <args>` inside namespace `ns` (null: here) to completion. */
export async function nsCircuit(
  ns: string | null,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  const [cmd, argv] = inNs(ns, ["deno", "run", ...PERMISSIONS, CLI, ...args]);
  const out = await new Deno.Command(cmd, {
    args: argv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { ...QUIET_ENV, ...env },
  }).output();
  return { code: out.code, stdout: _decoder.decode(out.stdout), stderr: _decoder.decode(out.stderr) };
}

/**
 * A server started inside a namespace (or here), whose log can be read while it runs.
 *
 * @example
 * ```ts ignore
 * const s = await NsServer.start("cirt-h1", dir, ["-a", "10.231.1.1:0"]);
 * console.log(s.url, s.id, s.log());
 * await s.stop();
 * ```
 */
export class NsServer {
  /** Its circuit URL. */
  readonly url: string;
  /** Its server ID (`X…`, without the slash). */
  readonly id: string;
  /** Its var dir. */
  readonly varDir: string;
  #child: Deno.ChildProcess;
  #log: { text: string };
  #logDone: Promise<void>;

  private constructor(
    url: string,
    id: string,
    varDir: string,
    child: Deno.ChildProcess,
    log: { text: string },
    logDone: Promise<void>,
  ) {
    this.url = url;
    this.id = id;
    this.varDir = varDir;
    this.#child = child;
    this.#log = log;
    this.#logDone = logDone;
  }

  /** Starts `circuit start -var <dir>/var-<random> <args>` in `ns` and waits for its URL. */
  static async start(
    ns: string | null,
    dir: string,
    args: string[],
    env: Record<string, string> = {},
  ): Promise<NsServer> {
    const varDir = `${dir}/var-${crypto.randomUUID().slice(0, 8)}`;
    const [cmd, argv] = inNs(ns, ["deno", "run", ...PERMISSIONS, CLI, "start", "-var", varDir, ...args]);
    const child = new Deno.Command(cmd, {
      args: argv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { ...QUIET_ENV, ...env },
    }).spawn();
    const log = { text: "" };
    const logDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log.text += chunk;
    })();
    let out = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!out.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) break;
      out += value;
    }
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    if (!out.includes("\n")) {
      await child.status;
      await logDone;
      throw new Error(`server did not start: ${log.text}`);
    }
    const first = JSON.parse((await Deno.readTextFile(`${varDir}/ops.log`)).split("\n")[0]);
    return new NsServer(out.trim(), first.ServerID, varDir, child, log, logDone);
  }

  /** The server's OS process ID (`ip netns exec` execs, so it is the server itself). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Its server anchor, `/X…`. */
  get anchor(): string {
    return "/" + this.id;
  }

  /** What it has logged so far. */
  log(): string {
    return this.#log.text;
  }

  /** Sends a signal; no error if it has exited. */
  signal(sig: Deno.Signal): void {
    try {
      this.#child.kill(sig);
    } catch {
      // already gone
    }
  }

  /** Resolves once it has exited. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }

  /** The lines of its ops log, parsed. */
  async opsLog(): Promise<Record<string, unknown>[]> {
    const text = await Deno.readTextFile(`${this.varDir}/ops.log`);
    return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  }

  /** Stops it (SIGKILL unless told otherwise; a stopped process is continued first) and waits. */
  async stop(sig: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    this.signal("SIGCONT");
    this.signal(sig);
    const status = await this.#child.status;
    await this.#logDone;
    return status;
  }
}
