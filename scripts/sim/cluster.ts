/**
 * A simulated cluster: N processes running the real Membership (server/membership/) on one
 * virtual clock and in-memory network, the faults scenarios inject, and what they observe: for a
 * watched member X, how many live views hold X over time, and removals of members that were up.
 *
 * @module
 */
import { Membership } from "../../server/membership/membership.ts";
import { type Entry, type Meta, NO_META, type Tomb } from "../../server/membership/table.ts";
import { Engine } from "./engine.ts";
import { prng } from "../../tests/_util.ts";
import { Network, Proc } from "./network.ts";

/** A curve: (virtual ms, share of live members whose view holds X) at every change. */
export type Curve = [number, number][];

/** A simulated cluster. */
export class SimCluster {
  readonly engine = new Engine();
  readonly random: () => number;
  readonly net: Network;
  /** Removals of a member that was up, unpaused and reachable, since the last {@link resetCounts}. */
  falseRemovals = 0;
  #nextId = 0;
  #holders = new Map<string, number>();
  #curves = new Map<string, Curve>();
  /** Sum over live processes of their view's size (themselves excluded): complete at L × (L − 1). */
  #entries = 0;
  /** What every member announces. */
  readonly #meta: Meta;

  /**
   * `n` members that already know each other (a converged cluster), seeded for repeatability,
   * each announcing `meta` (host and tags; none by default).
   *
   * With `split`, the cluster starts as two halves cut apart long enough for each to have buried
   * the other (members alternate between halves): every view holds its own half alive and the
   * other half dead, its URLs still retried, the partition in place until {@link heal}. That is
   * the state a long partition converges to, built directly as the converged start is, because
   * simulating 5,000 deaths flooded through each half of 10,000 members costs hours of wall time.
   */
  constructor(n: number, options: { seed?: number; split?: boolean; meta?: Meta } = {}) {
    const { seed = 1, split = false, meta = NO_META } = options;
    this.#meta = meta;
    this.random = prng(seed);
    this.net = new Network(this.engine, this.random);
    const procs: Proc[] = [];
    for (let i = 0; i < n; i++) procs.push(this.#newProc());
    const side = (i: number) => (split ? i % 2 : 0);
    const halves = [0, 1].map((h) => procs.filter((_, i) => side(i) === h));
    const known = halves.map((half) =>
      new Map<string, Entry>(half.map((p) => [p.id, { url: p.url, inc: 0, state: "alive", meta }]))
    );
    // Deaths declared over one suspicion period, so "the newest tombs" differ from member to member.
    const tombOf = (p: Proc): Tomb => ({
      url: p.url,
      inc: 0,
      state: "dead",
      at: Date.now() - this.random() * 8_000,
      retry: true,
    });
    const buried = halves.map((half) => new Map(half.map((p) => [p.id, tombOf(p)])));
    procs.forEach((p, i) => {
      const h = side(i);
      if (split) this.net.faults.group.set(p.id, h);
      this.#start(p, known[h], split ? buried[1 - h] : undefined);
      this.#entries += known[h].size - 1;
    });
  }

  /** Virtual ms since the start. */
  get now(): number {
    return this.engine.now;
  }

  /** The processes that are up (paused ones included). */
  live(): Proc[] {
    return [...this.net.procs.values()].filter((p) => p.up);
  }

  /** A random live, unpaused member. */
  pick(): Proc {
    const live = this.live().filter((p) => !p.paused);
    return live[Math.floor(this.random() * live.length)];
  }

  /** Runs `ms` of virtual time. */
  run(ms: number): Promise<void> {
    return this.engine.run(this.engine.now + ms);
  }

  /** Runs until `done()` (checked every `stepMs`) or `maxMs`; the virtual ms it took, or undefined. */
  async until(done: () => boolean, maxMs: number, stepMs = 50): Promise<number | undefined> {
    const start = this.now;
    while (this.now - start < maxMs) {
      if (done()) return this.now - start;
      await this.run(stepMs);
    }
    return done() ? this.now - start : undefined;
  }

  /** Starts counting the live views that hold `id`. */
  watch(id: string): void {
    let n = 0;
    for (const p of this.live()) if (p.id !== id && p.membership.urlOf(id) !== undefined) n++;
    this.#holders.set(id, n);
    this.#curves.set(id, [[this.now, this.share(id)]]);
  }

  /** Share of the other live members whose view holds `id` (watched). */
  share(id: string): number {
    const others = this.live().length - (this.net.procs.get(id)?.up ? 1 : 0);
    return others === 0 ? 0 : (this.#holders.get(id) ?? 0) / others;
  }

  /** The curve recorded for `id` since {@link watch}. */
  curve(id: string): Curve {
    return this.#curves.get(id) ?? [];
  }

  /** A new server that joins through a random member; its ID. */
  add(): string {
    const p = this.#newProc();
    this.#start(p, new Map());
    const seed = this.pick();
    p.membership.join(seed.url).catch(() => {});
    return p.id;
  }

  /** The process vanishes (a host powered off): silent from now on. */
  crash(id: string): void {
    const p = this.net.procs.get(id);
    if (!p?.up) return;
    p.up = false;
    this.#entries -= p.membership.view().length - 1;
    for (const [w, n] of this.#holders) if (w !== id && p.membership.urlOf(w)) this.#holders.set(w, n - 1);
  }

  /** SIGSTOP. */
  pause(id: string): void {
    this.net.procs.get(id)!.paused = true;
  }

  /** SIGCONT: back with its old state, its timers all late. */
  resume(id: string): void {
    this.net.procs.get(id)!.resume();
  }

  /** The crashed server `id` starts again at the same URL, with an empty view, and joins. */
  restart(id: string): void {
    const old = this.net.procs.get(id)!;
    this.crash(id);
    const p = new Proc(old.id, old.url);
    this.#start(p, new Map());
    p.membership.join(this.pick().url).catch(() => {});
  }

  /** Every timer of `id` fires up to `ms` late (a loaded or throttled host). */
  slow(id: string, ms: number): void {
    this.net.procs.get(id)!.slowMs = ms;
  }

  /** Cuts the cluster: `side(id)` names each member's group. */
  partition(side: (id: string) => number): void {
    for (const id of this.net.procs.keys()) this.net.faults.group.set(id, side(id));
  }

  /** Ends every partition. */
  heal(): void {
    this.net.faults.group.clear();
  }

  /** Zeroes the false-removal count and every process's traffic count. */
  resetCounts(): void {
    this.falseRemovals = 0;
    for (const p of this.net.procs.values()) p.sent = { messages: 0, bytes: 0 };
  }

  /** Messages and bytes sent per live member per second over the last `ms` (since resetCounts). */
  traffic(ms: number): { messages: number; bytes: number } {
    let messages = 0, bytes = 0;
    const live = this.live();
    for (const p of live) {
      messages += p.sent.messages;
      bytes += p.sent.bytes;
    }
    const per = live.length * (ms / 1000);
    return { messages: messages / per, bytes: bytes / per };
  }

  /** Share of (live viewer, other live member) pairs where the viewer's view holds the member. */
  completeness(): number {
    const live = this.live().length;
    return live < 2 ? 1 : this.#entries / (live * (live - 1));
  }

  #newProc(): Proc {
    const i = this.#nextId++;
    const hex = i.toString(16).padStart(16, "0");
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    return new Proc(`X${hex}`, `circuit://${ip}:4000/${1000 + (i % 30000)}/Q${hex}`);
  }

  #start(p: Proc, known: ReadonlyMap<string, Entry>, buried?: ReadonlyMap<string, Tomb>): void {
    this.net.attach(p);
    p.membership = new Membership(
      { Id: p.id, Url: p.url },
      this.net.transportFor(p),
      {
        joined: (id) => {
          if (!p.up) return;
          this.#entries++;
          const n = this.#holders.get(id);
          if (n === undefined) return;
          this.#holders.set(id, n + 1);
          this.#curves.get(id)!.push([this.now, this.share(id)]);
        },
        left: (id) => {
          if (!p.up) return;
          this.#entries--;
          const target = this.net.procs.get(id);
          const group = this.net.faults.group;
          if (target?.up && !target.paused && (group.get(id) ?? 0) === (group.get(p.id) ?? 0)) {
            this.falseRemovals++;
          }
          const n = this.#holders.get(id);
          if (n === undefined) return;
          this.#holders.set(id, n - 1);
          this.#curves.get(id)!.push([this.now, this.share(id)]);
        },
      },
      this.#meta,
      { clock: this.net.clockFor(p), random: this.random, known, buried },
    );
  }
}

/** The first time (ms after `from`) a curve reaches `share` (rising) or falls to `share` (falling). */
export function timeTo(curve: Curve, from: number, share: number, rising: boolean): number | undefined {
  for (const [t, s] of curve) {
    if (t < from) continue;
    if (rising ? s >= share - 1e-9 : s <= share + 1e-9) return t - from;
  }
  return undefined;
}
