/**
 * The seam between the process element and the ways of starting an OS process in its own
 * process group (SPEC §7.2): `posix_spawn` through FFI (one exec), or `setsid(1)` (two).
 *
 * @module
 */
import type { Cmd } from "../../wire/cmd.ts";

/** A started child: its PID, its three pipes and its end. */
export interface Child {
  /** The OS process ID, also its process group ID once {@link Child.started} resolved. */
  readonly pid: number;
  /** The writing end of the child's stdin. */
  readonly stdin: WritableStream<Uint8Array>;
  /** The reading end of the child's stdout. */
  readonly stdout: ReadableStream<Uint8Array>;
  /** The reading end of the child's stderr. */
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves when the child has ended and been reaped. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves once the child leads its own process group (or is gone). */
  readonly started: Promise<void>;
}

/** Starts `cmd` with three pipes in a process group of its own; throws if it cannot start. */
export type SpawnRoute = (cmd: Cmd) => Child;

// No PATH search (SPEC §7.2): a bare name is made a relative path, resolved against the child's
// working directory (Dir, or the server's).
export function executable(cmd: Cmd): string {
  return cmd.Path.includes("/") ? cmd.Path : `./${cmd.Path}`;
}

// `K=V` entries to a record; later entries win, as in Go's os/exec. An entry without `=` cannot
// be expressed through Deno.Command and is dropped (by every route, so they agree).
export function envRecord(env: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf("=");
    if (eq > 0) record[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return record;
}

/** Whether `path` exists (for telling a missing working directory from a missing program). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The OS's reason for a failed spawn, lower case as in Go's error texts. Deno reports e.g.
 * "Failed to spawn '/no/such': No such file or directory (os error 2)" and, for a bad working
 * directory, "Failed to spawn '/bin/true': No such cwd '/no/dir'".
 */
export function execReason(err: unknown, dir: string): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/No such cwd/.test(message)) return `chdir ${dir}: no such file or directory`;
  const os = /(?:^|: )([^:']+) \(os error \d+\)$/.exec(message);
  if (os !== null) return os[1].toLowerCase();
  if (err instanceof Deno.errors.NotFound) return "no such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  return message.toLowerCase();
}
