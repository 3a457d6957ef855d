/**
 * Dissemination (SPEC §9.2): news is piggybacked on probes and acks and, as soon as it is news,
 * pushed in gossip messages to a few random members, then again every gossip interval until each
 * update was sent its bounded number of times (broadcasts.ts keeps the count).
 *
 * @module
 */
import type { MemberUpdate } from "../../wire/ops.ts";
import { Broadcasts } from "./broadcasts.ts";
import type { Context } from "./context.ts";
import type { Timer } from "./seams.ts";
import {
  EXCHANGE_TIMEOUT_MS,
  GOSSIP_FANOUT,
  GOSSIP_INTERVAL_MS,
  MAX_GOSSIP,
  MAX_PIGGYBACK,
  retransmitLimit,
} from "./tuning.ts";

/**
 * The gossip of one server.
 *
 * @example
 * ```ts ignore
 * const gossip = new Gossip(ctx);
 * gossip.spread(update);   // queued, and a round goes out in the next turn of the event loop
 * gossip.piggyback();      // what the next probe carries
 * ```
 */
export class Gossip {
  #ctx: Context;
  #queue = new Broadcasts();
  #timer: Timer | undefined;
  #urgent = false;

  /** Nothing to spread yet. */
  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /** Queues `u` (replacing older news about the same member) and sends a round soon. */
  spread(u: MemberUpdate): void {
    this.#queue.push(u);
    this.#soon();
  }

  /** Updates to piggyback on one probe or ack. */
  piggyback(): MemberUpdate[] {
    if (this.#queue.size === 0) return [];
    return this.#queue.take(MAX_PIGGYBACK, this.#limit());
  }

  /** Sends `updates` to member `id` in a gossip message; failures are the failure detector's business. */
  async send(id: string, updates: MemberUpdate[]): Promise<void> {
    const ctx = this.#ctx;
    const url = ctx.table.members.get(id)?.url;
    if (url === undefined) return;
    try {
      const link = await ctx.transport.connect(id, url);
      const r = await link.call("gossip", { Updates: updates }, { timeoutMs: EXCHANGE_TIMEOUT_MS });
      ctx.learnAll((r as { Updates?: unknown } | null)?.Updates, false);
    } catch {
      // unreachable: probes will tell
    }
  }

  /** Drops the queue and the pending round (the server stops). */
  clear(): void {
    this.#ctx.clock.cancel(this.#timer);
    this.#timer = undefined;
    this.#queue.clear();
  }

  #limit(): number {
    return retransmitLimit(this.#ctx.table.members.size + 1);
  }

  /** News goes out in the next turn of the event loop, even if a paced round was already due later. */
  #soon(): void {
    if (this.#urgent || this.#ctx.stopped) return;
    this.#ctx.clock.cancel(this.#timer);
    this.#urgent = true;
    this.#timer = this.#ctx.clock.after(0, () => this.#round());
  }

  #round(): void {
    this.#timer = undefined;
    this.#urgent = false;
    if (this.#ctx.stopped) return;
    const targets = this.#ctx.roster.sample(GOSSIP_FANOUT);
    if (targets.length === 0) {
      // Alone, this server's verdicts reach nobody; kept, they would go out once a partition heals,
      // stale, and bury members that lived on the other side all along. Tombs still travel in
      // push-pull states, where a `dead` only makes a live member suspect, so it can refute.
      this.#queue.clear();
      return;
    }
    for (const id of targets) {
      const updates = this.#queue.take(MAX_GOSSIP, this.#limit());
      if (updates.length === 0) break;
      this.send(id, updates);
    }
    if (this.#queue.size > 0) {
      this.#timer = this.#ctx.clock.after(GOSSIP_INTERVAL_MS, () => this.#round());
    }
  }
}
