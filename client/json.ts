/**
 * The JSON form the CLI prints (SPEC §2.4): tab indentation, `"key": value`, fields in
 * insertion order, `<`, `>` and `&` literal, one trailing newline.
 *
 * @module
 */

/**
 * Formats a value as circuit prints JSON. Objects keep their insertion order, so callers build
 * them in the order the specification lists the fields, and sort map keys themselves.
 *
 * @example
 * ```ts
 * import { formatJson } from "./json.ts";
 * console.log(formatJson({ Cap: 3, Closed: false })); // "{\n\t\"Cap\": 3,\n\t\"Closed\": false\n}\n"
 * ```
 */
export function formatJson(value: unknown): string {
  return JSON.stringify(value ?? null, null, "\t") + "\n";
}
