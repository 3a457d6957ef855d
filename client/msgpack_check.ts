/**
 * A structural pre-check of msgpack bytes before decoding. The decoder allocates an array of the
 * size a header declares before reading its elements, so a few bytes of nested `array32` headers
 * could make it allocate gigabytes; this check refuses any container that declares more elements
 * than bytes remain (each element takes at least one), which bounds decoding to O(input).
 *
 * @module
 */

/**
 * Whether `b` is exactly one msgpack value whose declared lengths all fit in `b`.
 *
 * @example
 * ```ts
 * import { msgpackFits } from "./msgpack_check.ts";
 * console.log(msgpackFits(new Uint8Array([0x91, 0x07]))); // true: [7]
 * console.log(msgpackFits(new Uint8Array([0xdd, 0x10, 0, 0, 0, 0x07]))); // false: 2^28 elements in 1 byte
 * ```
 */
export function msgpackFits(b: Uint8Array): boolean {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 0;
  // Values still to read; each needs at least one byte, so more than remain is a lie.
  let pending = 1;
  const skip = (n: number) => (pos += n) <= b.length;
  while (pending > 0) {
    if (pending > b.length - pos) return false;
    const t = b[pos++];
    pending--;
    let items = 0;
    let ok = true;
    if (t <= 0x7f || t >= 0xe0 || (t >= 0xc0 && t <= 0xc3)) ok = true;
    else if (t <= 0x8f) items = 2 * (t & 0x0f);
    else if (t <= 0x9f) items = t & 0x0f;
    else if (t <= 0xbf) ok = skip(t & 0x1f);
    else if (t === 0xc4 || t === 0xd9) ok = skip(1) && skip(b[pos - 1]);
    else if (t === 0xc5 || t === 0xda) ok = skip(2) && skip(v.getUint16(pos - 2));
    else if (t === 0xc6 || t === 0xdb) ok = skip(4) && skip(v.getUint32(pos - 4));
    else if (t === 0xc7) ok = skip(2) && skip(b[pos - 2]);
    else if (t === 0xc8) ok = skip(3) && skip(v.getUint16(pos - 3));
    else if (t === 0xc9) ok = skip(5) && skip(v.getUint32(pos - 5));
    else if (t === 0xca) ok = skip(4);
    else if (t === 0xcb) ok = skip(8);
    else if (t >= 0xcc && t <= 0xcf) ok = skip(1 << (t - 0xcc));
    else if (t >= 0xd0 && t <= 0xd3) ok = skip(1 << (t - 0xd0));
    else if (t >= 0xd4 && t <= 0xd8) ok = skip(1 + (1 << (t - 0xd4)));
    else if (t === 0xdc) ok = skip(2) && (items = v.getUint16(pos - 2), true);
    else if (t === 0xdd) ok = skip(4) && (items = v.getUint32(pos - 4), true);
    else if (t === 0xde) ok = skip(2) && (items = 2 * v.getUint16(pos - 2), true);
    else if (t === 0xdf) ok = skip(4) && (items = 2 * v.getUint32(pos - 4), true);
    if (!ok || pos > b.length) return false;
    pending += items;
  }
  return pos === b.length;
}
