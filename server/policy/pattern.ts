/**
 * Path patterns of a policy (SPEC §10.5): absolute, `/`-separated; `*` in an element matches any
 * run of characters within that one element (so a lone `*` matches one whole element), and a
 * trailing `/...` matches the path itself and any depth below it. Anchor paths, executables and
 * working directories all use this one form.
 *
 * @module
 */

/** A compiled pattern. */
export interface Pattern {
  /** The text as written, for messages. */
  readonly text: string;
  /** One matcher per element: a literal, null for a lone `*` (any element), or a RegExp for other globs. */
  readonly parts: readonly (string | RegExp | null)[];
  /** Whether the pattern ended in `/...`. */
  readonly deep: boolean;
}

/**
 * Compiles `text`; throws an Error naming what is wrong with it.
 *
 * @example
 * ```ts
 * import { compilePattern, matches } from "./pattern.ts";
 * console.log(matches(compilePattern("/*\/jobs/..."), ["X1", "jobs", "a"])); // true
 * ```
 */
export function compilePattern(text: string): Pattern {
  if (!text.startsWith("/")) throw new Error(`pattern ${JSON.stringify(text)} must start with /`);
  const elements = text === "/" ? [] : text.slice(1).split("/");
  let deep = false;
  if (elements.at(-1) === "...") {
    deep = true;
    elements.pop();
  }
  const parts = elements.map((e) => {
    if (e === "") throw new Error(`pattern ${JSON.stringify(text)} has an empty element`);
    if (e === "..." || e === "." || e === "..") {
      throw new Error(`pattern ${JSON.stringify(text)}: ${e} is allowed only as the last element "/..."`);
    }
    if (!e.includes("*")) return e;
    if (e === "*") return null;
    const body = e.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
    return new RegExp(`^${body}$`, "s");
  });
  return { text, parts, deep };
}

function _element(p: string | RegExp | null, name: string): boolean {
  return p === null || (typeof p === "string" ? p === name : p.test(name));
}

/** Whether the path given by its elements matches `pattern`. */
export function matches(pattern: Pattern, names: readonly string[]): boolean {
  const n = pattern.parts.length;
  if (pattern.deep ? names.length < n : names.length !== n) return false;
  for (let k = 0; k < n; k++) if (!_element(pattern.parts[k], names[k])) return false;
  return true;
}

/**
 * Whether `pattern` matches some path strictly below `names` (so a listing must show `names` as
 * the way down to something the caller may see).
 */
export function matchesBelow(pattern: Pattern, names: readonly string[]): boolean {
  const n = pattern.parts.length;
  if (names.length >= n) return pattern.deep && matches(pattern, names);
  for (let k = 0; k < names.length; k++) if (!_element(pattern.parts[k], names[k])) return false;
  return true;
}

/** The elements of an absolute path (`/a/b` → `["a", "b"]`). */
export function pathElements(path: string): string[] {
  return path.split("/").filter((e) => e !== "");
}
