/**
 * Anchor arguments of CLI commands (SPEC §2.3): normalised to the absolute form the server
 * expects.
 *
 * @module
 */
import { CircuitError } from "../wire/errors.ts";
import { formatAnchorPath, parseAnchorPath } from "../wire/path.ts";

/**
 * Normalises an anchor argument: empty components dropped, a trailing `/...` ignored; `/` for
 * the root.
 *
 * @example
 * ```ts
 * import { anchorArg } from "./anchor.ts";
 * console.log(anchorArg("Xa//jobs/"), anchorArg("//")); // "/Xa/jobs" "/"
 * ```
 */
export function anchorArg(text: string): string {
  return formatAnchorPath(parseAnchorPath(text).parts);
}

/**
 * Normalises the anchor argument of an `mk*` command. The root exists only in the client, so
 * creating an element there fails here with `cannot create elements outside of servers`.
 *
 * @example
 * ```ts
 * import { elementArg } from "./anchor.ts";
 * console.log(elementArg("/Xa/c")); // "/Xa/c"
 * ```
 */
export function elementArg(text: string): string {
  const path = anchorArg(text);
  if (path === "/") throw new CircuitError("cannot create elements outside of servers");
  return path;
}
