/**
 * Where membership decides a member is dead (SPEC §9.2): a suspect that does not refute within the
 * suspicion timeout is declared dead, unless this server itself was stalled while it waited
 * (Lifeguard), in which case the suspect is told again and gets one more timeout.
 *
 * @module
 */
import type { Context } from "./context.ts";
import type { Timer } from "./seams.ts";
import { LAG_TOLERANCE_MS, suspicionMs } from "./tuning.ts";

/**
 * The running suspicion timers of one server.
 *
 * @example
 * ```ts ignore
 * const s = new Suspicions(ctx);
 * s.start("X88550014d4c82e4d", 3); // dead in suspicionMs(N) unless it refutes
 * s.stop("X88550014d4c82e4d");     // it refuted
 * ```
 */
export class Suspicions {
  #ctx: Context;
  #timers = new Map<string, Timer>();

  /** No suspicions yet. */
  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /** Declares `id` dead unless it refutes in time; `extended`: its timeout was already restarted once. */
  start(id: string, inc: number, extended = false): void {
    const { clock, table } = this.#ctx;
    this.stop(id);
    const ms = suspicionMs(table.members.size + 1);
    const due = clock.now() + ms;
    this.#timers.set(
      id,
      clock.after(ms, () => {
        this.#timers.delete(id);
        const e = table.members.get(id);
        if (!e || e.state !== "suspect" || e.inc !== inc || this.#ctx.stopped) return;
        if (!extended && clock.now() - due > LAG_TOLERANCE_MS) {
          // This server was stalled (SIGSTOP, starved CPU): the refutation may be sitting unread in
          // a socket. Tell the suspect again and give it one more suspicion timeout (Lifeguard);
          // only once, so a server that stays slow still removes a dead member within bounds.
          this.#ctx.slower();
          this.#ctx.send(id, [{ Id: id, Url: e.url, Inc: inc, State: "suspect" }]);
          return this.start(id, inc, true);
        }
        declareDead(this.#ctx, id, inc);
      }),
    );
  }

  /** The suspect refuted, or left the view. */
  stop(id: string): void {
    const t = this.#timers.get(id);
    if (t === undefined) return;
    this.#ctx.clock.cancel(t);
    this.#timers.delete(id);
  }

  /** Cancels every timer (the server stops). */
  clear(): void {
    for (const t of this.#timers.values()) this.#ctx.clock.cancel(t);
    this.#timers.clear();
  }
}

/** Marks member `id` (at incarnation `inc`) suspect; told directly, a merely slow suspect refutes at once. */
export function suspect(ctx: Context, id: string, inc: number): void {
  const url = ctx.table.members.get(id)?.url;
  if (url === undefined) return;
  const u = { Id: id, Url: url, Inc: inc, State: "suspect" as const };
  if (ctx.learn(u, false) === "suspected") ctx.send(id, [u]);
}

/** Removes member `id` from the view as dead and spreads the news. */
export function declareDead(ctx: Context, id: string, inc: number): void {
  const url = ctx.table.members.get(id)?.url;
  if (url !== undefined) ctx.learn({ Id: id, Url: url, Inc: inc, State: "dead" }, false);
}
