/**
 * `circuit tail [-f] [-n BYTES] [-stderr] <anchor>` (SPEC §13.2).
 *
 * @module
 */
import { openTail } from "../client/tail.ts";
import { anchorArg } from "./anchor.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { UsageError } from "./fail.ts";
import { copyToStdout } from "./io.ts";

/**
 * Prints the last output held for a process or container, consuming nothing; with `-f`, new
 * output too until the process exits.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { tail } from "./tail.ts";
 * await tail({ command: "tail", parsed: parseFlags(["/X88550014d4c82e4d/p"], []) });
 * ```
 */
export async function tail(inv: Invocation): Promise<number> {
  const { bools, strings, positionals } = inv.parsed;
  const n = strings.get("n");
  if (n !== undefined && !/^[0-9]+$/.test(n)) throw new UsageError(`invalid -n ${n}: want a byte count`);
  const conn = await dialServer(inv.parsed);
  await copyToStdout(openTail(conn, { Path: anchorArg(positionals[0]) }, {
    follow: bools.has("f"),
    bytes: n === undefined ? undefined : Number(n),
    stream: bools.has("stderr") ? "stderr" : "stdout",
  }));
  return 0;
}
