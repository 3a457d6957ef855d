/**
 * The DNS message format (RFC 1035 §4, EDNS from RFC 6891): decoding what a query needs, and
 * writing a response with name compression.
 *
 * @module
 */
import type { Labels } from "./name.ts";
import type { RdataPart } from "./record.ts";

/** The fixed header size (RFC 1035 §4.1.1). */
export const HEADER_SIZE = 12;

// RFC 1035 §2.3.4 and §4.1.4.
const MAX_NAME_WIRE = 255;
const POINTER_LIMIT = 0x4000;
const TYPE_OPT = 41;

/** The question of a query. */
export interface Question {
  /** The name with its case as sent (RFC 4343: the question is echoed unchanged). */
  readonly name: Labels;
  readonly type: number;
  readonly klass: number;
}

/** The EDNS parameters of a query's OPT record. */
export interface Edns {
  /** The requestor's UDP payload size. */
  readonly udpSize: number;
  readonly version: number;
}

/** What a query is about. */
export interface Query {
  readonly id: number;
  /** The header's flags word as sent. */
  readonly flags: number;
  readonly question: Question;
  readonly edns: Edns | null;
}

/** Thrown by {@link decodeQuery} for a message that breaks the format. */
export class FormatError extends Error {
  /** Creates the error with a reason. */
  constructor(reason: string) {
    super(reason);
    this.name = "FormatError";
  }
}

/**
 * Decodes a query of at least {@link HEADER_SIZE} bytes that has exactly one question. Throws
 * {@link FormatError} when it is malformed.
 *
 * @example
 * ```ts
 * import { decodeQuery } from "./wire.ts";
 * const q = Uint8Array.of(0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 101, 120, 3, 111, 114, 103, 0, 0, 1, 0, 1);
 * console.log(decodeQuery(q).question.type); // 1
 * ```
 */
export function decodeQuery(bytes: Uint8Array): Query {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (at: number, n: number) => {
    if (at + n > bytes.length) throw new FormatError("message too short");
  };
  need(0, HEADER_SIZE);
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((at) => view.getUint16(at));
  if (qd !== 1) throw new FormatError(`${qd} questions`);
  let [name, at] = _readName(bytes, HEADER_SIZE);
  need(at, 4);
  const question = { name, type: view.getUint16(at), klass: view.getUint16(at + 2) };
  at += 4;
  let edns: Edns | null = null;
  for (let i = 0; i < an + ns + ar; i++) {
    [name, at] = _readName(bytes, at);
    need(at, 10);
    const type = view.getUint16(at);
    const rdlength = view.getUint16(at + 8);
    if (type === TYPE_OPT) {
      if (i < an + ns || edns !== null || name.length !== 0) throw new FormatError("misplaced OPT record");
      edns = { udpSize: view.getUint16(at + 2), version: view.getUint8(at + 5) };
    }
    at += 10;
    need(at, rdlength);
    at += rdlength;
  }
  return { id: view.getUint16(0), flags: view.getUint16(2), question, edns };
}

function _readName(bytes: Uint8Array, start: number): [Labels, number] {
  const labels: Uint8Array[] = [];
  let wire = 1;
  let at = start;
  let end = -1;
  let bound = Infinity;
  for (;;) {
    if (at >= bytes.length) throw new FormatError("name runs past the message");
    const len = bytes[at];
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= bytes.length) throw new FormatError("name runs past the message");
      const target = ((len & 0x3f) << 8) | bytes[at + 1];
      // each pointer must go further back than the one before, which rules out loops
      if (target >= Math.min(at, bound)) throw new FormatError("bad compression pointer");
      if (end < 0) end = at + 2;
      bound = target;
      at = target;
      continue;
    }
    if (len & 0xc0) throw new FormatError("unknown label type");
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) throw new FormatError("name too long");
    if (at + 1 + len > bytes.length) throw new FormatError("name runs past the message");
    labels.push(bytes.slice(at + 1, at + 1 + len));
    at += 1 + len;
  }
  return [labels, end < 0 ? at + 1 : end];
}

/** Thrown by {@link MessageWriter} when the message would outgrow its buffer. */
export class MessageTooLarge extends Error {
  /** Creates the error. */
  constructor() {
    super("DNS message too large");
    this.name = "MessageTooLarge";
  }
}

/** One record to write: owner, type, class, TTL and rdata pieces. */
export interface WireRecord {
  readonly owner: Labels;
  readonly type: number;
  readonly klass: number;
  readonly ttl: number;
  readonly rdata: readonly RdataPart[];
}

/**
 * Writes one message into a caller-provided buffer, compressing names against earlier ones
 * with the same spelling (case included, so every name reads back as it was written).
 *
 * @example
 * ```ts
 * import { MessageWriter } from "./wire.ts";
 * const w = new MessageWriter(new Uint8Array(512));
 * w.header(7, 0x8400, [0, 0, 0, 0]);
 * console.log(w.finish().length); // 12
 * ```
 */
export class MessageWriter {
  #buf: Uint8Array;
  #view: DataView;
  #at = 0;
  #names = new Map<string, number>();

  /** Writes into `buf`; the message may grow to `buf.length` bytes. */
  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Writes the header: ID, flags word and the four section counts. */
  header(id: number, flags: number, counts: readonly [number, number, number, number]): void {
    this.#room(HEADER_SIZE);
    this.#view.setUint16(0, id);
    this.#view.setUint16(2, flags);
    counts.forEach((n, i) => this.#view.setUint16(4 + i * 2, n));
    this.#at = HEADER_SIZE;
  }

  /** Writes a question entry. */
  question(q: Question): void {
    this.#name(q.name, true);
    this.#u16(q.type);
    this.#u16(q.klass);
  }

  /** Writes a resource record. */
  record(rr: WireRecord): void {
    this.#name(rr.owner, true);
    this.#u16(rr.type);
    this.#u16(rr.klass);
    this.#room(4);
    this.#view.setUint32(this.#at, rr.ttl);
    this.#at += 4;
    this.#room(2);
    const lengthAt = this.#at;
    this.#at += 2;
    for (const part of rr.rdata) {
      if (part instanceof Uint8Array) {
        this.#room(part.length);
        this.#buf.set(part, this.#at);
        this.#at += part.length;
      } else {
        this.#name(part.name, part.compress);
      }
    }
    this.#view.setUint16(lengthAt, this.#at - lengthAt - 2);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#at);
  }

  #room(n: number): void {
    if (this.#at + n > this.#buf.length) throw new MessageTooLarge();
  }

  #u16(v: number): void {
    this.#room(2);
    this.#view.setUint16(this.#at, v);
    this.#at += 2;
  }

  #name(labels: Labels, compress: boolean): void {
    const spelled = labels.map((l) => String.fromCharCode(l.length, ...l));
    for (let i = 0; i < labels.length; i++) {
      const suffix = spelled.slice(i).join("");
      const earlier = this.#names.get(suffix);
      if (compress && earlier !== undefined) {
        this.#u16(0xc000 | earlier);
        return;
      }
      if (earlier === undefined && this.#at < POINTER_LIMIT) this.#names.set(suffix, this.#at);
      this.#room(1 + labels[i].length);
      this.#buf[this.#at] = labels[i].length;
      this.#buf.set(labels[i], this.#at + 1);
      this.#at += 1 + labels[i].length;
    }
    this.#room(1);
    this.#buf[this.#at++] = 0;
  }
}
