/**
 * `client.run()` (SPEC §15.2): one command on one server or on every server a selector picks,
 * each under a fresh `/X…/run/<id>` anchor, tied to this connection so that it cannot outlive
 * the client, and scrubbed only once its output has been read to the end.
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";
import { CircuitError } from "../wire/errors.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { listServers } from "./servers.ts";

/**
 * Options of {@linkcode Client.run}.
 *
 * @example
 * ```ts ignore
 * const runs = await client.run(["/bin/hostname"], { select: "role=web" });
 * ```
 */
export interface RunOptions {
  /** Selector of the target servers (SPEC §15.1); absent: the dialed server. */
  select?: string;
  /** `K=V` entries added to the server's environment (as `env K=V prog` does). */
  env?: string[];
  /** Working directory; absent: the server's. */
  dir?: string;
  /** Fed to the program's stdin with one target; absent, or with several: stdin is closed at once. */
  stdin?: ReadableStream<Uint8Array>;
  /** Aborting sends SIGKILL to every started process group. */
  signal?: AbortSignal;
  /** Not tied to this client and never scrubbed: it keeps running after the client goes away. */
  detach?: boolean;
}

/**
 * How a run ended on one target.
 *
 * @example
 * ```ts ignore
 * const exit = await run.done;
 * console.log(exit.code ?? exit.signal); // 0, 3, "SIGKILL", …
 * ```
 */
export interface RunExit {
  /** Exit status, null if killed by a signal or never started. */
  code: number | null;
  /** The signal that killed it (e.g. `"SIGKILL"`), else null. */
  signal: string | null;
  /** `exit status 3`, `signal: killed`, `exec error: …`, or "" after status 0. */
  body: string;
}

/**
 * One started program. Read (or cancel) both `stdout` and `stderr`: `done` settles once the
 * program has exited and both were read to their end, and the element is scrubbed then.
 *
 * @example
 * ```ts ignore
 * const [r] = await client.run(["/bin/echo", "hi"]);
 * const [text, , exit] = await Promise.all([new Response(r.stdout).text(), r.stderr.cancel(), r.done]);
 * ```
 */
export interface RunTarget {
  /** The element's anchor, `/X…/run/<id>`. */
  anchor: string;
  /** The host name of the server it runs on. */
  host: string;
  /** The program's standard output, from its start. */
  stdout: ReadableStream<Uint8Array>;
  /** The program's standard error, from its start. */
  stderr: ReadableStream<Uint8Array>;
  /** Its exit, once it has exited and both streams were read or cancelled (then it is scrubbed). */
  done: Promise<RunExit>;
  /** Signals the program's whole process group (`"INT"`, `"KILL"`, …); no-op once it has exited. */
  signal(name: string): Promise<void>;
}

/** Starts `cmd` (path, then arguments) on the targets; rejects if no server matches or a start fails. */
export async function runOn(
  conn: Connection,
  cmd: readonly string[],
  opts: RunOptions = {},
): Promise<RunTarget[]> {
  if (cmd.length === 0 || cmd[0] === "") throw new CircuitError("run needs a program");
  const listed = await listServers(conn, opts.select);
  // No selector: the dialed server, whose ID an early-dialed connection knows once a reply came.
  const servers = opts.select === undefined ? listed.filter((s) => s.anchor === "/" + conn.serverId) : listed;
  if (servers.length === 0) throw new CircuitError(`no server matches ${opts.select}`);
  // Several targets cannot share one input: their stdin is closed (SPEC §15.2).
  const stdin = servers.length === 1 ? opts.stdin : undefined;
  const [path, ...args] = _resolve(cmd, opts.env ?? []);
  const arg = { Path: path, Args: args, Env: null, Dir: opts.dir ?? "", Scrub: false };
  const started = await Promise.allSettled(servers.map(async (s) => {
    const anchor = `${s.anchor}/run/${_id()}`;
    const info = await conn.call("mk", { Path: anchor, Kind: "proc", Arg: arg, Tie: !opts.detach }, {
      timeoutMs: CALL_TIMEOUT_MS,
    }).catch((err) => Promise.reject({ anchor, err }));
    return _target(conn, anchor, s.host, info.Eid, { ...opts, stdin });
  }));
  // One target: its failure is the run's. Several: a server that could not start it is one
  // failed target among the others (its `done` says why), as pssh reports a host it cannot reach.
  if (started.length === 1 && started[0].status === "rejected") throw started[0].reason.err;
  const targets = started.map((r, i) =>
    r.status === "fulfilled" ? r.value : _unstarted(r.reason.anchor, servers[i].host, r.reason.err)
  );
  opts.signal?.addEventListener("abort", () => {
    for (const t of targets) t.signal("KILL").catch(() => {});
  }, { once: true });
  return targets;
}

function _target(conn: Connection, anchor: string, host: string, eid: number, opts: RunOptions): RunTarget {
  const at = { Path: anchor, Eid: eid };
  // Opened at once (not lazily): output is read as it comes, and the reads end with the program.
  const out = conn.openOutput("read", { ...at, Stream: "stdout" }, { lazy: !!opts.detach });
  const err = conn.openOutput("read", { ...at, Stream: "stderr" }, { lazy: !!opts.detach });
  if (!opts.detach) _feed(conn, at, opts.stdin);
  const waited = conn.call("wait", at);
  const done = (async () => {
    const stat = _exit(await waited);
    if (opts.detach) return stat;
    // Only after both streams reached their end: a program that exits at once loses nothing.
    await Promise.allSettled([out.result, err.result]);
    await conn.call("scrub", { Path: anchor, Kill: false }, { timeoutMs: CALL_TIMEOUT_MS }).catch(() => {});
    return stat;
  })();
  return {
    anchor,
    host,
    stdout: out.stream,
    stderr: err.stream,
    done,
    signal: async (name) => {
      await conn.call("signal", { ...at, Signal: name, Group: true }, { timeoutMs: CALL_TIMEOUT_MS }).catch(
        (e) => {
          if (!(e instanceof CircuitError && e.message === "process already finished")) throw e;
        },
      );
    },
  };
}

function _unstarted(anchor: string, host: string, err: unknown): RunTarget {
  const body = `not started: ${err instanceof Error ? err.message : String(err)}`;
  const empty = () => ReadableStream.from<Uint8Array>([]);
  return {
    anchor,
    host,
    stdout: empty(),
    stderr: empty(),
    done: Promise.resolve({ code: null, signal: null, body }),
    signal: () => Promise.resolve(),
  };
}

/** Copies `input` to the program's stdin, or closes its stdin at once (so `cat` ends). */
async function _feed(
  conn: Connection,
  at: { Path: string; Eid: number },
  input?: ReadableStream<Uint8Array>,
) {
  try {
    const { writable, result } = await conn.openInput("stdin", at);
    await Promise.all([(input ?? ReadableStream.from<Uint8Array>([])).pipeTo(writable), result]);
  } catch {
    // The program closed its stdin or exited: what it did not read is moot.
  }
}

function _exit(raw: unknown): RunExit {
  const r = raw as { Exit: { Body: string; Code: number | null; Signal: string | null } | null };
  if (r.Exit === null) return { code: 0, signal: null, body: "" };
  return { code: r.Exit.Code, signal: r.Exit.Signal, body: r.Exit.Body };
}

/**
 * A bare program name is looked up in the target's PATH through `/usr/bin/env`, as ssh does
 * through the login shell (the element itself never searches PATH, SPEC §7.2); `env` also adds
 * the `K=V` entries to the server's environment instead of replacing it.
 */
function _resolve(cmd: readonly string[], env: readonly string[]): string[] {
  for (const e of env) if (!/^[^=]+=/.test(e)) throw new CircuitError(`-env ${JSON.stringify(e)} is not K=V`);
  if (env.length === 0 && cmd[0].includes("/")) return [...cmd];
  // `--`-less: env reads every leading K=V as a variable, so a program named "a=b" needs a path.
  return ["/usr/bin/env", ...env, ...cmd];
}

function _id(): string {
  return [...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
