/**
 * Starts a process element's OS process by the best route this server has (SPEC §7.2):
 * `posix_spawn` through FFI (one exec), else `setsid(1)` (two execs).
 *
 * @module
 */
import type { Cmd } from "../../wire/cmd.ts";
import { log } from "../log.ts";
import type { Child, SpawnRoute } from "./child.ts";
import { openLibc } from "./libc.ts";
import { PosixSpawn } from "./posix_spawn.ts";
import { spawnViaSetsid } from "./setsid.ts";

export type { Child } from "./child.ts";
export { execReason } from "./child.ts";

let _route: SpawnRoute | undefined;

// Chosen at the first spawn, not at import: the CLI's client commands load this module too.
function _chooseRoute(): SpawnRoute {
  try {
    const posix = new PosixSpawn(openLibc());
    return (cmd) => posix.spawn(cmd);
  } catch (err) {
    log(
      `processes start through setsid(1): no posix_spawn route (${err instanceof Error ? err.message : err})`,
    );
    return spawnViaSetsid;
  }
}

/**
 * Starts `cmd` in its own process group with three pipes; throws what the OS said when the
 * program cannot be started (see {@link execReason}).
 *
 * @example
 * ```ts
 * import { spawnChild } from "./spawn.ts";
 * const child = spawnChild({ Path: "/bin/true", Args: [], Env: null, Dir: "", Scrub: false });
 * await child.stdin.close();
 * console.log((await child.status).success); // true
 * ```
 */
export function spawnChild(cmd: Cmd): Child {
  _route ??= _chooseRoute();
  return _route(cmd);
}
