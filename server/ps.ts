/**
 * The rows of `circuit ps` (SPEC §15.3) for one server: every process and container element
 * below an anchor, in one call instead of a `peek` per element.
 *
 * @module
 */
import type { PsRow } from "../wire/ops.ts";
import type { Namespace } from "./namespace.ts";
import { ProcElement } from "./elements/proc.ts";

/**
 * The process and container elements at and below `names`, sorted by anchor.
 *
 * @example
 * ```ts ignore
 * import { psRows } from "./ps.ts";
 * for (const row of await psRows(ns, [])) console.log(row.Anchor, row.Phase);
 * ```
 */
export async function psRows(ns: Namespace, names: readonly string[]): Promise<PsRow[]> {
  const here = ns.elementAt(names);
  const base = "/" + [ns.serverId, ...names].join("/");
  const entries = ns.list(names, true, false);
  if (here) entries.unshift({ Path: base, Kind: here.element.kind });
  const rows: PsRow[] = [];
  for (const entry of entries) {
    if (entry.Kind !== "proc" && entry.Kind !== "docker") continue;
    const found = ns.elementAt(entry.Path.split("/").slice(2));
    if (!found) continue;
    const el = found.element;
    if (el instanceof ProcElement) rows.push(_procRow(entry.Path, el));
    else rows.push(_dockerRow(entry.Path, await Promise.resolve(el.peek()).catch(() => null)));
  }
  return rows.sort((a, b) => (a.Anchor < b.Anchor ? -1 : a.Anchor > b.Anchor ? 1 : 0));
}

function _procRow(anchor: string, p: ProcElement): PsRow {
  const peek = p.peek();
  const exit = peek.Exit;
  return {
    Anchor: anchor,
    Kind: "proc",
    Phase: peek.Phase,
    Exit: exit === null
      ? "-"
      : exit.Code !== null
      ? `exit ${exit.Code}`
      : exit.Signal !== null
      ? `signal ${exit.Signal.replace(/^SIG/, "")}`
      : "exec error",
    Pid: p.pid,
    Started: p.createdAt.toISOString(),
    Command: [peek.Cmd.Path, ...peek.Cmd.Args].join(" "),
  };
}

function _dockerRow(anchor: string, stat: unknown): PsRow {
  const s = (stat ?? {}) as {
    State?: { Running?: boolean; Pid?: number; ExitCode?: number; StartedAt?: string };
    Path?: string;
    Args?: string[];
  };
  const running = s.State?.Running === true;
  return {
    Anchor: anchor,
    Kind: "docker",
    Phase: stat === null ? "unknown" : running ? "running" : "exited",
    Exit: running || !s.State?.ExitCode ? "-" : `exit ${s.State.ExitCode}`,
    Pid: running && s.State?.Pid ? s.State.Pid : null,
    Started: s.State?.StartedAt ?? "",
    Command: [s.Path ?? "", ...(s.Args ?? [])].join(" ").trim(),
  };
}
