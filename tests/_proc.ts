/**
 * The machine's processes as /proc shows them, for tests that check process groups, children and
 * zombies (Linux only).
 *
 * @module
 */

/** One process: /proc/<pid>/stat, parsed, and its argv. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** `R`, `S`, `Z`, … */
  state: string;
  argv: string[];
}

/** The process `pid`, or null if it is gone. */
export function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name may contain spaces and parentheses; the fields after the last ")" do not.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter((a) => a !== "");
    return { pid, ppid: Number(rest[1]), pgid: Number(rest[2]), state: rest[0], argv };
  } catch {
    return null; // gone meanwhile
  }
}

/** Every process of the machine (zombies included). */
export function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const p = procInfo(Number(e.name));
    if (p) out.push(p);
  }
  return out;
}

/** Live (non-zombie) processes of a process group. */
export function liveGroup(pgid: number): ProcInfo[] {
  return allProcs().filter((p) => p.pgid === pgid && p.state !== "Z");
}

/** PIDs of the live (non-zombie) processes of a process group. */
export function groupMembers(pgid: number): number[] {
  return liveGroup(pgid).map((p) => p.pid);
}

/** PIDs whose parent is `ppid` (zombies included). */
export function childrenOf(ppid: number): number[] {
  return allProcs().filter((p) => p.ppid === ppid).map((p) => p.pid);
}
