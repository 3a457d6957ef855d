/**
 * Reading the DER of the one certificate a server parses itself: a credential's client leaf,
 * which arrives inside the framed hello (SPEC §10.5) because `node:tls` on Deno cannot ask a
 * dialer for a certificate. Strict: definite lengths only, every TLV within its parent, and
 * anything else is an error, so hostile bytes fail here rather than later.
 *
 * @module
 */
import { TAG } from "./der.ts";

/** One TLV read from DER: its tag, its content, and the whole encoding. */
export interface Tlv {
  tag: number;
  content: Uint8Array;
  /** Tag, length and content: what a signature covers. */
  raw: Uint8Array;
}

/** Reads the TLV at `offset` of `buf`; returns it and the offset after it. Throws on bad DER. */
export function readTlv(buf: Uint8Array, offset = 0): [Tlv, number] {
  if (offset + 2 > buf.length) throw new Error("DER truncated");
  const tag = buf[offset];
  let len = buf[offset + 1];
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || p + n > buf.length) throw new Error("DER length unsupported");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    p += n;
  }
  if (p + len > buf.length) throw new Error("DER truncated");
  return [{ tag, content: buf.subarray(p, p + len), raw: buf.subarray(offset, p + len) }, p + len];
}

/** The TLVs that make up a constructed value's content, in order. */
export function children(content: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let p = 0; p < content.length;) {
    const [t, next] = readTlv(content, p);
    out.push(t);
    p = next;
  }
  return out;
}

/** The dotted form of an OBJECT IDENTIFIER's content. */
export function oidText(content: Uint8Array): string {
  if (content.length === 0) throw new Error("DER empty OID");
  const arcs = [Math.floor(content[0] / 40), content[0] % 40];
  let v = 0;
  for (const b of content.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}

/** A UTCTime or GeneralizedTime of the form the writer makes (`…Z`, to the second). */
export function readTime(t: Tlv): Date {
  const s = new TextDecoder().decode(t.content);
  const full = t.tag === TAG.utcTime
    ? (Number(s.slice(0, 2)) < 50 ? "20" : "19") + s
    : t.tag === TAG.generalizedTime
    ? s
    : "";
  const m = full.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/);
  if (!m) throw new Error("DER time malformed");
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}
