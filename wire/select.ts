/**
 * Host tags and selectors (SPEC §15.1): `-tag KEY=VALUE` as `circuit start` takes it, and the
 * `KEY=VALUE[,KEY=VALUE…]`, `host=NAME`, `id=X…` or `all` forms that pick members by them.
 *
 * @module
 */
import { CircuitError } from "./errors.ts";

/** Keys are short identifiers (SPEC §15.1), so a selector never needs quoting. */
const _KEY = /^[a-z0-9._-]{1,32}$/;

/** Values are labels, not payloads: 128 characters keeps a member's state small in gossip. */
const _MAX_VALUE = 128;

/** What a selector is matched against: one member. */
export interface Selectable {
  id: string;
  host: string;
  tags: Record<string, string>;
}

/** A parsed selector: every pair must match; none means `all`. */
export type Selector = ReadonlyArray<readonly [string, string]>;

/**
 * Parses `-tag` values into a tag map; duplicates: the last wins. Throws `CircuitError` naming
 * the bad tag.
 *
 * @example
 * ```ts
 * import { parseTags } from "./select.ts";
 * console.log(parseTags(["role=web", "dc=ams", "role=db"])); // { role: "db", dc: "ams" }
 * ```
 */
export function parseTags(values: readonly string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const text of values) {
    const [k, v] = _pair(text, "tag");
    tags[k] = v;
  }
  return tags;
}

/**
 * Parses a selector. `all` (or empty) selects every member; `host=` and `id=` match the host
 * name and server ID, other keys the tags.
 *
 * @example
 * ```ts
 * import { matches, parseSelector } from "./select.ts";
 * const sel = parseSelector("role=web,dc=ams");
 * console.log(matches(sel, { id: "X1", host: "h1", tags: { role: "web", dc: "ams" } })); // true
 * ```
 */
export function parseSelector(text: string): Selector {
  if (text === "all" || text === "") return [];
  return text.split(",").map((part) => _pair(part, "selector"));
}

/** Whether `m` matches every pair of `sel`. */
export function matches(sel: Selector, m: Selectable): boolean {
  return sel.every(([k, v]) => (k === "host" ? m.host : k === "id" ? m.id : m.tags[k]) === v);
}

/** No control characters (so `\n` can separate tags on the wire). */
function _printable(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

function _pair(text: string, what: string): [string, string] {
  const eq = text.indexOf("=");
  const k = eq < 0 ? text : text.slice(0, eq);
  const v = eq < 0 ? "" : text.slice(eq + 1);
  if (eq < 0 || !_KEY.test(k)) {
    throw new CircuitError(
      `${what} ${JSON.stringify(text)} is not KEY=VALUE with a key of [a-z0-9._-]{1,32}`,
    );
  }
  if (v.length > _MAX_VALUE || !_printable(v)) {
    throw new CircuitError(`${what} ${JSON.stringify(text)}: value must be up to 128 printable characters`);
  }
  return [k, v];
}
