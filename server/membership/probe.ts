/**
 * The failure detector (SPEC §9.2): every probe interval ping one member, round-robin over the
 * shuffled roster; without an ack within the probe timeout ask k others to ping it; without any
 * ack by the probe deadline (1.5 intervals, tuning.ts says why) it becomes suspect (suspicion.ts
 * takes it from there). A missing ack while this server's own timers ran late proves nothing
 * and makes it probe less eagerly (Lifeguard's local health).
 *
 * @module
 */
import type { Context } from "./context.ts";
import type { Clock, MemberCall } from "./seams.ts";
import { declareDead, suspect } from "./suspicion.ts";
import {
  INDIRECT_PROBES,
  LAG_TOLERANCE_MS,
  PROBE_DEADLINE_MS,
  PROBE_INTERVAL_MS,
  PROBE_TIMEOUT_MS,
} from "./tuning.ts";

/**
 * Probes members and answers others' indirect probe requests.
 *
 * @example
 * ```ts ignore
 * const detector = new FailureDetector(ctx);
 * detector.run(); // until ctx.stopped
 * ```
 */
export class FailureDetector {
  #ctx: Context;

  /** A detector over the shared context; {@link run} starts it. */
  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /** Probes one member per interval (stretched by the local health multiplier) until stopped. */
  async run(): Promise<void> {
    const ctx = this.#ctx;
    while (!ctx.stopped) {
      const period = PROBE_INTERVAL_MS * (ctx.awareness + 1);
      const start = ctx.clock.now();
      const target = ctx.roster.next();
      if (target) this.#probe(target, start + PROBE_DEADLINE_MS * (ctx.awareness + 1));
      await ctx.sleep(start + period - ctx.clock.now());
    }
  }

  /**
   * A peer connection broke: re-dial and ping the member at once; refused means dead, no ack
   * within a probe interval makes it suspect. A member that answers is not suspected: a closed
   * connection alone proves nothing (the peer may have retired a duplicate, or buried this server
   * while it was paused), and suspecting every member of a woken server at once, each needing a
   * refutation within the suspicion timeout on a loaded machine, is how healthy ones get buried.
   */
  async onLinkLost(id: string): Promise<void> {
    const ctx = this.#ctx;
    const entry = ctx.table.members.get(id);
    if (!entry || ctx.stopped) return;
    const { inc, url } = entry;
    let refused = false;
    // A whole interval, not the probe timeout: the ping needs a fresh dial and handshake first.
    const ms = PROBE_INTERVAL_MS * (ctx.awareness + 1);
    const ping = this.#ping(id, url, ms).catch((err) => {
      refused = isProofOfDeath(err);
      return false;
    });
    const r = await firstTrue(ctx.clock, [ping], ms);
    if (r.ok || ctx.stopped) return;
    if (refused) return declareDead(ctx, id, inc);
    suspect(ctx, id, inc);
  }

  /** Serves a `pingreq`: pings the member on the asker's behalf and says whether it answered. */
  async servePingReq(call: MemberCall, args: Record<string, unknown>): Promise<void> {
    const { Id, Url, TimeoutMs } = args;
    let ok = false;
    if (typeof Id === "string" && typeof Url === "string" && typeof TimeoutMs === "number") {
      // Never longer than a probe's deadline: the asker has given up by then.
      const ms = Math.min(TimeoutMs, PROBE_DEADLINE_MS);
      ok = await firstTrue(this.#ctx.clock, [this.#ping(Id, Url, ms).catch(() => false)], ms).then((r) =>
        r.ok
      );
    }
    call.reply({ Ok: ok, Updates: this.#ctx.piggyback() });
  }

  async #probe(id: string, deadline: number): Promise<void> {
    const ctx = this.#ctx;
    const entry = ctx.table.members.get(id);
    if (!entry) return;
    const { inc, url } = entry;
    let refused = false;
    const direct = this.#ping(id, url, deadline - ctx.clock.now()).catch((err) => {
      refused = isProofOfDeath(err);
      return false;
    });
    const first = await firstTrue(ctx.clock, [direct], PROBE_TIMEOUT_MS * (ctx.awareness + 1));
    if (first.ok) return this.#acked("ack");
    if (refused) return this.#refused(id, inc);
    if (first.lateMs > LAG_TOLERANCE_MS) return this.#stalled();
    const helpers = ctx.roster.sample(INDIRECT_PROBES, id);
    const indirect = helpers.map((h) => this.#pingReq(h, id, url, deadline - ctx.clock.now()));
    const all = await firstTrue(ctx.clock, [direct, ...indirect], deadline - ctx.clock.now());
    if (all.ok) return this.#acked("indirect_ack");
    if (refused) return this.#refused(id, inc);
    if (all.lateMs > LAG_TOLERANCE_MS) return this.#stalled();
    if (ctx.stopped) return;
    ctx.probes.timeout++;
    suspect(ctx, id, inc);
  }

  #acked(result: "ack" | "indirect_ack"): void {
    this.#ctx.probes[result]++;
    this.#ctx.healthier();
  }

  #refused(id: string, inc: number): void {
    this.#ctx.probes.refused++;
    declareDead(this.#ctx, id, inc);
  }

  #stalled(): void {
    this.#ctx.probes.self_stalled++;
    this.#ctx.slower();
  }

  /** Pings member `id`; resolves true on its ack. Rejects with the dial's error. */
  async #ping(id: string, url: string, ms: number): Promise<boolean> {
    const ctx = this.#ctx;
    const link = await ctx.transport.connect(id, url);
    const r = await link.call("ping", { Updates: ctx.piggyback() }, { timeoutMs: Math.max(1, ms) });
    ctx.learnAll((r as { Updates?: unknown } | null)?.Updates, false);
    return true;
  }

  async #pingReq(helper: string, id: string, url: string, ms: number): Promise<boolean> {
    const ctx = this.#ctx;
    try {
      const link = await ctx.transport.connect(helper, ctx.table.members.get(helper)?.url ?? "");
      const args = { Id: id, Url: url, TimeoutMs: ms, Updates: ctx.piggyback() };
      const r = await link.call("pingreq", args, { timeoutMs: Math.max(1, ms) }) as
        | { Ok?: unknown; Updates?: unknown }
        | null;
      ctx.learnAll(r?.Updates, false);
      return r?.Ok === true;
    } catch {
      return false;
    }
  }
}

/** A refused connection or another process at the URL: the member's process is gone. */
function isProofOfDeath(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : "";
  return msg === "connection refused" || msg === "server identity mismatch";
}

/**
 * Resolves `ok: true` as soon as one promise yields true, else `ok: false` once all yielded
 * false or `ms` passed; `lateMs` is how late that timer fired (0 if it did not decide).
 */
function firstTrue(
  clock: Clock,
  promises: Promise<boolean>[],
  ms: number,
): Promise<{ ok: boolean; lateMs: number }> {
  return new Promise((resolve) => {
    const due = clock.now() + ms;
    let pending = promises.length;
    const timer = clock.after(Math.max(0, ms), () => resolve({ ok: false, lateMs: clock.now() - due }));
    for (const p of promises) {
      p.then((ok) => {
        if (ok) {
          clock.cancel(timer);
          resolve({ ok: true, lateMs: 0 });
        } else if (--pending === 0) {
          clock.cancel(timer);
          resolve({ ok: false, lateMs: 0 });
        }
      });
    }
  });
}
