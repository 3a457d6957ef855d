/**
 * Anti-entropy (SPEC §9.2, §9.3): full-state exchanges (push-pull) with one random member every
 * push-pull interval, with a server met for the first time (a join, or traffic from a stranger),
 * and with one remembered dead member every retry interval, so a healed partition merges again
 * with no operator. A `dead` heard in a full state only makes a live member suspect (table.ts).
 *
 * A full state travels in pages of at most {@link PUSH_PULL_PAGE_BYTES}: the dialer sends its page
 * k, the other side answers with its own page k and whether it has more, until neither has. Pages
 * are cut afresh for each call, so a view that changes during an exchange may skip or repeat a
 * member in it; the next exchange, or gossip, carries what was missed.
 *
 * @module
 */
import type { MemberUpdate } from "../../wire/ops.ts";
import type { Context } from "./context.ts";
import type { MemberCall, MemberLink } from "./seams.ts";
import type { Tomb } from "./table.ts";
import {
  EXCHANGE_TIMEOUT_MS,
  MAX_PUSH_PULL_PAGES,
  MAX_TOMBS_IN_STATE,
  PAST_PEER_KEEP_MS,
  PAST_PEER_RETRY_MS,
  PUSH_PULL_PAGE_BYTES,
  pushPullMs,
  strangerPushPullMs,
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
  /** When the last push-pull with a stranger began (one per strangerPushPullMs, whoever it is with). */
  #lastStranger = -Infinity;

  /** A push-pull side over the shared context; {@link run} starts its loops. */
  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /** Runs the periodic push-pull and the past-peer retries until stopped. */
  run(): void {
    this.#loop(() => pushPullMs(this.#ctx.table.members.size + 1), () => this.#withRandomMember());
    this.#loop(() => PAST_PEER_RETRY_MS, () => this.#retryPastPeer());
  }

  /** Exchanges full states over `link`, page by page; a tomb of the other side rides along so it can refute. */
  async exchange(link: MemberLink): Promise<void> {
    const mine = this.#pages(link.serverId);
    for (let page = 0; page < MAX_PUSH_PULL_PAGES; page++) {
      const r = await link.call("pushpull", { Members: mine[page] ?? [], Page: page }, {
        timeoutMs: EXCHANGE_TIMEOUT_MS,
      });
      const reply = r as { Members?: unknown; More?: unknown } | null;
      this.#ctx.learnAll(reply?.Members, true);
      if (page + 1 >= mine.length && reply?.More !== true) return;
    }
  }

  /** Serves a `pushpull` from another server: its page in, this server's page of the same number out. */
  serve(call: MemberCall, args: Record<string, unknown>): void {
    this.#ctx.learnAll(args.Members, true);
    const page = Number.isSafeInteger(args.Page) && (args.Page as number) >= 0 ? args.Page as number : 0;
    const pages = this.#pages(call.connection.serverId);
    call.reply({ Members: pages[page] ?? [], More: page + 1 < pages.length });
  }

  /** Traffic from a server we count as dead or do not know: merge views with it (SPEC §9.2). */
  heardFrom(link: MemberLink): void {
    const { table, clock, stopped } = this.#ctx;
    const id = link.serverId;
    if (stopped || id === table.selfId || table.members.has(id)) return;
    if (table.tombs.get(id)?.state === "left") return;
    const now = clock.now();
    if (now - this.#lastStranger < strangerPushPullMs(table.members.size + 1)) return;
    this.#lastStranger = now;
    this.exchange(link).catch(() => {});
  }

  /**
   * This server's state for `peer`, in pages: itself, the view, the newest tombs, and the tomb of
   * `peer` itself if it has one: told it is dead, a member that lived on the other side of a
   * partition refutes, and its refutation brings it back into every view.
   */
  #pages(peer: string): MemberUpdate[][] {
    const { table } = this.#ctx;
    const state = table.state(MAX_TOMBS_IN_STATE);
    const tomb = table.tombs.has(peer) ? table.about(peer) : undefined;
    if (tomb) state.splice(1, 0, tomb);
    const pages: MemberUpdate[][] = [[]];
    let bytes = 0;
    for (const u of state) {
      const size = encodedSizeBound(u);
      if (bytes + size > PUSH_PULL_PAGE_BYTES && pages[pages.length - 1].length > 0) {
        pages.push([]);
        bytes = 0;
      }
      pages[pages.length - 1].push(u);
      bytes += size;
    }
    return pages;
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
    let pick: [string, Tomb] | undefined;
    let seen = 0;
    for (const entry of table.tombs) {
      const tomb = entry[1];
      if (tomb.state !== "dead" || !tomb.retry) continue;
      if (random() * ++seen < 1) pick = entry;
    }
    if (!pick) return;
    const [id, { url }] = pick;
    transport.dial(url).then((link) => this.exchange(link)).catch((err) => {
      if (err instanceof Error && err.message === "server identity mismatch") table.forgetUrl(id);
    });
  }
}

/**
 * At least the msgpack size of `u`: 40 bytes for the map header, the six keys (28) and the
 * integer (9), then each string with a 5-byte header.
 */
function encodedSizeBound(u: MemberUpdate): number {
  return 40 + utf8Bound(u.Id) + utf8Bound(u.Url) + utf8Bound(u.State) + utf8Bound(u.Host ?? "") +
    utf8Bound(u.Tags ?? "");
}

/** At least the UTF-8 length of `s` (3 bytes per UTF-16 unit beyond U+07FF; a pair is 4), plus a header. */
function utf8Bound(s: string): number {
  let n = 5;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
  }
  return n;
}
