/**
 * `circuit ps` (SPEC §15.3): the process and container elements of the cluster, one aligned
 * line each or a JSON array, with each one's host.
 *
 * @module
 */
import { formatJson } from "../client/json.ts";
import { listServers } from "../client/servers.ts";
import { parseAnchorPath } from "../wire/path.ts";
import type { PsRow } from "../wire/ops.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { causeText, printError } from "./fail.ts";
import { writeStdout } from "./io.ts";

/** The command column is cut here (SPEC §15.3) so a line fits a wide terminal. */
const _MAX_COMMAND = 60;

/** One row as printed. */
interface _Line {
  Anchor: string;
  Host: string;
  Phase: string;
  Exit: string;
  Pid: number | null;
  Started: string;
  Command: string;
}

/**
 * `ps [--json] [-on SEL] [<path>]`: default `/...`; a server failing to answer prints one error
 * line and the exit code is 1, after the rows of the others.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { ps } from "./ps.ts";
 * await ps({ command: "ps", parsed: parseFlags(["--json"], [{ names: ["json"], type: "bool", usage: "" }]) });
 * ```
 */
export async function ps(inv: Invocation): Promise<number> {
  const { strings, bools, positionals } = inv.parsed;
  const text = positionals[0] ?? "/...";
  const { parts } = parseAnchorPath(text.replace(/\/\.\.\.$/, "") || "/");
  const conn = await dialServer(inv.parsed);
  let servers = await listServers(conn, strings.get("on"));
  if (parts.length > 0) servers = servers.filter((s) => s.anchor === "/" + parts[0]);
  const below = parts.slice(1).map((p) => "/" + p).join("");
  let failed = false;
  const results = await Promise.all(
    servers.map((s) =>
      conn.call("ps", { Path: s.anchor + below }, { timeoutMs: CALL_TIMEOUT_MS }).then(
        (rows: PsRow[]) => rows.map((r) => _line(r, s.host)),
        (err: unknown) => {
          failed = true;
          printError(`circuit: ps: ${s.anchor}: ${causeText(err)}`);
          return [];
        },
      )
    ),
  );
  const lines = results.flat().sort((a, b) => (a.Anchor < b.Anchor ? -1 : a.Anchor > b.Anchor ? 1 : 0));
  await writeStdout(bools.has("json") ? formatJson(lines) : _table(lines));
  return failed ? 1 : 0;
}

function _line(r: PsRow, host: string): _Line {
  // Seconds are enough to tell runs apart; the milliseconds only widen the column.
  const started = r.Started === "" ? "-" : new Date(r.Started).toISOString().replace(/\.\d+Z$/, "Z");
  return {
    Anchor: r.Anchor,
    Host: host,
    Phase: r.Phase,
    Exit: r.Exit,
    Pid: r.Pid,
    Started: started,
    Command: r.Command,
  };
}

function _table(lines: _Line[]): string {
  const cells = lines.map((l) => [
    l.Anchor,
    l.Host || "-",
    l.Phase,
    l.Exit,
    l.Pid === null ? "-" : String(l.Pid),
    l.Started,
    l.Command.length > _MAX_COMMAND ? l.Command.slice(0, _MAX_COMMAND - 1) + "…" : l.Command,
  ]);
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((c) => c[i].length))) ?? [];
  return cells.map((c) =>
    c.map((cell, i) => (i === c.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd() + "\n"
  ).join("");
}
