/**
 * The per-operation deadlines of SPEC §4.6, in one table that clients, the CLI and forwarding
 * servers share, so a call times out at the same point wherever it is made.
 *
 * @module
 */

/** Non-blocking operations give up after this long, end to end through forwarding (SPEC §4.6). */
export const CALL_TIMEOUT_MS = 10_000;

/**
 * `mk` of a container and `scrub` (which may stop and remove a container) wait on the Docker
 * engine, whose stop alone may take its 10 s grace: they get longer (SPEC §4.6).
 */
export const SLOW_CALL_TIMEOUT_MS = 30_000;

/** Operations that wait for something to happen have no timeout (SPEC §4.6). */
const _BLOCKING_OPS: ReadonlySet<string> = new Set([
  "recv",
  "send",
  "wait",
  "stdin",
  "read",
  "watch",
  "tail",
]);

/**
 * The deadline of one call of `op` (with its `kind` for `mk`) in milliseconds, or undefined for
 * a blocking operation, which has none.
 *
 * @example
 * ```ts
 * import { timeoutOf } from "./timeouts.ts";
 * console.log(timeoutOf("peek"), timeoutOf("mk", "docker"), timeoutOf("recv")); // 10000 30000 undefined
 * ```
 */
export function timeoutOf(op: string, kind?: unknown): number | undefined {
  if (_BLOCKING_OPS.has(op)) return undefined;
  if (op === "scrub" || (op === "mk" && kind === "docker")) return SLOW_CALL_TIMEOUT_MS;
  return CALL_TIMEOUT_MS;
}
