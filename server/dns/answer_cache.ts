/**
 * A cache of whole responses in front of an answering function: name servers are asked the same
 * few questions over and over, and building a response costs more than looking it up.
 *
 * @module
 */
import type { Transport } from "./answer.ts";

// Real queries are a few dozen bytes; longer ones are rare and would only make longer keys.
const MAX_CACHED_QUERY = 512;
// Bounds the memory the cache holds (TCP responses may reach 64 KiB each) while leaving room for
// thousands of typical responses of a hundred bytes or so.
const MAX_CACHED_BYTES = 1 << 20;

/**
 * Answers queries through `answer`, remembering each response under the query's bytes (all but
 * its ID) and the transport. A response depends on nothing else but the records, so the owner
 * calls {@linkcode AnswerCache.clear} whenever they change.
 *
 * @example
 * ```ts
 * import { AnswerCache } from "./answer_cache.ts";
 * import { answerQuery } from "./answer.ts";
 * import { Zone } from "./zone.ts";
 * const zone = new Zone();
 * const cache = new AnswerCache((q, t) => answerQuery(zone, q, t));
 * const query = Uint8Array.of(0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 101, 120, 3, 111, 114, 103, 0, 0, 1, 0, 1);
 * console.log(cache.answer(query, "udp")![3] & 0x0f); // 3 (NXDOMAIN)
 * ```
 */
export class AnswerCache {
  #answer: (query: Uint8Array, transport: Transport) => Uint8Array | null;
  // Insertion order is eviction order: the oldest response goes first.
  #responses = new Map<string, Uint8Array>();
  #bytes = 0;

  /** Caches the responses of `answer`, which must depend only on the query and the transport. */
  constructor(answer: (query: Uint8Array, transport: Transport) => Uint8Array | null) {
    this.#answer = answer;
  }

  /** The response to `query`, or `null` to drop it; the caller may keep and change the bytes. */
  answer(query: Uint8Array, transport: Transport): Uint8Array | null {
    if (query.length < 2 || query.length > MAX_CACHED_QUERY) return this.#answer(query, transport);
    const key = transport + String.fromCharCode.apply(null, query.subarray(2) as unknown as number[]);
    let response = this.#responses.get(key);
    if (response === undefined) {
      const fresh = this.#answer(query, transport);
      if (fresh === null) return null;
      this.#remember(key, fresh);
      response = fresh;
    }
    const out = response.slice();
    // Every response starts with the ID of its query (RFC 1035 §4.1.1).
    out[0] = query[0];
    out[1] = query[1];
    return out;
  }

  /** Forgets every response: the records changed. */
  clear(): void {
    this.#responses.clear();
    this.#bytes = 0;
  }

  #remember(key: string, response: Uint8Array): void {
    if (response.length > MAX_CACHED_BYTES) return;
    this.#bytes += response.length;
    for (const [oldKey, old] of this.#responses) {
      if (this.#bytes <= MAX_CACHED_BYTES) break;
      this.#responses.delete(oldKey);
      this.#bytes -= old.length;
    }
    this.#responses.set(key, response);
  }
}
