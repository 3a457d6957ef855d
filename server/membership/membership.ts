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
import type { Context, ProbeCounts } from "./context.ts";
import { Gossip } from "./gossip.ts";
import { FailureDetector } from "./probe.ts";
import { AntiEntropy } from "./push_pull.ts";
import { Roster } from "./roster.ts";
import {
  type Clock,
  type MemberCall,
  type MemberLink,
  type MemberTransport,
  type Random,
  systemClock,
} from "./seams.ts";
import { Suspicions } from "./suspicion.ts";
import {
  decodeTags,
  type Entry,
  isUpdate,
  MemberTable,
  type Meta,
  type Outcome,
  type Tomb,
} from "./table.ts";
import { LEAVE_TIMEOUT_MS, MAX_AWARENESS } from "./tuning.ts";

/** Receives changes of the view. */
export interface MembershipEvents {
  joined(id: string, url: string): void;
  left(id: string, url: string): void;
  /** A member became suspect (SPEC §13.1 `watch` shows it). */
  suspected?(id: string, url: string): void;
}

/** How one probe ended (SPEC §13.4 `circuit_swim_probes_total{result}`). */
export type ProbeResult = keyof ProbeCounts;

/** The membership operations, the only ones {@link Membership.serve} takes. */
const _OPS = new Set(["ping", "pingreq", "gossip", "pushpull"]);

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
  /** Members remembered as dead before the start: the simulator starts two halves of a partition this way. */
  buried?: ReadonlyMap<string, Tomb>;
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
  /** Left, or halted by the owner: a plain field, read on every message and timer. */
  #stopped = false;
  /** Pending sleeps, ended at once by {@link #halt}. */
  #sleepers = new Map<unknown, () => void>();
  #awareness = 0;
  #detector: FailureDetector;
  #suspicions: Suspicions;
  #gossip: Gossip;
  #antiEntropy: AntiEntropy;
  /** Probe outcomes so far (SPEC §13.4). */
  readonly probes: ProbeCounts = { ack: 0, indirect_ack: 0, timeout: 0, refused: 0, self_stalled: 0 };
  /**
   * Told of every membership message sent (`out`) or received (`in`); the metrics endpoint sets it
   * to count their bytes. Null otherwise, so the protocol encodes nothing twice.
   */
  meter: ((direction: "in" | "out", message: unknown) => void) | null = null;

  /**
   * Starts a view holding only `self` with its host name and tags (and `options.known`), and the
   * failure detector.
   */
  constructor(
    self: { Id: string; Url: string },
    transport: MemberTransport,
    events: MembershipEvents,
    meta?: Meta,
    options: MembershipOptions = {},
  ) {
    const table = new MemberTable(self.Id, self.Url, meta, options.known);
    const random = options.random ?? Math.random;
    const roster = new Roster(random, (id) => table.members.has(id), table.members.keys());
    for (const [id, t] of options.buried ?? []) if (id !== self.Id) table.tombs.set(id, t);
    this.#table = table;
    transport = this.#meteredTransport(transport);
    this.#transport = transport;
    this.#events = events;
    // deno-lint-ignore no-this-alias -- the context's getters read this membership's fields
    const owner = this;
    this.#ctx = {
      table,
      roster,
      clock: options.clock ?? systemClock,
      random,
      transport,
      probes: this.probes,
      get stopped() {
        return owner.#stopped;
      },
      sleep: (ms) => this.#sleep(ms),
      get awareness() {
        return owner.#awareness;
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
    const t = this.#table;
    const out: Member[] = [{ Id: t.selfId, Url: t.selfUrl, ..._meta(t.selfMeta), State: "alive" }];
    for (const [Id, e] of t.members) out.push({ Id, Url: e.url, ..._meta(e.meta), State: e.state });
    return out.sort((a, b) => (a.Id < b.Id ? -1 : 1));
  }

  /** Members of the view by state, this server included (it is alive to itself). */
  states(): { alive: number; suspect: number } {
    let suspect = 0;
    for (const e of this.#table.members.values()) if (e.state === "suspect") suspect++;
    return { alive: this.#table.members.size + 1 - suspect, suspect };
  }

  /** The local health multiplier (Lifeguard's awareness): 0 when keeping up, up to 8 when slow. */
  get health(): number {
    return this.#awareness;
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
    if (!_OPS.has(call.op)) return false;
    if (this.meter) call = this.#meteredCall(call, this.meter);
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
    if (this.#stopped) return;
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

  /** `transport`, its links metering their calls while {@link meter} is set. */
  #meteredTransport(transport: MemberTransport): MemberTransport {
    return {
      connect: (id, url) => {
        const link = transport.connect(id, url);
        return this.meter ? link.then((l) => this.#meteredLink(l)) : link;
      },
      dial: (url) => {
        const link = transport.dial(url);
        return this.meter ? link.then((l) => this.#meteredLink(l)) : link;
      },
      onClosed: (fn) => transport.onClosed(fn),
    };
  }

  #meteredLink(link: MemberLink): MemberLink {
    const meter = this.meter;
    if (!meter) return link;
    return {
      serverId: link.serverId,
      call: async (op, args, opts) => {
        meter("out", args);
        const r = await link.call(op, args, opts);
        meter("in", r);
        return r;
      },
      close: (reason) => link.close(reason),
    };
  }

  /** `call`, metered: its arguments now, its reply when sent, and calls back over its link. */
  #meteredCall(call: MemberCall, meter: (direction: "in" | "out", message: unknown) => void): MemberCall {
    meter("in", call.args);
    return {
      op: call.op,
      args: call.args,
      connection: this.#meteredLink(call.connection),
      reply: (value) => {
        meter("out", value);
        call.reply(value);
      },
    };
  }

  /** Stops every timer without telling anyone (the owner is going away or the test is over). */
  #halt(): void {
    this.#stopped = true;
    for (const [timer, wake] of this.#sleepers) {
      this.#ctx.clock.cancel(timer);
      wake();
    }
    this.#sleepers.clear();
    this.#suspicions.clear();
    this.#gossip.clear();
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopped) return Promise.resolve();
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
    if (this.#stopped) return "none";
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
        this.#events.suspected?.(u.Id, before);
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

function _meta(m: Meta): { Host: string; Tags: Record<string, string> } {
  return { Host: m.host, Tags: decodeTags(m.tags) };
}
