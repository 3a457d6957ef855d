/**
 * Anchor paths (SPEC §2.3).
 *
 * @module
 */
import { CircuitError } from "./errors.ts";

/** A parsed anchor path. */
export interface AnchorPath {
  /** Components; the first is a server ID. Empty for the root. */
  parts: string[];
  /** The path ended in `/...` (only `ls` uses it). */
  recursive: boolean;
}

/**
 * Splits a path on `/`, dropping empty components; a final `...` marks it recursive.
 *
 * @example
 * ```ts
 * import { parseAnchorPath } from "./path.ts";
 * console.log(parseAnchorPath("//Xa///b/...")); // { parts: ["Xa", "b"], recursive: true }
 * ```
 */
export function parseAnchorPath(text: string): AnchorPath {
  const parts = text.split("/").filter((p) => p !== "");
  const recursive = parts.length > 0 && parts[parts.length - 1] === "...";
  if (recursive) parts.pop();
  return { parts, recursive };
}

/**
 * Joins components into the absolute path form circuit prints.
 *
 * @example
 * ```ts
 * import { formatAnchorPath } from "./path.ts";
 * console.log(formatAnchorPath(["Xa", "b"])); // "/Xa/b"
 * ```
 */
export function formatAnchorPath(parts: readonly string[]): string {
  return "/" + parts.join("/");
}

/**
 * Throws `CircuitError("invalid anchor name")` unless `name` is a non-empty string without `/` or NUL.
 *
 * @example
 * ```ts
 * import { checkAnchorName } from "./path.ts";
 * checkAnchorName("jobs"); // ok
 * ```
 */
export function checkAnchorName(name: string): void {
  if (typeof name !== "string" || name === "" || name.includes("/") || name.includes("\0")) {
    throw new CircuitError("invalid anchor name");
  }
}
