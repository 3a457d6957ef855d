/**
 * The queue of membership updates still to be spread (SPEC §9.2): each update is sent a bounded
 * number of times, least-sent first, and a newer update about a member replaces the older one.
 *
 * @module
 */
import type { MemberUpdate } from "../../wire/ops.ts";

interface Item {
  readonly update: MemberUpdate;
  sent: number;
}

/**
 * Updates waiting to be piggybacked or gossiped.
 *
 * Kept in buckets by send count (memberlist keeps a btree ordered the same way), so taking a few
 * updates costs O(taken + buckets), not a sort of the whole queue: when two halves of a large
 * cluster merge, every server queues one update per member of the other half. A bucket is an
 * array read from a moving head, its stale slots (an item replaced by newer news, or moved on
 * to the next bucket) skipped when met: a Map used as a queue keeps its deleted slots until it
 * is rebuilt, and iterating past them made each take O(queue).
 *
 * @example
 * ```ts
 * import { Broadcasts } from "./broadcasts.ts";
 * const q = new Broadcasts();
 * q.push({ Id: "X1", Url: "circuit://127.0.0.1:1/1/Q1", Inc: 0, State: "alive" });
 * console.log(q.take(10, 2).length, q.size); // 1 1
 * ```
 */
export class Broadcasts {
  /** `#buckets[n]`: items sent n times, in the order they entered the bucket, from `#heads[n]` on. */
  #buckets: Item[][] = [];
  #heads: number[] = [];
  /** The live item of each member ID. */
  #where = new Map<string, Item>();

  /** Number of updates still to be sent. */
  get size(): number {
    return this.#where.size;
  }

  /** Queues `u`, replacing any queued update about the same member. */
  push(u: MemberUpdate): void {
    const item = { update: u, sent: 0 };
    this.#where.set(u.Id, item);
    this.#enter(item);
  }

  /**
   * Takes up to `max` updates for one message, least-sent first, counting the send; an update
   * sent `limit` times leaves the queue.
   */
  take(max: number, limit: number): MemberUpdate[] {
    const picked: Item[] = [];
    for (let n = 0; n < this.#buckets.length && picked.length < max; n++) {
      const bucket = this.#buckets[n];
      let head = this.#heads[n];
      while (head < bucket.length && picked.length < max) {
        const item = bucket[head++];
        if (this.#where.get(item.update.Id) === item && item.sent === n) picked.push(item);
      }
      if (head >= bucket.length) {
        bucket.length = 0;
        head = 0;
      } else if (head > 1024 && head > bucket.length / 2) {
        bucket.splice(0, head);
        head = 0;
      }
      this.#heads[n] = head;
    }
    for (const item of picked) {
      if (++item.sent >= limit) this.#where.delete(item.update.Id);
      else this.#enter(item);
    }
    return picked.map((item) => item.update);
  }

  /** Drops everything (the server is leaving, or has nobody to tell). */
  clear(): void {
    this.#buckets = [];
    this.#heads = [];
    this.#where.clear();
  }

  #enter(item: Item): void {
    const n = item.sent;
    while (this.#buckets.length <= n) {
      this.#buckets.push([]);
      this.#heads.push(0);
    }
    this.#buckets[n].push(item);
  }
}
