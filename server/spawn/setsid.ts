/**
 * The fallback route: `Deno.Command` through `setsid(1)` (two execs per process).
 *
 * `setsid(1)`, where the OS has it: started by posix_spawn from a child that is not a group
 * leader, it calls setsid() and execs the program in place: same PID, and the program leads its
 * own session and process group (PGID = PID). Deno's `detached: true` gets the same, but must
 * fork() the whole server to do it, which costs the server's page tables: ~15 ms per process on
 * a server of 50 MB instead of ~1 ms.
 *
 * @module
 */
import type { Cmd } from "../../wire/cmd.ts";
import { type Child, envRecord, executable, exists } from "./child.ts";

let _setsidPath: string | null | undefined;

// Looked up on first use, not at import: the CLI's client commands load this module too.
function _setsid(): string | null {
  if (_setsidPath === undefined) _setsidPath = _findSetsid();
  return _setsidPath;
}

function _findSetsid(): string | null {
  if (Deno.build.os !== "linux") return null;
  for (const path of ["/usr/bin/setsid", "/bin/setsid"]) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Starts the child in its own process group through `setsid(1)` (or `detached: true` where
 * there is none), so `scrub -kill` and server shutdown can signal the whole group.
 *
 * @example
 * ```ts
 * import { spawnViaSetsid } from "./setsid.ts";
 * const child = spawnViaSetsid({ Path: "/bin/true", Args: [], Env: null, Dir: "", Scrub: false });
 * await child.stdin.close();
 * console.log((await child.status).code); // 0
 * ```
 */
export function spawnViaSetsid(cmd: Cmd): Child {
  const exe = executable(cmd);
  const options = _options(cmd);
  const setsid = _setsid();
  let child: Deno.ChildProcess;
  if (setsid === null) {
    child = new Deno.Command(exe, { ...options, detached: true }).spawn();
  } else {
    // setsid(1) would report an exec failure as its own exit status, so check first what the
    // kernel would refuse (a missing working directory is left to the spawn, which names it).
    if (cmd.Dir === "" || exists(cmd.Dir)) {
      _checkExecutable(exe.startsWith("/") ? exe : `${cmd.Dir || "."}/${exe}`);
    }
    child = new Deno.Command(setsid, { ...options, args: [exe, ...cmd.Args] }).spawn();
  }
  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    status: child.status,
    started: setsid === null ? Promise.resolve() : _leadsGroup(child.pid),
  };
}

/** How long to wait for setsid(1) to make the child a group leader: a few exec times. */
const _GROUP_WAIT_MS = 200;

// Waits until /proc says the process leads its group (setsid(1) has run), or it is gone.
async function _leadsGroup(pid: number): Promise<void> {
  const deadline = Date.now() + _GROUP_WAIT_MS;
  while (Date.now() < deadline) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    } catch {
      return;
    }
    // After "(comm) ": state, ppid, pgrp, …
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pid || fields[0] === "Z") return;
    await new Promise((r) => setTimeout(r, 0));
  }
}

// Throws, in the form of a failed spawn, what exec(2) would say of `path`.
function _checkExecutable(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error("No such file or directory (os error 2)");
    throw err;
  }
  if (!info.isFile || info.mode === null || (info.mode & 0o111) === 0) {
    throw new Error("Permission denied (os error 13)");
  }
}

function _options(cmd: Cmd): Deno.CommandOptions {
  const options: Deno.CommandOptions = {
    args: cmd.Args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  };
  if (cmd.Dir !== "") options.cwd = cmd.Dir;
  // Env null: pass nothing, so the child inherits without the server reading its environment.
  if (cmd.Env !== null) {
    options.clearEnv = true;
    options.env = envRecord(cmd.Env);
  }
  return options;
}
