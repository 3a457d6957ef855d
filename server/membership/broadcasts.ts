/**
 * The queue of membership updates still to be spread (SPEC §9.2): each update is sent a bounded
 * number of times, least-sent first, and a newer update about a member replaces the older one.
 *
 * @module
 */
import type { MemberUpdate } from "../../wire/ops.ts";

interface Item {
  update: MemberUpdate;
  sent: number;
}

/**
 * Updates waiting to be piggybacked or gossiped.
 *
 * Kept in buckets by send count (memberlist keeps a btree ordered the same way), so taking a few
 * updates costs O(taken + buckets), not a sort of the whole queue: when two halves of a large
 * cluster merge, every server queues one update per member of the other half.
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
  /** `#buckets[n]`: updates sent n times, by member ID, in the order they entered the bucket. */
  #buckets: Map<string, Item>[] = [];
  #where = new Map<string, Item>();

  /** Number of updates still to be sent. */
  get size(): number {
    return this.#where.size;
  }

  /** Queues `u`, replacing any queued update about the same member. */
  push(u: MemberUpdate): void {
    const old = this.#where.get(u.Id);
    if (old) this.#buckets[old.sent].delete(u.Id);
    const item = { update: u, sent: 0 };
    this.#where.set(u.Id, item);
    this.#bucket(0).set(u.Id, item);
  }

  /**
   * Takes up to `max` updates for one message, least-sent first, counting the send; an update
   * sent `limit` times leaves the queue.
   */
  take(max: number, limit: number): MemberUpdate[] {
    const picked: Item[] = [];
    for (const bucket of this.#buckets) {
      if (!bucket) continue;
      for (const item of bucket.values()) {
        picked.push(item);
        if (picked.length === max) break;
      }
      if (picked.length === max) break;
    }
    for (const item of picked) {
      this.#buckets[item.sent].delete(item.update.Id);
      if (++item.sent >= limit) this.#where.delete(item.update.Id);
      else this.#bucket(item.sent).set(item.update.Id, item);
    }
    return picked.map((item) => item.update);
  }

  /** Drops everything (the server is leaving, or has nobody to tell). */
  clear(): void {
    this.#buckets = [];
    this.#where.clear();
  }

  #bucket(n: number): Map<string, Item> {
    return (this.#buckets[n] ??= new Map());
  }
}
