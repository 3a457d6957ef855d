/**
 * `circuit run` (SPEC §15.2): one command on the dialed server or on every server a selector
 * picks; live output (prefixed by host for several), exit codes passed through, Ctrl-C and
 * `-timeout`, and a run that never outlives this CLI (the servers end it if the CLI dies).
 *
 * @module
 */
import { runOn, type RunTarget } from "../client/run.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { UsageError } from "./fail.ts";
import { parseDuration } from "./duration.ts";
import { LineWriter, OrderedOutput } from "./line_output.ts";

/** Exit code after Ctrl-C (128 + SIGINT), as shells report it. */
const _EXIT_INTERRUPTED = 130;

/** Exit code after `-timeout` expired, as coreutils `timeout` reports it. */
const _EXIT_TIMED_OUT = 124;

/** Exit code when the program could not be started, as shells report "not found". */
const _EXIT_EXEC_ERROR = 127;

/** Signal numbers for 128 + n exit codes of a single target killed by a signal (Linux). */
const _SIGNUM: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/**
 * `run [-on SEL] [-env K=V]… [-dir DIR] [-timeout D] [-prefix] [-detach] -- PATH [ARG…]`.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { run } from "./run.ts";
 * await run({ command: "run", parsed: parseFlags(["--", "/bin/echo", "hi"], []) });
 * ```
 */
export async function run(inv: Invocation): Promise<number> {
  const { strings, bools, lists, positionals } = inv.parsed;
  if (positionals.length === 0) throw new UsageError("run needs a program after --");
  const timeoutText = strings.get("timeout");
  const timeoutMs = timeoutText === undefined ? undefined : parseDuration(timeoutText);
  const conn = await dialServer(inv.parsed);
  const detach = bools.has("detach");
  const targets = await runOn(conn, positionals, {
    select: strings.get("on"),
    env: lists.get("env"),
    dir: strings.get("dir"),
    detach,
    stdin: detach ? undefined : Deno.stdin.readable,
  });
  if (detach) {
    Deno.stdout.writeSync(new TextEncoder().encode(targets.map((t) => t.anchor + "\n").join("")));
    return 0;
  }
  let interrupted = 0;
  let timedOut = false;
  const signalAll = (name: string) => {
    for (const t of targets) t.signal(name).catch(() => {});
  };
  // First Ctrl-C: SIGINT, as a local program would get; the second: SIGKILL.
  const onInt = () => signalAll(++interrupted === 1 ? "INT" : "KILL");
  Deno.addSignalListener("SIGINT", onInt);
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    signalAll("KILL");
  }, timeoutMs);
  try {
    const exits = await _stream(targets, bools.has("prefix") || targets.length > 1);
    if (timedOut) return _EXIT_TIMED_OUT;
    if (interrupted > 0) return _EXIT_INTERRUPTED;
    return _summarize(targets, exits);
  } finally {
    clearTimeout(timer);
    Deno.removeSignalListener("SIGINT", onInt);
  }
}

async function _stream(targets: RunTarget[], prefixed: boolean) {
  const labels = _labels(targets);
  const out = new OrderedOutput(Deno.stdout);
  const err = new OrderedOutput(Deno.stderr);
  return await Promise.all(targets.map(async (t, i) => {
    const prefix = prefixed ? `${labels[i]}: ` : null;
    await Promise.all([
      new LineWriter(out, prefix).drain(t.stdout),
      new LineWriter(err, prefix).drain(t.stderr),
    ]);
    return await t.done;
  }));
}

/** Host names, made unique with the server ID where several targets share one. */
function _labels(targets: RunTarget[]): string[] {
  const count = new Map<string, number>();
  for (const t of targets) count.set(t.host, (count.get(t.host) ?? 0) + 1);
  return targets.map((t) => {
    const id = t.anchor.split("/")[1];
    if (t.host === "") return id;
    return count.get(t.host)! > 1 ? `${t.host}/${id}` : t.host;
  });
}

function _summarize(targets: RunTarget[], exits: Awaited<RunTarget["done"]>[]): number {
  const labels = _labels(targets);
  const lines: string[] = [];
  exits.forEach((e, i) => {
    if (e.code === 0) return;
    const what = e.signal !== null
      ? `signal ${e.signal.replace(/^SIG/, "")}`
      : e.code !== null
      ? `exit status ${e.code}`
      : e.body;
    // One target: its exit code says it all, unless it never ran or a signal ended it.
    if (targets.length > 1 || e.code === null) lines.push(`${labels[i]} (${targets[i].anchor}): ${what}\n`);
  });
  if (lines.length > 0) Deno.stderr.writeSync(new TextEncoder().encode(lines.join("")));
  if (targets.length > 1) return exits.every((e) => e.code === 0) ? 0 : 1;
  const [e] = exits;
  if (e.code !== null) return e.code;
  if (e.signal !== null) return 128 + (_SIGNUM[e.signal] ?? 0);
  return _EXIT_EXEC_ERROR;
}
