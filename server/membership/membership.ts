/**
 * Cluster membership (SPEC §9.1–§9.3): SWIM-style failure detection with memberlist's and
 * Lifeguard's refinements, over the existing peer connections. This file wires the parts:
 *
 * - probe.ts — the failure detector: who gets pinged, when a member becomes suspect;
 * - suspicion.ts — when a suspect is declared dead;
 * - gossip.ts — how news spreads (piggyback and gossip rounds; broadcasts.ts counts sends);
 * - push_pull.ts — full-state exchanges: joins, anti-entropy, strangers, healing partitions;
 * - table.ts — the member table and the order of updates; roster.ts — the shuffled member list;
 * - tuning.ts — every constant, and those scaled with N; seams.ts — clock, random, transport.
 *
 * @module
 */
import type { Member, MemberUpdate } from "../../wire/ops.ts";
import type { Context } from "./context.ts";
import { Gossip } from "./gossip.ts";
import { FailureDetector } from "./probe.ts";
import { AntiEntropy } from "./push_pull.ts";
import { Roster } from "./roster.ts";
import { type Clock, type MemberCall, type MemberTransport, type Random, systemClock } from "./seams.ts";
import { Suspicions } from "./suspicion.ts";
import { type Entry, isUpdate, MemberTable, type Outcome } from "./table.ts";
import { LEAVE_TIMEOUT_MS, MAX_AWARENESS } from "./tuning.ts";

/** Receives changes of the view. */
export interface MembershipEvents {
  joined(id: string, url: string): void;
  left(id: string, url: string): void;
}

/** The world a membership runs in; a real server takes the defaults. */
export interface MembershipOptions {
  /** Default: performance.now and setTimeout. */
  clock?: Clock;
  /** Default: Math.random. */
  random?: Random;
  /**
   * Members known before the start, taken without events or gossip: the simulator starts from a
   * converged cluster this way, every view sharing the same entries (a real server starts alone
   * and joins).
   */
  known?: ReadonlyMap<string, Entry>;
}

/**
 * The view of one server and the protocol that keeps it.
 *
 * @example
 * ```ts ignore
 * import { Membership } from "./membership.ts";
 * const m = new Membership({ Id: "X2dfc77bb3455a9e5", Url: myUrl }, peers, events);
 * await m.join(otherUrl);
 * console.log(m.view());
 * await m.leave();
 * ```
 */
export class Membership {
  #table: MemberTable;
  #transport: MemberTransport;
  #events: MembershipEvents;
  #ctx: Context;
  #stop = new AbortController();
  /** Pending sleeps, ended at once by {@link #halt}. */
  #sleepers = new Map<unknown, () => void>();
  #awareness = 0;
  #detector: FailureDetector;
  #suspicions: Suspicions;
  #gossip: Gossip;
  #antiEntropy: AntiEntropy;

  /** Starts a view holding only `self` (and `options.known`), and the failure detector. */
  constructor(
    self: Member,
    transport: MemberTransport,
    events: MembershipEvents,
    options: MembershipOptions = {},
  ) {
    const table = new MemberTable(self.Id, self.Url);
    const random = options.random ?? Math.random;
    const roster = new Roster(random, (id) => table.members.has(id));
    for (const [id, e] of options.known ?? []) {
      if (id === self.Id) continue;
      table.members.set(id, e);
      roster.add(id);
    }
    this.#table = table;
    this.#transport = transport;
    this.#events = events;
    const stop = this.#stop;
    const awareness = () => this.#awareness;
    this.#ctx = {
      table,
      roster,
      clock: options.clock ?? systemClock,
      random,
      transport,
      get stopped() {
        return stop.signal.aborted;
      },
      sleep: (ms) => this.#sleep(ms),
      get awareness() {
        return awareness();
      },
      healthier: () => (this.#awareness = Math.max(0, this.#awareness - 1)),
      slower: () => (this.#awareness = Math.min(MAX_AWARENESS, this.#awareness + 1)),
      learn: (u, fromState) => this.#learn(u, fromState),
      learnAll: (updates, fromState) => this.#learnAll(updates, fromState),
      piggyback: () => this.#gossip.piggyback(),
      send: (id, updates) => void this.#gossip.send(id, updates),
    };
    this.#detector = new FailureDetector(this.#ctx);
    this.#suspicions = new Suspicions(this.#ctx);
    this.#gossip = new Gossip(this.#ctx);
    this.#antiEntropy = new AntiEntropy(this.#ctx);
    transport.onClosed((id) => this.#detector.onLinkLost(id));
    this.#antiEntropy.run();
    this.#detector.run();
  }

  /** The view, sorted by server ID, this server included. */
  view(): Member[] {
    const out = [{ Id: this.#table.selfId, Url: this.#table.selfUrl }];
    for (const [Id, e] of this.#table.members) out.push({ Id, Url: e.url });
    return out.sort((a, b) => (a.Id < b.Id ? -1 : 1));
  }

  /** The URL of member `id`, if it is in the view. */
  urlOf(id: string): string | undefined {
    return id === this.#table.selfId ? this.#table.selfUrl : this.#table.members.get(id)?.url;
  }

  /** Whether the server at `url` is this one or in the view. */
  knows(url: string): boolean {
    return url === this.#table.selfUrl || [...this.#table.members.values()].some((e) => e.url === url);
  }

  /** Merges with the cluster of the server at `url` (SPEC §9.3). Throws the dial's or call's error. */
  async join(url: string): Promise<void> {
    const link = await this.#transport.dial(url);
    if (link.serverId === this.#table.selfId) return link.close("connection lost");
    await this.#antiEntropy.exchange(link);
  }

  /** Serves a membership operation from a peer server; false if `call` is not one. */
  serve(call: MemberCall): boolean {
    const args = (call.args ?? {}) as Record<string, unknown>;
    switch (call.op) {
      case "pushpull":
        this.#antiEntropy.serve(call, args);
        return true;
      case "ping":
      case "gossip":
        this.#antiEntropy.heardFrom(call.connection);
        this.#learnAll(args.Updates, false);
        call.reply({ Updates: this.#gossip.piggyback() });
        return true;
      case "pingreq":
        this.#antiEntropy.heardFrom(call.connection);
        this.#learnAll(args.Updates, false);
        this.#detector.servePingReq(call, args);
        return true;
    }
    return false;
  }

  /** Tells every member this server leaves (within 0.5 s), then stops taking part. */
  async leave(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#halt();
    this.#table.selfLeft = true;
    const bye = { Updates: [this.#table.self()] };
    const tell = Promise.allSettled([...this.#table.members].map(async ([id, e]) => {
      const link = await this.#transport.connect(id, e.url);
      await link.call("gossip", bye, { timeoutMs: LEAVE_TIMEOUT_MS });
    }));
    const clock = this.#ctx.clock;
    let timer: unknown;
    await Promise.race([tell, new Promise((r) => (timer = clock.after(LEAVE_TIMEOUT_MS, () => r(null))))]);
    clock.cancel(timer);
  }

  /** Stops every timer without telling anyone (the owner is going away or the test is over). */
  #halt(): void {
    this.#stop.abort();
    for (const [timer, wake] of this.#sleepers) {
      this.#ctx.clock.cancel(timer);
      wake();
    }
    this.#sleepers.clear();
    this.#suspicions.clear();
    this.#gossip.clear();
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#ctx.clock.after(ms, () => {
        this.#sleepers.delete(timer);
        resolve();
      });
      this.#sleepers.set(timer, resolve);
    });
  }

  #learnAll(updates: unknown, fromState: boolean): void {
    if (!Array.isArray(updates)) return;
    for (const u of updates) if (isUpdate(u)) this.#learn(u, fromState);
  }

  /** Applies one update, fires events, (re)starts or stops timers and queues what is news. */
  #learn(u: MemberUpdate, fromState: boolean): Outcome {
    if (this.#stop.signal.aborted) return "none";
    const before = this.#table.members.get(u.Id)?.url ?? u.Url;
    const outcome = this.#table.apply(u, fromState);
    switch (outcome) {
      case "none":
        return outcome;
      case "joined":
        this.#ctx.roster.add(u.Id);
        this.#events.joined(u.Id, u.Url);
        break;
      case "removed":
        this.#suspicions.stop(u.Id);
        this.#events.left(u.Id, before);
        break;
      case "suspected":
        this.#suspicions.start(u.Id, this.#table.members.get(u.Id)!.inc);
        break;
      case "refreshed":
        this.#suspicions.stop(u.Id);
        break;
      case "refuted":
        // Being suspected while alive usually means this server answers slowly.
        this.#ctx.slower();
        break;
      case "buried":
        // Tombs from a full state are old news to spread; the state itself carries them on.
        if (fromState) return outcome;
        break;
    }
    this.#gossip.spread(this.#table.about(u.Id)!);
    return outcome;
  }
}
