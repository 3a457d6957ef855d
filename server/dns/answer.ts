/**
 * Authoritative answers (SPEC §7.5): from the bytes of a query and a {@link Zone} to the bytes
 * of the response, without any I/O.
 *
 * @module
 */
import { nameKey } from "./name.ts";
import { type ResourceRecord, RRTYPE } from "./record.ts";
import {
  decodeQuery,
  FormatError,
  HEADER_SIZE,
  MessageTooLarge,
  MessageWriter,
  type Query,
  type WireRecord,
} from "./wire.ts";
import type { Zone } from "./zone.ts";

/** How the query came in, which bounds the size of the response. */
export type Transport = "udp" | "tcp";

// Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2.2 for CD).
const QR = 0x8000;
const OPCODE_MASK = 0x7800;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const CD = 0x0010;

const NOERROR = 0;
const FORMERR = 1;
const NXDOMAIN = 3;
const NOTIMP = 4;
const REFUSED = 5;
// RFC 6891 §6.1.3: extended RCODE 16, carried as 1 in the OPT record's upper eight bits.
const BADVERS_HIGH = 1;

const CLASS_IN = 1;
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;

// RFC 1035 §4.2.1: the UDP size every client takes without EDNS.
const CLASSIC_UDP_SIZE = 512;
// What we advertise in our OPT record: the DNS Flag Day 2020 size, which avoids IP fragmentation.
const OUR_UDP_SIZE = 1232;
// A CNAME chain longer than this is a misconfiguration; BIND gives up after about as many.
const MAX_CNAME_HOPS = 8;

// One response at a time is built (the function is synchronous), so one buffer of the largest
// DNS message size (the TCP length prefix is 16 bits) serves every call.
const _scratch = new Uint8Array(65535);

/**
 * Answers one query message from `zone`. Returns the response message, or `null` when the
 * input should be dropped (too short to hold a header, or itself a response). Never throws
 * for malformed input.
 *
 * @example
 * ```ts
 * import { answerQuery } from "./answer.ts";
 * import { parseRecord } from "./record.ts";
 * import { Zone } from "./zone.ts";
 * const zone = new Zone();
 * zone.add(parseRecord("ex.org. 300 IN A 192.0.2.1"));
 * const query = Uint8Array.of(0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 101, 120, 3, 111, 114, 103, 0, 0, 1, 0, 1);
 * const response = answerQuery(zone, query, "udp")!;
 * console.log(response[3] & 0x0f, response[7]); // 0 1  (NOERROR, one answer)
 * ```
 */
export function answerQuery(zone: Zone, query: Uint8Array, transport: Transport): Uint8Array | null {
  if (query.length < HEADER_SIZE) return null;
  const id = (query[0] << 8) | query[1];
  const flags = (query[2] << 8) | query[3];
  if (flags & QR) return null;
  const echoed = QR | (flags & (OPCODE_MASK | RD | CD));
  let q: Query;
  try {
    q = decodeQuery(query);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    // other opcodes may shape their messages differently, so they are not malformed queries
    return _headerOnly(id, echoed | (flags & OPCODE_MASK ? NOTIMP : FORMERR));
  }
  const limit = transport === "tcp"
    ? _scratch.length
    : Math.min(_scratch.length, Math.max(CLASSIC_UDP_SIZE, q.edns?.udpSize ?? 0));
  const reply = (rcode: number, answer: WireRecord[], authority: WireRecord[], badvers = false) =>
    _build(q, echoed | rcode, answer, authority, badvers, limit);
  if (flags & OPCODE_MASK) return reply(NOTIMP, [], []);
  if (q.edns !== null && q.edns.version > 0) return reply(NOERROR, [], [], true);
  const { type, klass } = q.question;
  if (klass !== CLASS_IN || type === TYPE_AXFR || type === TYPE_IXFR) return reply(REFUSED, [], []);
  const key = nameKey(q.question.name);
  const answer = _lookup(zone, key, type);
  if (answer.length > 0) return reply(AA | NOERROR, answer.map((rr) => _wire(rr, rr.ttl)), []);
  const soa = zone.closestSoa(q.question.name);
  // RFC 2308 §3: a negative answer lives as long as the smaller of the SOA's TTL and MINIMUM
  const authority = soa ? [_wire(soa, Math.min(soa.ttl, soa.minimum))] : [];
  return reply(AA | (zone.exists(key) ? NOERROR : NXDOMAIN), [], authority);
}

function _lookup(zone: Zone, key: string, type: number): ResourceRecord[] {
  let records = zone.get(key);
  if (type === RRTYPE.ANY) return [...(records ?? [])];
  const answer: ResourceRecord[] = [];
  const seen = new Set([key]);
  while (records !== undefined) {
    const direct = records.filter((rr) => RRTYPE[rr.type] === type);
    const cname = records.find((rr) => rr.type === "CNAME");
    if (direct.length > 0 || cname === undefined) {
      answer.push(...direct);
      break;
    }
    answer.push(cname);
    const target = cname.rdata[0];
    if (target instanceof Uint8Array || seen.size > MAX_CNAME_HOPS) break;
    const targetKey = nameKey(target.name);
    if (seen.has(targetKey)) break;
    seen.add(targetKey);
    records = zone.get(targetKey);
  }
  return answer;
}

function _wire(rr: ResourceRecord, ttl: number): WireRecord {
  return { owner: rr.owner, type: RRTYPE[rr.type], klass: CLASS_IN, ttl, rdata: rr.rdata };
}

function _headerOnly(id: number, flags: number): Uint8Array {
  const w = new MessageWriter(_scratch);
  w.header(id, flags, [0, 0, 0, 0]);
  return w.finish();
}

function _build(
  q: Query,
  flags: number,
  answer: WireRecord[],
  authority: WireRecord[],
  badvers: boolean,
  limit: number,
): Uint8Array {
  const opt: WireRecord[] = q.edns === null ? [] : [{
    owner: [],
    type: RRTYPE.OPT,
    klass: OUR_UDP_SIZE,
    ttl: badvers ? BADVERS_HIGH << 24 : 0,
    rdata: [],
  }];
  const write = (flags: number, answer: WireRecord[], authority: WireRecord[]) => {
    const w = new MessageWriter(_scratch.subarray(0, limit));
    w.header(q.id, flags, [1, answer.length, authority.length, opt.length]);
    w.question(q.question);
    for (const rr of [...answer, ...authority, ...opt]) w.record(rr);
    return w.finish();
  };
  try {
    return write(flags, answer, authority);
  } catch (err) {
    if (!(err instanceof MessageTooLarge)) throw err;
    // RFC 2181 §9: rather than a partial RRset, an empty truncated answer that sends the client to TCP
    return write(flags | TC, [], []);
  }
}
