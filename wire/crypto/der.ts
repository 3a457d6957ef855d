/**
 * The few DER (X.690) encodings an X.509 certificate needs: just enough to write the cluster CA's
 * and the servers' certificates (wire/crypto/ca.ts). Writing only, never parsing: rustls parses
 * and verifies every certificate a peer presents.
 *
 * @module
 */
import { concat } from "../bytes.ts";

/** DER tags used by X.509. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** One TLV: `tag`, the definite length, then `content`. */
export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : null;
  if (len === null) throw new RangeError("DER content over 64 KiB");
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

/** A SEQUENCE of the given encodings. */
export function seq(...items: Uint8Array[]): Uint8Array {
  return tlv(TAG.sequence, concat(items));
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const base128: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift(0x80 | (v & 0x7f));
    bytes.push(...base128);
  }
  return tlv(TAG.oid, new Uint8Array(bytes));
}

/** A non-negative INTEGER from big-endian magnitude bytes (a leading zero added when the top bit is set). */
export function uint(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(TAG.integer, m[0] & 0x80 ? concat([new Uint8Array([0]), m]) : m);
}

/** A BIT STRING with no unused bits. */
export function bits(content: Uint8Array): Uint8Array {
  return tlv(TAG.bitString, concat([new Uint8Array([0]), content]));
}

/** A UTF8String. */
export function utf8(text: string): Uint8Array {
  return tlv(TAG.utf8String, new TextEncoder().encode(text));
}

/** A context-specific tag: `[n]`, constructed (EXPLICIT) or primitive (IMPLICIT of a primitive). */
export function ctx(n: number, content: Uint8Array, constructed: boolean): Uint8Array {
  return tlv((constructed ? 0xa0 : 0x80) | n, content);
}

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5), to the second. */
export function time(at: Date): Uint8Array {
  const iso = at.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z"; // YYYYMMDDHHMMSSZ
  const year = at.getUTCFullYear();
  return year < 2050
    ? tlv(TAG.utcTime, new TextEncoder().encode(iso.slice(2)))
    : tlv(TAG.generalizedTime, new TextEncoder().encode(iso));
}

/** PEM armour of DER bytes, 64 characters a line. */
export function pem(label: string, der: Uint8Array): string {
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const lines = btoa(bin).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}
