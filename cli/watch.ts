/**
 * `circuit watch [--json] <path>` (SPEC §13.1): prints the current state, then every change.
 *
 * @module
 */
import { watchEvents } from "../client/watch.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { writeStdout } from "./io.ts";

/**
 * Prints `<time> <event> <kind> <path>` lines (with `--json`, one object per line) until
 * interrupted or the connection ends.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { watch } from "./watch.ts";
 * await watch({ command: "watch", parsed: parseFlags(["/..."], []) });
 * ```
 */
export async function watch(inv: Invocation): Promise<number> {
  const json = inv.parsed.bools.has("json");
  const conn = await dialServer(inv.parsed);
  for await (const ev of watchEvents(conn, inv.parsed.positionals[0])) {
    await writeStdout(
      json ? JSON.stringify(ev) + "\n" : `${ev.Time} ${ev.Event} ${ev.Kind ?? "-"} ${ev.Path}\n`,
    );
  }
  return 0;
}
