/**
 * Starts a process element's OS process by the best route this server has (SPEC §7.2).
 *
 * @module
 */
import type { Cmd } from "../../wire/cmd.ts";
import type { Child } from "./child.ts";
import { spawnViaSetsid } from "./setsid.ts";

export type { Child } from "./child.ts";
export { execReason } from "./child.ts";

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
  return spawnViaSetsid(cmd);
}
