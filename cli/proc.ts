/**
 * Process commands: `mkproc`, `signal`, `wait`, `waitall`, `stdin`, `stdout`, `stderr`
 * (SPEC §5, §7.2). All but `mkproc` work on docker containers too.
 *
 * @module
 */
import { parseCmdJson } from "../wire/cmd.ts";
import { CircuitError } from "../wire/errors.ts";
import { formatJson } from "../client/json.ts";
import { anchorArg, elementArg } from "./anchor.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { causeText, printError } from "./fail.ts";
import { copyToStdout, readStdinText, writeStdout } from "./io.ts";

/**
 * `mkproc [-scrub] <anchor>`: starts the process described by the Cmd JSON on stdin. A process
 * that cannot be started is still created, and the command fails with its exec error.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { mkproc } from "./proc.ts";
 * await mkproc({ command: "mkproc", parsed: parseFlags(["/X88550014d4c82e4d/p"], []) });
 * ```
 */
export async function mkproc(inv: Invocation): Promise<number> {
  const Path = elementArg(inv.parsed.positionals[0]);
  const conn = await dialServer(inv.parsed);
  const cmd = parseCmdJson(await readStdinText());
  const Arg = inv.parsed.bools.has("scrub") ? { ...cmd, Scrub: true } : cmd;
  const info = await conn.call("mk", { Path, Kind: "proc", Arg }, { timeoutMs: CALL_TIMEOUT_MS });
  if (info.ExecError !== undefined) throw new CircuitError(info.ExecError);
  return 0;
}

/**
 * `signal <SIGNAL> <anchor>`: signals the process (not its group) or the container.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { signal } from "./proc.ts";
 * await signal({ command: "signal", parsed: parseFlags(["TERM", "/X88550014d4c82e4d/p"], []) });
 * ```
 */
export async function signal(inv: Invocation): Promise<number> {
  const [Signal, anchor] = inv.parsed.positionals;
  const conn = await dialServer(inv.parsed);
  await conn.call("signal", { Path: anchorArg(anchor), Signal }, { timeoutMs: CALL_TIMEOUT_MS });
  return 0;
}

/**
 * `wait <anchor>`: blocks until the process or container has finished and prints its final
 * state; exit 0 whatever its exit status.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { wait } from "./proc.ts";
 * await wait({ command: "wait", parsed: parseFlags(["/X88550014d4c82e4d/p"], []) });
 * ```
 */
export async function wait(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  const state = await conn.call("wait", { Path: anchorArg(inv.parsed.positionals[0]) });
  await writeStdout(formatJson(state));
  return 0;
}

/**
 * `waitall`: waits concurrently for every process or container named on stdin (one path per
 * line, blank lines ignored). Each failure prints `circuit: waitall: <path>: <cause>`; the exit
 * code is 1 if any failed, once all have finished.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { waitall } from "./proc.ts";
 * await waitall({ command: "waitall", parsed: parseFlags([], []) });
 * ```
 */
export async function waitall(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  const lines = (await readStdinText()).split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const ok = await Promise.all(lines.map((line) =>
    conn.call("wait", { Path: anchorArg(line) }).then(
      () => true,
      (err: unknown) => {
        printError(`circuit: ${inv.command}: ${line}: ${causeText(err)}`);
        return false;
      },
    )
  ));
  return ok.every(Boolean) ? 0 : 1;
}

/**
 * `stdin <anchor>`: copies this tool's stdin into the process's or container's stdin, then
 * closes it.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { stdin } from "./proc.ts";
 * await stdin({ command: "stdin", parsed: parseFlags(["/X88550014d4c82e4d/p"], []) });
 * ```
 */
export async function stdin(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  const { writable, result } = await conn.openInput("stdin", { Path: anchorArg(inv.parsed.positionals[0]) });
  // `result` may fail while this tool's stdin is idle (e.g. the process closed its stdin).
  await Promise.all([Deno.stdin.readable.pipeTo(writable), result]);
  return 0;
}

/**
 * `stdout <anchor>`: copies the process's stdout to this tool's stdout until it ends.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { stdout } from "./proc.ts";
 * await stdout({ command: "stdout", parsed: parseFlags(["/X88550014d4c82e4d/p"], []) });
 * ```
 */
export async function stdout(inv: Invocation): Promise<number> {
  return await _read(inv, "stdout");
}

/**
 * `stderr <anchor>`: copies the process's stderr to this tool's **stdout** until it ends.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { stderr } from "./proc.ts";
 * await stderr({ command: "stderr", parsed: parseFlags(["/X88550014d4c82e4d/p"], []) });
 * ```
 */
export async function stderr(inv: Invocation): Promise<number> {
  return await _read(inv, "stderr");
}

async function _read(inv: Invocation, Stream: "stdout" | "stderr"): Promise<number> {
  const conn = await dialServer(inv.parsed);
  const { stream, result } = conn.openOutput("read", { Path: anchorArg(inv.parsed.positionals[0]), Stream });
  await copyToStdout(stream);
  await result;
  return 0;
}
