/**
 * Cluster membership (SPEC §9.1–§9.3): SWIM-style failure detection with memberlist's
 * refinements, over the existing TCP peer connections. Every probe interval a server pings one
 * member (round-robin over a shuffled list); without an ack within the probe timeout it asks k
 * others to ping it; without any ack by the end of the interval the member becomes suspect, and a
 * suspect that does not refute in time is declared dead. Updates travel piggybacked on probes and
 * acks and, as soon as they are news, in gossip messages to a few random members; a periodic
 * push-pull of full states repairs whatever gossip missed. Members declared dead are remembered and
 * retried, so a healed partition merges again with no operator action.
 *
 * @module
 */
import type { Connection, IncomingCall } from "../../wire/connection.ts";
import type { Member, MemberUpdate, Ops } from "../../wire/ops.ts";
import { Broadcasts } from "./broadcasts.ts";
import { decodeTags, isUpdate, MemberTable, type Meta, type Outcome } from "./table.ts";
import type { Peers } from "../peers.ts";

/**
 * One probe per interval (SPEC §9.2 default). With N members each is probed about once per
 * interval by someone, so a hung server is first suspected within ~1 interval on average; shorter
 * would multiply idle traffic for little gain since the suspicion timeout dominates detection.
 */
const _PROBE_INTERVAL_MS = 500;

/**
 * A direct ping gets this long before indirect probes start (SPEC §9.2 default): round trips on a
 * LAN are well under 1 ms, so 250 ms only expires for a hung, partitioned or badly starved peer,
 * and it leaves half the interval for the indirect probes.
 */
const _PROBE_TIMEOUT_MS = 250;

/** Indirect probes per failed ping (SPEC §9.2 k = 3): one slow helper cannot cause a suspicion. */
const _INDIRECT_PROBES = 3;

/**
 * Suspicion lasts this × max(1, log10 N) (SPEC §9.2): long enough for a suspect that is only
 * slow (GC, loaded CPU) to hear of it and refute through gossip, which needs O(log N) hops.
 */
const _SUSPICION_MS = 2_000;

/** Each update is sent 3 × ⌈log2(N+1)⌉ times (SPEC §9.2): enough for epidemic spread to reach all N w.h.p. */
const _RETRANSMIT_MULT = 3;

/** Full-state exchange with one random member this often (SPEC §9.2): repairs missed gossip cheaply. */
const _PUSH_PULL_MS = 10_000;

/**
 * Above this many members the push-pull interval grows with log2 N (memberlist's pushPullScale):
 * a full state grows linearly with N, and idle traffic must stay under 2 KB/s per server.
 */
const _PUSH_PULL_SCALE_THRESHOLD = 32;

/** Members declared dead are retried this often with a push-pull (SPEC §9.2), so partitions heal. */
const _PAST_PEER_RETRY_MS = 10_000;

/** …and remembered this long (SPEC §9.2): a partition longer than a day needs an operator anyway. */
const _PAST_PEER_KEEP_MS = 24 * 60 * 60 * 1_000;

/**
 * New updates are pushed at once to this many random members, then every gossip interval while
 * any are left (memberlist's gossip fan-out): with fan-out 3 news reaches 50 servers in ~4 hops,
 * i.e. milliseconds on a LAN, where piggybacking alone would need several probe intervals.
 */
const _GOSSIP_FANOUT = 3;

/** Pace of gossip rounds while updates remain to be sent (memberlist's default). */
const _GOSSIP_INTERVAL_MS = 200;

/** Updates piggybacked on one probe or ack: keeps probes small (~100 bytes per update). */
const _MAX_PIGGYBACK = 16;

/** Updates in one gossip message: a merge of two clusters can queue one per member. */
const _MAX_GOSSIP = 64;

/**
 * Tombs carried in a push-pull, newest first: enough to tell members buried on one side of a
 * partition that they must refute, without letting a day of churn bloat every exchange.
 */
const _MAX_TOMBS_IN_STATE = 128;

/**
 * A timer that fires this much later than asked means this server's own event loop stalled
 * (loaded CPU, SIGSTOP, GC): the missing ack proves nothing about the peer then (Lifeguard).
 */
const _LAG_TOLERANCE_MS = 100;

/**
 * Ceiling of the local health multiplier (Lifeguard's awareness, memberlist's default): a
 * server that finds itself slow stretches its probe interval and timeout up to 9×.
 */
const _MAX_AWARENESS = 8;

/** A graceful leave tells every member within this time; shutdown must not wait longer (SPEC §9.2: 1 s). */
const _LEAVE_TIMEOUT_MS = 500;

/** Push-pull and gossip calls: generous, they run in the background and carry full states. */
const _EXCHANGE_TIMEOUT_MS = 10_000;

/** At most one push-pull per this interval with a server we count as dead or unknown (SPEC §9.2). */
const _STRANGER_PUSH_PULL_MS = 1_000;

/** How one probe ended (SPEC §13.4 `circuit_swim_probes_total{result}`). */
export type ProbeResult = keyof Membership["probes"];

/** Receives changes of the view. */
export interface MembershipEvents {
  joined(id: string, url: string): void;
  left(id: string, url: string): void;
  /** A member became suspect (SPEC §13.1 `watch` shows it). */
  suspected?(id: string, url: string): void;
}

/**
 * The view of one server and the protocol that keeps it.
 *
 * @example
 * ```ts ignore
 * import { Membership } from "./swim.ts";
 * const m = new Membership({ Id: "X2dfc77bb3455a9e5", Url: myUrl }, peers, events);
 * await m.join(otherUrl);
 * console.log(m.view());
 * await m.leave();
 * ```
 */
export class Membership {
  #table: MemberTable;
  #peers: Peers;
  #events: MembershipEvents;
  #queue = new Broadcasts();
  #suspicions = new Map<string, ReturnType<typeof setTimeout>>();
  #strangers = new Map<string, number>();
  #order: string[] = [];
  #awareness = 0;
  #gossipTimer: ReturnType<typeof setTimeout> | undefined;
  #gossipUrgent = false;
  #timers: ReturnType<typeof setInterval>[] = [];
  #stop = new AbortController();
  /** Probe outcomes so far (SPEC §13.4); plain fields, so counting costs the probe loop nothing. */
  readonly probes = { ack: 0, indirect_ack: 0, timeout: 0, refused: 0, self_stalled: 0 };
  /**
   * Told of every membership message sent (`out`) or received (`in`); the metrics endpoint sets it
   * to count their bytes. Null otherwise, so the protocol encodes nothing twice.
   */
  meter: ((direction: "in" | "out", message: unknown) => void) | null = null;

  /** Starts a singleton view holding only `self` (with its host name and tags), and the failure detector. */
  constructor(self: { Id: string; Url: string }, peers: Peers, events: MembershipEvents, meta?: Meta) {
    this.#table = new MemberTable(self.Id, self.Url, meta);
    this.#peers = peers;
    this.#events = events;
    peers.onClosed((id) => this.#onPeerLost(id));
    this.#pushPullLoop();
    this.#timers.push(setInterval(() => this.#retryPastPeers(), _PAST_PEER_RETRY_MS));
    this.#probeLoop();
  }

  /** The view, sorted by server ID, this server included. */
  view(): Member[] {
    const t = this.#table;
    const out: Member[] = [{ Id: t.selfId, Url: t.selfUrl, ..._meta(t.selfMeta), State: "alive" }];
    for (const [Id, e] of t.members) out.push({ Id, Url: e.url, ..._meta(e.meta), State: e.state });
    return out.sort((a, b) => (a.Id < b.Id ? -1 : 1));
  }

  /** The URL of member `id`, if it is in the view. */
  urlOf(id: string): string | undefined {
    return id === this.#table.selfId ? this.#table.selfUrl : this.#table.members.get(id)?.url;
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

  /** Whether the server at `url` is this one or in the view. */
  knows(url: string): boolean {
    return url === this.#table.selfUrl || [...this.#table.members.values()].some((e) => e.url === url);
  }

  /** Merges with the cluster of the server at `url` (SPEC §9.3). Throws the dial's or call's error. */
  async join(url: string): Promise<void> {
    const conn = await this.#peers.dial(url);
    if (conn.serverId === this.#table.selfId) return conn.close("connection lost");
    await this.#pushPull(conn);
  }

  /** Serves a membership operation from a peer server; false if `call` is not one. */
  serve(call: IncomingCall): boolean {
    const args = call.args as Record<string, unknown>;
    switch (call.op) {
      case "pushpull":
        this.meter?.("in", args);
        this.#learnAll(args.Members, true);
        this.#reply(call, { Members: this.#table.state(_MAX_TOMBS_IN_STATE) });
        return true;
      case "ping":
      case "gossip":
        this.meter?.("in", args);
        this.#heardFrom(call.connection);
        this.#learnAll(args.Updates, false);
        this.#reply(call, { Updates: this.#piggyback() });
        return true;
      case "pingreq":
        this.meter?.("in", args);
        this.#heardFrom(call.connection);
        this.#learnAll(args.Updates, false);
        this.#servePingReq(call, args);
        return true;
    }
    return false;
  }

  #reply(call: IncomingCall, value: unknown): void {
    this.meter?.("out", value);
    call.reply(value);
  }

  /** Makes a membership call on `conn`, metering what goes out and what comes back. */
  async #call<K extends "ping" | "pingreq" | "gossip" | "pushpull">(
    conn: Connection,
    op: K,
    args: Ops[K]["args"],
    timeoutMs: number,
  ): Promise<Ops[K]["result"]> {
    this.meter?.("out", args);
    const r = await conn.call(op, args, { timeoutMs });
    this.meter?.("in", r);
    return r;
  }

  /** Tells every member this server leaves (within 0.5 s), then stops taking part. */
  async leave(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#halt();
    this.#table.selfLeft = true;
    const bye = { Updates: [this.#table.self()] };
    const tell = Promise.allSettled([...this.#table.members].map(async ([id, e]) => {
      const conn = await this.#peers.connect(id, e.url);
      await this.#call(conn, "gossip", bye, _LEAVE_TIMEOUT_MS);
    }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([tell, new Promise((r) => (timer = setTimeout(r, _LEAVE_TIMEOUT_MS)))]);
    clearTimeout(timer);
  }

  /** Stops every timer without telling anyone (the owner is going away or the test is over). */
  #halt(): void {
    this.#stop.abort();
    for (const t of this.#timers) clearInterval(t);
    for (const t of this.#suspicions.values()) clearTimeout(t);
    this.#suspicions.clear();
    clearTimeout(this.#gossipTimer);
    this.#queue.clear();
  }

  // ---- failure detection ----

  async #probeLoop(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      const period = _PROBE_INTERVAL_MS * (this.#awareness + 1);
      const start = performance.now();
      const target = this.#nextTarget();
      if (target) await this.#probe(target, start + period);
      await this.#sleep(start + period - performance.now());
    }
  }

  /** Round-robin over a shuffled list of the members (SPEC §9.2), reshuffled each pass. */
  #nextTarget(): string | undefined {
    while (this.#order.length > 0) {
      const id = this.#order.pop()!;
      if (this.#table.members.has(id)) return id;
    }
    this.#order = _shuffle([...this.#table.members.keys()]);
    return this.#order.pop();
  }

  async #probe(id: string, deadline: number): Promise<void> {
    const entry = this.#table.members.get(id);
    if (!entry) return;
    const { inc, url } = entry;
    let refused = false;
    const direct = this.#ping(id, url, deadline - performance.now()).catch((err) => {
      refused = _isProofOfDeath(err);
      return false;
    });
    const first = await _firstTrue([direct], _PROBE_TIMEOUT_MS * (this.#awareness + 1));
    if (first.ok) return this.#healthier("ack");
    if (refused) return this.#declareDead(id, inc, "refused");
    if (first.lateMs > _LAG_TOLERANCE_MS) return this.#slower("self_stalled");
    const helpers = _shuffle([...this.#table.members.keys()].filter((h) => h !== id)).slice(
      0,
      _INDIRECT_PROBES,
    );
    const indirect = helpers.map((h) => this.#pingReq(h, id, url, deadline - performance.now()));
    const all = await _firstTrue([direct, ...indirect], deadline - performance.now());
    if (all.ok) return this.#healthier("indirect_ack");
    if (refused) return this.#declareDead(id, inc, "refused");
    if (all.lateMs > _LAG_TOLERANCE_MS) return this.#slower("self_stalled");
    if (this.#stop.signal.aborted) return;
    this.probes.timeout++;
    this.#suspect(id, inc);
  }

  /** Pings member `id`; resolves true on its ack. Rejects with the dial's error. */
  async #ping(id: string, url: string, ms: number): Promise<boolean> {
    const conn = await this.#peers.connect(id, url);
    const r = await this.#call(conn, "ping", { Updates: this.#piggyback() }, Math.max(1, ms));
    this.#learnAll(r?.Updates, false);
    return true;
  }

  async #pingReq(helper: string, id: string, url: string, ms: number): Promise<boolean> {
    try {
      const conn = await this.#peers.connect(helper, this.#table.members.get(helper)?.url ?? "");
      const args = { Id: id, Url: url, TimeoutMs: ms, Updates: this.#piggyback() };
      const r = await this.#call(conn, "pingreq", args, Math.max(1, ms));
      this.#learnAll(r?.Updates, false);
      return r?.Ok === true;
    } catch {
      return false;
    }
  }

  async #servePingReq(call: IncomingCall, args: Record<string, unknown>): Promise<void> {
    const { Id, Url, TimeoutMs } = args;
    let ok = false;
    if (typeof Id === "string" && typeof Url === "string" && typeof TimeoutMs === "number") {
      // Never longer than one probe interval: the asker has given up by then.
      const ms = Math.min(TimeoutMs, _PROBE_INTERVAL_MS);
      ok = await _firstTrue([this.#ping(Id, Url, ms).catch(() => false)], ms).then((r) => r.ok);
    }
    this.#reply(call, { Ok: ok, Updates: this.#piggyback() });
  }

  /** An ack arrived: this server is keeping up, relax the local health multiplier. */
  #healthier(probe: ProbeResult): void {
    this.probes[probe]++;
    this.#awareness = Math.max(0, this.#awareness - 1);
  }

  /** This server was too slow to judge others: probe less eagerly for a while. */
  #slower(probe?: ProbeResult): void {
    if (probe) this.probes[probe]++;
    this.#awareness = Math.min(_MAX_AWARENESS, this.#awareness + 1);
  }

  /**
   * A peer connection broke: re-dial and ping the member at once; refused means dead, no ack
   * within a probe interval makes it suspect. A member that answers is not suspected: a closed
   * connection alone proves nothing (the peer may have retired a duplicate, or buried this server
   * while it was paused), and suspecting every member of a woken server at once, each needing a
   * refutation within the suspicion timeout on a loaded machine, is how healthy ones get buried.
   */
  async #onPeerLost(id: string): Promise<void> {
    const entry = this.#table.members.get(id);
    if (!entry || this.#stop.signal.aborted) return;
    const { inc, url } = entry;
    let refused = false;
    // A whole interval, not the probe timeout: the ping needs a fresh dial and handshake first.
    const ms = _PROBE_INTERVAL_MS * (this.#awareness + 1);
    const ping = this.#ping(id, url, ms).catch((err) => {
      refused = _isProofOfDeath(err);
      return false;
    });
    const r = await _firstTrue([ping], ms);
    if (r.ok || this.#stop.signal.aborted) return;
    if (refused) return this.#declareDead(id, inc);
    this.#suspect(id, inc);
  }

  #suspect(id: string, inc: number): void {
    const url = this.#table.members.get(id)?.url;
    if (url === undefined) return;
    const u: MemberUpdate = { Id: id, Url: url, Inc: inc, State: "suspect" };
    if (this.#learn(u, false) === "suspected") {
      // Told directly, a suspect that is merely slow refutes without waiting for gossip to reach it.
      this.#send(id, [u]);
    }
  }

  #declareDead(id: string, inc: number, probe?: ProbeResult): void {
    if (probe) this.probes[probe]++;
    const url = this.#table.members.get(id)?.url;
    if (url !== undefined) this.#learn({ Id: id, Url: url, Inc: inc, State: "dead" }, false);
  }

  /** Declares `id` dead unless it refutes in time; `extended`: its timeout was already restarted once. */
  #startSuspicion(id: string, inc: number, extended = false): void {
    clearTimeout(this.#suspicions.get(id));
    const n = this.#table.members.size + 1;
    const ms = _SUSPICION_MS * Math.max(1, Math.log10(n));
    const due = performance.now() + ms;
    this.#suspicions.set(
      id,
      setTimeout(() => {
        this.#suspicions.delete(id);
        const e = this.#table.members.get(id);
        if (!e || e.state !== "suspect" || e.inc !== inc) return;
        if (!extended && performance.now() - due > _LAG_TOLERANCE_MS) {
          // This server was stalled (SIGSTOP, starved CPU): the refutation may be sitting unread in
          // a socket. Tell the suspect again and give it one more suspicion timeout (Lifeguard);
          // only once, so a server that stays slow still removes a dead member within bounds.
          this.#slower();
          this.#send(id, [{ Id: id, Url: e.url, Inc: inc, State: "suspect" }]);
          return this.#startSuspicion(id, inc, true);
        }
        this.#declareDead(id, inc);
      }, ms),
    );
  }

  // ---- dissemination ----

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
        this.#events.joined(u.Id, u.Url);
        break;
      case "removed":
        clearTimeout(this.#suspicions.get(u.Id));
        this.#suspicions.delete(u.Id);
        this.#events.left(u.Id, before);
        break;
      case "suspected":
        this.#startSuspicion(u.Id, this.#table.members.get(u.Id)!.inc);
        this.#events.suspected?.(u.Id, before);
        break;
      case "refreshed":
        clearTimeout(this.#suspicions.get(u.Id));
        this.#suspicions.delete(u.Id);
        break;
      case "refuted":
        // Being suspected while alive usually means this server answers slowly.
        this.#slower();
        break;
      case "buried":
        // Tombs from a full state are old news to spread; the state itself carries them on.
        if (fromState) return outcome;
        break;
    }
    this.#queue.push(this.#table.about(u.Id)!);
    this.#gossipSoon();
    return outcome;
  }

  #limit(): number {
    return _RETRANSMIT_MULT * Math.ceil(Math.log2(this.#table.members.size + 2));
  }

  #piggyback(): MemberUpdate[] {
    return this.#queue.take(_MAX_PIGGYBACK, this.#limit());
  }

  /** News goes out in the next turn of the event loop, even if a paced round was already due later. */
  #gossipSoon(): void {
    if (this.#gossipUrgent || this.#stop.signal.aborted) return;
    clearTimeout(this.#gossipTimer);
    this.#gossipUrgent = true;
    this.#gossipTimer = setTimeout(() => this.#gossipRound(), 0);
  }

  #gossipRound(): void {
    this.#gossipTimer = undefined;
    this.#gossipUrgent = false;
    const targets = _shuffle([...this.#table.members.keys()]).slice(0, _GOSSIP_FANOUT);
    if (targets.length === 0) {
      // Alone, this server's verdicts reach nobody; kept, they would go out once a partition heals,
      // stale, and bury members that lived on the other side all along. Tombs still travel in
      // push-pull states, where a `dead` only makes a live member suspect, so it can refute.
      this.#queue.clear();
      return;
    }
    for (const id of targets) {
      const updates = this.#queue.take(_MAX_GOSSIP, this.#limit());
      if (updates.length === 0) break;
      this.#send(id, updates);
    }
    if (this.#queue.size > 0) {
      this.#gossipTimer = setTimeout(() => this.#gossipRound(), _GOSSIP_INTERVAL_MS);
    }
  }

  /** Sends `updates` to member `id` in a gossip message; failures are the failure detector's business. */
  async #send(id: string, updates: MemberUpdate[]): Promise<void> {
    const url = this.#table.members.get(id)?.url;
    if (url === undefined) return;
    try {
      const conn = await this.#peers.connect(id, url);
      const r = await this.#call(conn, "gossip", { Updates: updates }, _EXCHANGE_TIMEOUT_MS);
      this.#learnAll(r?.Updates, false);
    } catch {
      // unreachable: probes will tell
    }
  }

  // ---- anti-entropy, strangers and past peers ----

  async #pushPull(conn: Connection): Promise<void> {
    const members = this.#table.state(_MAX_TOMBS_IN_STATE);
    const r = await this.#call(conn, "pushpull", { Members: members }, _EXCHANGE_TIMEOUT_MS);
    this.#learnAll(r?.Members, true);
  }

  async #pushPullLoop(): Promise<void> {
    for (;;) {
      const n = this.#table.members.size + 1;
      const scale = n <= _PUSH_PULL_SCALE_THRESHOLD
        ? 1
        : Math.ceil(Math.log2(n) - Math.log2(_PUSH_PULL_SCALE_THRESHOLD)) + 1;
      await this.#sleep(_PUSH_PULL_MS * scale);
      if (this.#stop.signal.aborted) return;
      this.#pushPullRandom();
    }
  }

  #pushPullRandom(): void {
    const [id] = _shuffle([...this.#table.members.keys()]);
    const url = id && this.#table.members.get(id)?.url;
    if (!url) return;
    this.#peers.connect(id, url).then((c) => this.#pushPull(c)).catch(() => {});
  }

  /** Traffic from a server we count as dead or do not know: merge views with it (SPEC §9.2). */
  #heardFrom(conn: Connection): void {
    const id = conn.serverId;
    if (this.#stop.signal.aborted || id === this.#table.selfId || this.#table.members.has(id)) return;
    if (this.#table.tombs.get(id)?.state === "left") return;
    const now = Date.now();
    if (now - (this.#strangers.get(id) ?? 0) < _STRANGER_PUSH_PULL_MS) return;
    this.#strangers.set(id, now);
    for (const [sid, at] of this.#strangers) {
      if (now - at > _STRANGER_PUSH_PULL_MS) this.#strangers.delete(sid);
    }
    this.#pushPull(conn).catch(() => {});
  }

  /** Push-pull with every member declared dead in the last day; a different process there: forget it. */
  #retryPastPeers(): void {
    this.#table.expire(_PAST_PEER_KEEP_MS);
    for (const tomb of this.#table.tombs.values()) {
      if (tomb.state !== "dead" || !tomb.retry) continue;
      this.#peers.dial(tomb.url).then((c) => this.#pushPull(c)).catch((err) => {
        if (err instanceof Error && err.message === "server identity mismatch") tomb.retry = false;
      });
    }
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const signal = this.#stop.signal;
      signal.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }
}

function _meta(m: Meta): { Host: string; Tags: Record<string, string> } {
  return { Host: m.host, Tags: decodeTags(m.tags) };
}

/** A refused connection or another process at the URL: the member's process is gone. */
function _isProofOfDeath(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : "";
  return msg === "connection refused" || msg === "server identity mismatch";
}

/**
 * Resolves `ok: true` as soon as one promise yields true, else `ok: false` once all yielded
 * false or `ms` passed; `lateMs` is how late that timer fired (0 if it did not decide).
 */
function _firstTrue(promises: Promise<boolean>[], ms: number): Promise<{ ok: boolean; lateMs: number }> {
  return new Promise((resolve) => {
    const due = performance.now() + ms;
    let pending = promises.length;
    const timer = setTimeout(() => resolve({ ok: false, lateMs: performance.now() - due }), Math.max(0, ms));
    for (const p of promises) {
      p.then((ok) => {
        if (ok) {
          clearTimeout(timer);
          resolve({ ok: true, lateMs: 0 });
        } else if (--pending === 0) {
          clearTimeout(timer);
          resolve({ ok: false, lateMs: 0 });
        }
      });
    }
  });
}

function _shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
