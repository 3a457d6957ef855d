/**
 * The msgpack encoder of the wire's subset (./msgpack.ts), into one reused buffer.
 *
 * @module
 */
import { MAX_DEPTH, SHORT_STRING } from "./msgpack.ts";

const _textEncoder = new TextEncoder();

// The encoder's buffer, reused by every call (results are views into it, valid until the next).
let _buf = new Uint8Array(2048);
let _view = new DataView(_buf.buffer);
let _pos = 0;

/**
 * Encodes `value` and returns a view of the bytes that is only valid until the next call:
 * copy it before encoding again. Object properties whose value is `undefined` are left out;
 * `undefined` elsewhere encodes as nil. Integers take the smallest msgpack form; other numbers
 * are float64. `Map`s encode as maps. Throws `TypeError` for anything else (functions, symbols,
 * bigints, dates).
 *
 * @example
 * ```ts
 * import { encodeShared } from "./msgpack_encode.ts";
 * console.log(encodeShared([7, "a", true])); // Uint8Array(4) [ 147, 7, 161, 97, 195 ]
 * ```
 */
export function encodeShared(value: unknown): Uint8Array {
  _pos = 0;
  _encode(value, 0);
  return _buf.subarray(0, _pos);
}

/**
 * Encodes an array of `items` and then a binary value of `binLength` bytes, without those
 * bytes: the caller sends them right behind, so a large payload is copied once, straight to its
 * destination. The result is a view valid until the next call, like {@link encodeShared}'s.
 *
 * @example
 * ```ts
 * import { decode } from "./msgpack_decode.ts";
 * import { encodeArrayBinHead } from "./msgpack_encode.ts";
 * const head = encodeArrayBinHead([4, 2], 3);
 * console.log(decode(new Uint8Array([...head, 7, 8, 9]))); // [ 4, 2, Uint8Array(3) [ 7, 8, 9 ] ]
 * ```
 */
export function encodeArrayBinHead(items: readonly unknown[], binLength: number): Uint8Array {
  _pos = 0;
  _header(items.length + 1, 0x90, 0xdc);
  for (const item of items) _encode(item, 1);
  _ensure(5);
  _pos += _lengthHeader(_pos, binLength, 0xc4);
  return _buf.subarray(0, _pos);
}

function _encode(v: unknown, depth: number): void {
  if (v === null || v === undefined) return _byte(0xc0);
  switch (typeof v) {
    case "boolean":
      return _byte(v ? 0xc3 : 0xc2);
    case "number":
      return _number(v);
    case "string":
      return _string(v);
    case "object":
      break;
    default:
      throw new TypeError(`cannot encode a ${typeof v} as msgpack`);
  }
  if (depth >= MAX_DEPTH) throw new TypeError("value nested too deeply to encode");
  if (v instanceof Uint8Array) return _binary(v);
  if (Array.isArray(v)) {
    _header(v.length, 0x90, 0xdc);
    for (const item of v) _encode(item, depth + 1);
    return;
  }
  if (v instanceof Map) {
    _header(v.size, 0x80, 0xde);
    for (const [k, item] of v) {
      _encode(k, depth + 1);
      _encode(item, depth + 1);
    }
    return;
  }
  if (ArrayBuffer.isView(v) || v instanceof Date) throw new TypeError("cannot encode this object as msgpack");
  const o = v as Record<string, unknown>;
  let n = 0;
  for (const k in o) if (Object.hasOwn(o, k) && o[k] !== undefined) n++;
  _header(n, 0x80, 0xde);
  for (const k in o) {
    if (!Object.hasOwn(o, k) || o[k] === undefined) continue;
    _string(k);
    _encode(o[k], depth + 1);
  }
}

function _ensure(n: number): void {
  if (_pos + n <= _buf.length) return;
  const grown = new Uint8Array(Math.max(_buf.length * 2, _pos + n));
  grown.set(_buf.subarray(0, _pos));
  _buf = grown;
  _view = new DataView(grown.buffer);
}

function _byte(b: number): void {
  _ensure(1);
  _buf[_pos++] = b;
}

// A container's header: fix form (up to 15 entries), else the 16- or 32-bit form.
function _header(n: number, fix: number, wide16: number): void {
  _ensure(5);
  if (n < 16) _buf[_pos++] = fix | n;
  else if (n <= 0xffff) {
    _buf[_pos++] = wide16;
    _view.setUint16(_pos, n);
    _pos += 2;
  } else {
    _buf[_pos++] = wide16 + 1;
    _view.setUint32(_pos, n);
    _pos += 4;
  }
}

function _number(n: number): void {
  _ensure(9);
  if (!Number.isSafeInteger(n)) {
    _buf[_pos++] = 0xcb;
    _view.setFloat64(_pos, n);
    _pos += 8;
  } else if (n >= 0) {
    if (n < 0x80) _buf[_pos++] = n;
    else if (n < 0x100) {
      _buf[_pos++] = 0xcc;
      _buf[_pos++] = n;
    } else if (n < 0x10000) {
      _buf[_pos++] = 0xcd;
      _view.setUint16(_pos, n);
      _pos += 2;
    } else if (n < 0x100000000) {
      _buf[_pos++] = 0xce;
      _view.setUint32(_pos, n);
      _pos += 4;
    } else {
      _buf[_pos++] = 0xcf;
      _view.setUint32(_pos, Math.floor(n / 0x100000000));
      _view.setUint32(_pos + 4, n >>> 0);
      _pos += 8;
    }
  } else if (n >= -0x20) _buf[_pos++] = n & 0xff;
  else if (n >= -0x80) {
    _buf[_pos++] = 0xd0;
    _view.setInt8(_pos++, n);
  } else if (n >= -0x8000) {
    _buf[_pos++] = 0xd1;
    _view.setInt16(_pos, n);
    _pos += 2;
  } else if (n >= -0x80000000) {
    _buf[_pos++] = 0xd2;
    _view.setInt32(_pos, n);
    _pos += 4;
  } else {
    _buf[_pos++] = 0xd3;
    _view.setBigInt64(_pos, BigInt(n));
    _pos += 8;
  }
}

function _string(s: string): void {
  // At most 3 bytes per UTF-16 unit, plus the largest header.
  _ensure(5 + 3 * s.length);
  if (s.length <= SHORT_STRING) {
    // Header guessed from the length in units, corrected below if multi-byte characters grew it.
    const start = _pos;
    const headLen = s.length < 32 ? 1 : 2;
    let p = start + headLen;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) _buf[p++] = c;
      else if (c < 0x800) {
        _buf[p++] = 0xc0 | (c >> 6);
        _buf[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            _buf[p++] = 0xf0 | (c >> 18);
            _buf[p++] = 0x80 | ((c >> 12) & 0x3f);
            _buf[p++] = 0x80 | ((c >> 6) & 0x3f);
            _buf[p++] = 0x80 | (c & 0x3f);
            continue;
          }
        }
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate, as TextEncoder writes it
        _buf[p++] = 0xe0 | (c >> 12);
        _buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        _buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    const len = p - start - headLen;
    const need = len < 32 ? 1 : 2;
    if (need !== headLen) _buf.copyWithin(start + need, start + headLen, p);
    if (need === 1) _buf[start] = 0xa0 | len;
    else {
      _buf[start] = 0xd9;
      _buf[start + 1] = len;
    }
    _pos = start + need + len;
    return;
  }
  // Long strings: encode after a 5-byte gap, then close it up behind the real header.
  const start = _pos;
  const len = _textEncoder.encodeInto(s, _buf.subarray(start + 5)).written;
  const head = _lengthHeader(start, len, 0xd9);
  if (head !== 5) _buf.copyWithin(start + head, start + 5, start + 5 + len);
  _pos = start + head + len;
}

function _binary(b: Uint8Array): void {
  _ensure(5 + b.length);
  _pos += _lengthHeader(_pos, b.length, 0xc4);
  _buf.set(b, _pos);
  _pos += b.length;
}

// Writes the 8-, 16- or 32-bit length header of a str (base 0xd9) or bin (base 0xc4) at `at`;
// returns its size.
function _lengthHeader(at: number, len: number, base: number): number {
  if (len < 0x100) {
    _buf[at] = base;
    _buf[at + 1] = len;
    return 2;
  }
  if (len <= 0xffff) {
    _buf[at] = base + 1;
    _view.setUint16(at + 1, len);
    return 3;
  }
  _buf[at] = base + 2;
  _view.setUint32(at + 1, len);
  return 5;
}
