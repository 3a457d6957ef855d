/**
 * The msgpack decoder of the wire's subset (./msgpack.ts), bounded by its input.
 *
 * @module
 */
import { MAX_DEPTH, MsgpackError, SHORT_STRING } from "./msgpack.ts";

const _textDecoder = new TextDecoder();

/**
 * Decodes one msgpack value that fills `bytes` exactly. Binary values are copies, so `bytes`
 * may be reused at once (the transport reads into one buffer); maps become plain objects. Throws {@link MsgpackError} on truncated or trailing
 * bytes, extension types, map keys other than strings and integers, the key `__proto__`, and any
 * container that declares more elements than bytes remain.
 *
 * @example
 * ```ts
 * import { decode } from "./msgpack_decode.ts";
 * console.log(decode(new Uint8Array([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0xc0]))); // { a: 1, b: null }
 * ```
 */
export function decode(bytes: Uint8Array): unknown {
  const d = new _Decoder(bytes);
  const value = d.value(0);
  if (d.pos !== bytes.length) throw new MsgpackError("trailing bytes after the value");
  return value;
}

class _Decoder {
  readonly b: Uint8Array;
  pos = 0;
  #view: DataView | null = null;

  constructor(b: Uint8Array) {
    this.b = b;
  }

  // Made on first use: most frames hold no float or signed integer, so they need no view.
  get v(): DataView {
    return this.#view ??= new DataView(this.b.buffer, this.b.byteOffset, this.b.byteLength);
  }

  // The next 2 or 4 bytes as a big-endian unsigned integer (lengths, counts, small IDs).
  u16(): number {
    const at = this.take(2);
    return (this.b[at] << 8) | this.b[at + 1];
  }

  u32(): number {
    const at = this.take(4);
    return ((this.b[at] << 24) | (this.b[at + 1] << 16) | (this.b[at + 2] << 8) | this.b[at + 3]) >>> 0;
  }

  // Advances past `n` bytes and returns where they start; throws if they are not all there.
  take(n: number): number {
    const at = this.pos;
    if (at + n > this.b.length) throw new MsgpackError("value truncated");
    this.pos = at + n;
    return at;
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new MsgpackError("value nested too deeply");
    const t = this.b[this.take(1)];
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t <= 0x8f) return this.map(t & 0x0f, depth);
    if (t <= 0x9f) return this.array(t & 0x0f, depth);
    if (t <= 0xbf) return this.str(t & 0x1f);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bin(this.b[this.take(1)]);
      case 0xc5:
        return this.bin(this.u16());
      case 0xc6:
        return this.bin(this.u32());
      case 0xca:
        return this.v.getFloat32(this.take(4));
      case 0xcb:
        return this.v.getFloat64(this.take(8));
      case 0xcc:
        return this.b[this.take(1)];
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        return this.u32() * 0x100000000 + this.u32();
      case 0xd0:
        return this.v.getInt8(this.take(1));
      case 0xd1:
        return this.v.getInt16(this.take(2));
      case 0xd2:
        return this.v.getInt32(this.take(4));
      case 0xd3:
        return Number(this.v.getBigInt64(this.take(8)));
      case 0xd9:
        return this.str(this.b[this.take(1)]);
      case 0xda:
        return this.str(this.u16());
      case 0xdb:
        return this.str(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
    }
    throw new MsgpackError(`unsupported msgpack type 0x${t.toString(16)}`);
  }

  bin(n: number): Uint8Array {
    const at = this.take(n);
    return this.b.slice(at, at + n);
  }

  str(n: number): string {
    const at = this.take(n);
    const b = this.b;
    if (n <= SHORT_STRING) {
      let s = "";
      for (let i = at; i < at + n; i++) {
        const c = b[i];
        if (c >= 0x80) return _textDecoder.decode(b.subarray(at, at + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return _textDecoder.decode(b.subarray(at, at + n));
  }

  // Each element takes at least one byte, so a count beyond the bytes left is a lie, refused
  // before the array is allocated.
  array(n: number, depth: number): unknown[] {
    if (n > this.b.length - this.pos) throw new MsgpackError("array declares more elements than it holds");
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  map(n: number, depth: number): Record<string, unknown> {
    if (2 * n > this.b.length - this.pos) throw new MsgpackError("map declares more entries than it holds");
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== "string" && typeof key !== "number") {
        throw new MsgpackError("map key is not a string");
      }
      if (key === "__proto__") throw new MsgpackError("map key __proto__ is not allowed");
      out[key] = this.value(depth + 1);
    }
    return out;
  }
}
