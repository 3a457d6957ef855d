/**
 * The queue of membership updates still to be spread (SPEC §9.2): each update is sent a bounded
 * number of times, least-sent first, and a newer update about a member replaces the older one.
 *
 * @module
 */
import type { MemberUpdate } from "../../wire/ops.ts";

/**
 * Updates waiting to be piggybacked or gossiped.
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
  #queue = new Map<string, { update: MemberUpdate; sent: number }>();

  /** Number of updates still to be sent. */
  get size(): number {
    return this.#queue.size;
  }

  /** Queues `u`, replacing any queued update about the same member. */
  push(u: MemberUpdate): void {
    this.#queue.delete(u.Id);
    this.#queue.set(u.Id, { update: u, sent: 0 });
  }

  /**
   * Takes up to `max` updates for one message, least-sent first, counting the send; an update
   * sent `limit` times leaves the queue.
   */
  take(max: number, limit: number): MemberUpdate[] {
    const picked = [...this.#queue.values()].sort((a, b) => a.sent - b.sent).slice(0, max);
    for (const item of picked) {
      if (++item.sent >= limit) this.#queue.delete(item.update.Id);
    }
    return picked.map((item) => item.update);
  }

  /** Drops everything (the server is leaving). */
  clear(): void {
    this.#queue.clear();
  }
}
