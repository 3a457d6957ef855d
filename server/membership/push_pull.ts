/**
 * Anti-entropy (SPEC §9.2, §9.3): full-state exchanges (push-pull) with one random member every
 * push-pull interval, with a server met for the first time (a join, or traffic from a stranger),
 * and with one remembered dead member every retry interval, so a healed partition merges again
 * with no operator. A `dead` heard in a full state only makes a live member suspect (table.ts).
 *
 * @module
 */
import type { MemberUpdate } from "../../wire/ops.ts";
import type { Context } from "./context.ts";
import type { MemberCall, MemberLink } from "./seams.ts";
import {
  EXCHANGE_TIMEOUT_MS,
  MAX_TOMBS_IN_STATE,
  PAST_PEER_KEEP_MS,
  PAST_PEER_RETRY_MS,
  pushPullMs,
  STRANGER_PUSH_PULL_MS,
} from "./tuning.ts";

/**
 * The push-pull side of one server.
 *
 * @example
 * ```ts ignore
 * const ae = new AntiEntropy(ctx);
 * ae.run();                          // periodic exchanges and past-peer retries until stopped
 * await ae.exchange(await transport.dial(url)); // a join
 * ```
 */
export class AntiEntropy {
  #ctx: Context;
  #strangers = new Map<string, number>();

  /** A push-pull side over the shared context; {@link run} starts its loops. */
  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /** Runs the periodic push-pull and the past-peer retries until stopped. */
  run(): void {
    this.#loop(() => pushPullMs(this.#ctx.table.members.size + 1), () => this.#withRandomMember());
    this.#loop(() => PAST_PEER_RETRY_MS, () => this.#retryPastPeer());
  }

  /** Exchanges full states over `link`; a tomb of the other side rides along so it can refute. */
  async exchange(link: MemberLink): Promise<void> {
    const r = await link.call("pushpull", { Members: this.#state(link.serverId) }, {
      timeoutMs: EXCHANGE_TIMEOUT_MS,
    });
    this.#ctx.learnAll((r as { Members?: unknown } | null)?.Members, true);
  }

  /** Serves a `pushpull` from another server. */
  serve(call: MemberCall, args: Record<string, unknown>): void {
    this.#ctx.learnAll(args.Members, true);
    call.reply({ Members: this.#state(call.connection.serverId) });
  }

  /** Traffic from a server we count as dead or do not know: merge views with it (SPEC §9.2). */
  heardFrom(link: MemberLink): void {
    const { table, clock, stopped } = this.#ctx;
    const id = link.serverId;
    if (stopped || id === table.selfId || table.members.has(id)) return;
    if (table.tombs.get(id)?.state === "left") return;
    const now = clock.now();
    if (now - (this.#strangers.get(id) ?? -Infinity) < STRANGER_PUSH_PULL_MS) return;
    this.#strangers.set(id, now);
    for (const [sid, at] of this.#strangers) {
      if (now - at > STRANGER_PUSH_PULL_MS) this.#strangers.delete(sid);
    }
    this.exchange(link).catch(() => {});
  }

  /**
   * This server's state for `peer`: itself, the view, the newest tombs, and the tomb of `peer`
   * itself if it has one: told it is dead, a member that lived on the other side of a partition
   * refutes, and its refutation brings it back into every view.
   */
  #state(peer: string): MemberUpdate[] {
    const { table } = this.#ctx;
    const out = table.state(MAX_TOMBS_IN_STATE);
    const tomb = table.tombs.has(peer) ? table.about(peer) : undefined;
    if (tomb) out.push(tomb);
    return out;
  }

  async #loop(intervalMs: () => number, turn: () => void): Promise<void> {
    const ctx = this.#ctx;
    while (!ctx.stopped) {
      // A random phase: servers started together must not exchange in lockstep.
      await ctx.sleep(intervalMs() * (0.5 + ctx.random()));
      if (!ctx.stopped) turn();
    }
  }

  #withRandomMember(): void {
    const { roster, table, transport } = this.#ctx;
    const [id] = roster.sample(1);
    const url = id && table.members.get(id)?.url;
    if (!url) return;
    transport.connect(id, url).then((link) => this.exchange(link)).catch(() => {});
  }

  /** Push-pull with one random member declared dead in the last day; a different process there: forget it. */
  #retryPastPeer(): void {
    const { table, random, transport } = this.#ctx;
    table.expire(PAST_PEER_KEEP_MS);
    let pick: { url: string; retry: boolean } | undefined;
    let seen = 0;
    for (const tomb of table.tombs.values()) {
      if (tomb.state !== "dead" || !tomb.retry) continue;
      if (random() * ++seen < 1) pick = tomb;
    }
    if (!pick) return;
    const tomb = pick;
    transport.dial(tomb.url).then((link) => this.exchange(link)).catch((err) => {
      if (err instanceof Error && err.message === "server identity mismatch") tomb.retry = false;
    });
  }
}
