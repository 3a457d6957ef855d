/**
 * One resource record in zone-file syntax (`<name> [ttl] [class] <type> <rdata>`, RFC 1035 §5.1):
 * parsing, the canonical presentation form `dig` prints, and the pieces of its wire rdata.
 *
 * @module
 */
import { formatName, type Labels, nameKey, parseName } from "./name.ts";

/** The type codes this server knows (RFC 1035, 2782, 3596, 6891). */
export const RRTYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

/** Types a record may have (everything in {@link RRTYPE} but the meta types OPT and ANY). */
export type RecordType = "A" | "NS" | "CNAME" | "SOA" | "PTR" | "MX" | "TXT" | "AAAA" | "SRV";

const _TYPES = new Set<string>(["A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV"]);

/**
 * A piece of wire rdata: literal bytes, or a name written by the encoder (which may point it at
 * an earlier occurrence when `compress` is set: RFC 3597 §4 allows that for the RFC 1035 types
 * only, so never for SRV).
 */
export type RdataPart = Uint8Array | { readonly name: Labels; readonly compress: boolean };

/** A parsed resource record. */
export interface ResourceRecord {
  /** The owner name, lower-cased. */
  readonly owner: Labels;
  /** The owner's lookup key, e.g. `ex.org.`. */
  readonly key: string;
  readonly ttl: number;
  readonly type: RecordType;
  /** The wire rdata, in pieces. */
  readonly rdata: readonly RdataPart[];
  /** The canonical presentation: `owner\tTTL\tIN\tTYPE\trdata`. */
  readonly text: string;
  /** The SOA MINIMUM field (the negative-caching TTL of RFC 2308); 0 for other types. */
  readonly minimum: number;
}

// RFC 2181 §8: TTLs are unsigned 31-bit.
const MAX_TTL = 2 ** 31 - 1;
// RFC 1035 §3.3: a <character-string> carries at most 255 bytes.
const MAX_STRING = 255;
const DEFAULT_TTL = 3600;

interface _Token {
  /** The text with escapes still in it, quotes removed. */
  readonly text: string;
  readonly quoted: boolean;
}

/**
 * Parses one record. Throws an `Error` whose message is the reason when the text is no valid
 * record of a supported type and class `IN`.
 *
 * @example
 * ```ts
 * import { parseRecord } from "./record.ts";
 * console.log(parseRecord("Miek.nl. MX 10 mx.miek.nl").text); // "miek.nl.\t3600\tIN\tMX\t10 mx.miek.nl."
 * ```
 */
export function parseRecord(text: string): ResourceRecord {
  const tokens = _tokenize(text);
  if (tokens.length === 0) throw new Error("empty record");
  const [first, ...rest] = tokens;
  const owner = _plainName(first).map(_lower);
  let ttl: number | undefined;
  let klass: string | undefined;
  while (rest.length > 0 && !rest[0].quoted) {
    const word = rest[0].text;
    if (ttl === undefined && /^[0-9]/.test(word)) ttl = _parseTtl(word, MAX_TTL);
    else if (klass === undefined && /^(IN|CH|CS|HS|NONE|ANY|CLASS[0-9]+)$/i.test(word)) {
      klass = word.toUpperCase();
    } else break;
    rest.shift();
  }
  if (klass !== undefined && klass !== "IN" && klass !== "CLASS1") {
    throw new Error(`class ${klass} not supported, only IN`);
  }
  const typeToken = rest.shift();
  if (typeToken === undefined) throw new Error("missing type");
  const type = typeToken.text.toUpperCase();
  if (typeToken.quoted || !_TYPES.has(type)) throw new Error(`unknown or unsupported type ${typeToken.text}`);
  const [rdata, rdataText, minimum] = _parseRdata(type as RecordType, rest);
  const finalTtl = ttl ?? DEFAULT_TTL;
  return {
    owner,
    key: nameKey(owner),
    ttl: finalTtl,
    type: type as RecordType,
    rdata,
    text: `${formatName(owner)}\t${finalTtl}\tIN\t${type}\t${rdataText}`,
    minimum,
  };
}

function _lower(label: Uint8Array): Uint8Array {
  return label.map((b) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b));
}

function _tokenize(text: string): _Token[] {
  const tokens: _Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === ";") {
      // a comment runs to the end of the line
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "(") {
      depth++;
      i++;
    } else if (c === ")") {
      if (--depth < 0) throw new Error("unbalanced parenthesis");
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (j >= text.length) throw new Error("unterminated quoted string");
      tokens.push({ text: text.slice(i + 1, j), quoted: true });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s;()"]/.test(text[j])) j += text[j] === "\\" ? 2 : 1;
      tokens.push({ text: text.slice(i, Math.min(j, text.length)), quoted: false });
      i = j;
    }
  }
  if (depth !== 0) throw new Error("unbalanced parenthesis");
  return tokens;
}

function _plainName(token: _Token): Labels {
  if (token.quoted) throw new Error(`quoted string "${token.text}" where a domain name belongs`);
  return parseName(token.text);
}

function _parseTtl(word: string, max: number): number {
  let value: number;
  if (/^[0-9]+$/.test(word)) {
    value = Number(word);
  } else if (/^([0-9]+[smhdw])+$/i.test(word)) {
    // BIND's unit syntax, e.g. 1h30m
    const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    value = 0;
    for (const [, n, u] of word.matchAll(/([0-9]+)([smhdw])/gi)) value += Number(n) * unit[u.toLowerCase()];
  } else {
    throw new Error(`bad TTL ${word}`);
  }
  if (value > max) throw new Error(`TTL ${word} out of range`);
  return value;
}

function _parseUint(token: _Token, bits: 16 | 32, what: string): number {
  if (token.quoted || !/^[0-9]{1,10}$/.test(token.text) || Number(token.text) >= 2 ** bits) {
    throw new Error(`bad ${what} ${token.text}`);
  }
  return Number(token.text);
}

function _uints(values: number[], bits: 16 | 32): Uint8Array {
  const out = new Uint8Array(values.length * (bits / 8));
  const view = new DataView(out.buffer);
  values.forEach((v, i) => bits === 16 ? view.setUint16(i * 2, v) : view.setUint32(i * 4, v));
  return out;
}

function _expect(type: string, fields: readonly _Token[], n: number, shape: string): void {
  if (fields.length < n) throw new Error(`missing rdata for ${type}, want ${shape}`);
  if (fields.length > n) throw new Error(`extra rdata for ${type}: ${fields[n].text}`);
}

function _parseRdata(
  type: RecordType,
  f: readonly _Token[],
): [parts: RdataPart[], text: string, minimum: number] {
  switch (type) {
    case "A": {
      _expect(type, f, 1, "an IPv4 address");
      const bytes = _parseIPv4(f[0].text);
      if (f[0].quoted || bytes === null) throw new Error(`bad IPv4 address ${f[0].text}`);
      return [[bytes], bytes.join("."), 0];
    }
    case "AAAA": {
      _expect(type, f, 1, "an IPv6 address");
      const bytes = _parseIPv6(f[0].text);
      if (f[0].quoted || bytes === null) throw new Error(`bad IPv6 address ${f[0].text}`);
      return [[bytes], _formatIPv6(bytes), 0];
    }
    case "CNAME":
    case "NS":
    case "PTR": {
      _expect(type, f, 1, "a domain name");
      const name = _plainName(f[0]);
      return [[{ name, compress: true }], formatName(name), 0];
    }
    case "MX": {
      _expect(type, f, 2, "preference and exchange");
      const pref = _parseUint(f[0], 16, "MX preference");
      const name = _plainName(f[1]);
      return [[_uints([pref], 16), { name, compress: true }], `${pref} ${formatName(name)}`, 0];
    }
    case "SRV": {
      _expect(type, f, 4, "priority, weight, port and target");
      const nums = [
        _parseUint(f[0], 16, "SRV priority"),
        _parseUint(f[1], 16, "SRV weight"),
        _parseUint(f[2], 16, "SRV port"),
      ];
      const name = _plainName(f[3]);
      return [[_uints(nums, 16), { name, compress: false }], `${nums.join(" ")} ${formatName(name)}`, 0];
    }
    case "TXT": {
      if (f.length === 0) throw new Error("missing rdata for TXT, want one or more strings");
      const strings = f.flatMap((t) => _chunks(_characterString(t.text)));
      const wire = strings.flatMap((s) => [Uint8Array.of(s.length), s]);
      return [wire, strings.map(_formatString).join(" "), 0];
    }
    case "SOA": {
      _expect(type, f, 7, "mname, rname, serial, refresh, retry, expire and minimum");
      const mname = _plainName(f[0]);
      const rname = _plainName(f[1]);
      const serial = _parseUint(f[2], 32, "SOA serial");
      const timers = f.slice(3).map((t) => {
        if (t.quoted) throw new Error(`bad SOA timer "${t.text}"`);
        return _parseTtl(t.text, 2 ** 32 - 1);
      });
      return [
        [{ name: mname, compress: true }, { name: rname, compress: true }, _uints([serial, ...timers], 32)],
        `${formatName(mname)} ${formatName(rname)} ${[serial, ...timers].join(" ")}`,
        timers[3],
      ];
    }
  }
}

const _utf8 = new TextEncoder();

function _characterString(raw: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === "\\") {
      const digits = raw.slice(i + 1, i + 4);
      if (/^[0-9]{3}$/.test(digits)) {
        if (Number(digits) > 255) throw new Error(`bad escape \\${digits}`);
        out.push(Number(digits));
        i += 3;
        continue;
      }
      i++;
      if (i >= raw.length) throw new Error("dangling backslash");
    }
    const ch = String.fromCodePoint(raw.codePointAt(i)!);
    out.push(..._utf8.encode(ch));
    i += ch.length - 1;
  }
  return Uint8Array.from(out);
}

// Long strings are split rather than refused, as BIND and miekg/dns do for e.g. DKIM keys.
function _chunks(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length <= MAX_STRING) return [bytes];
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += MAX_STRING) out.push(bytes.subarray(at, at + MAX_STRING));
  return out;
}

// As BIND's txt_totext: quote, backslash before " and \, \DDD for bytes outside printable ASCII.
function _formatString(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += "\\" + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += "\\" + String(b).padStart(3, "0");
  }
  return out + '"';
}

function _parseIPv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  // leading zeros are refused, as inet_pton does, because some readers take them as octal
  if (!parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return Uint8Array.from(parts.map(Number));
}

function _parseIPv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string, last: boolean): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (last && i === parts.length - 1 && p.includes(".")) {
        const v4 = _parseIPv4(p);
        if (v4 === null) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1], true) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const words = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return _uints(words, 16);
}

// BIND's inet_ntop6: the first longest run of two or more zero words becomes "::", and
// IPv4-mapped or -compatible addresses end in dotted quad.
function _formatIPv6(bytes: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (bytes[i * 2] << 8) | bytes[i * 2 + 1]);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      cur = cur.base === -1 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else {
      cur = { base: -1, len: 0 };
    }
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    const embedsV4 = i === 6 && best.base === 0 &&
      (best.len === 6 || (best.len === 5 && words[5] === 0xffff));
    if (embedsV4) {
      out += Array.from(bytes.subarray(12)).join(".");
      break;
    }
    out += words[i].toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ":";
  return out;
}
