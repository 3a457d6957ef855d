/**
 * Byte-string helpers shared by the wire, the server and the CLI.
 *
 * @module
 */

/**
 * The parts, one after another, in a new array.
 *
 * @example
 * ```ts
 * import { concat } from "./bytes.ts";
 * console.log(concat([new Uint8Array([1]), new Uint8Array([2, 3])])); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
