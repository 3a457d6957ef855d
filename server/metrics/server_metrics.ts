/**
 * The metrics of a circuit server (SPEC §13.4): what is counted where things happen (calls,
 * streams, processes, handshakes, denials, gossip) and what is read from the server's state when
 * scraped (members, health, connections, elements, memory).
 *
 * @module
 */
import type { CallObserver, CallOutcome } from "../../wire/call_observer.ts";
import { encodeShared } from "../../wire/msgpack_encode.ts";
import type { OpName } from "../../wire/ops.ts";
import { VERSION } from "../../wire/version.ts";
import { type Counter, type Histogram, type Labels, Registry } from "./registry.ts";

/** Every operation, so each gets its series up front; `Record` makes the compiler check the list is whole. */
const _OPS: Record<OpName, true> = {
  view: true,
  ps: true,
  watch: true,
  tail: true,
  ls: true,
  peek: true,
  get: true,
  mk: true,
  scrub: true,
  close: true,
  send: true,
  recv: true,
  stdin: true,
  read: true,
  discard: true,
  wait: true,
  signal: true,
  set: true,
  unset: true,
  join: true,
  suicide: true,
  stk: true,
  pushpull: true,
  ping: true,
  pingreq: true,
  gossip: true,
  release: true,
};

/** Op names a peer sends that no server knows are counted under this label, bounding cardinality. */
const _OTHER_OP = "other";

const _OUTCOMES: readonly CallOutcome[] = ["ok", "error", "cancelled"];

/**
 * Buckets of `circuit_call_duration_seconds`, in seconds: a local call takes 50–200 µs, a
 * forwarded one about a millisecond on a LAN, `mk` of a container seconds, and the slow-call
 * timeout is 30 s; blocking calls (`recv`, `wait`, …) that wait longer land in `+Inf`. Roughly
 * ×2.5 steps keep the series few (18 per op) while quantiles stay within a factor of 2.5.
 */
export const CALL_BUCKETS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** Capabilities of the authorization policy (SPEC §10.5): every one has a denial series from the start. */
export const CAPABILITIES = ["read", "proc", "chan", "subscribe", "dns", "docker", "admin"] as const;

/** Element kinds shown even when none exists, so a dashboard sees 0, not a missing series. */
const _KINDS = ["server", "proc", "chan", "dns", "docker", "@join", "@leave"];

/** How a process ended: status 0, another status, or a signal (SPEC §7.2 Phase and Exit). */
export type ExitHow = "exited" | "failed" | "signaled";

/** What the metrics read from the server when scraped. */
export interface MetricSources {
  /** Members of the view by state, this server included. */
  members(): { alive: number; suspect: number };
  /** SWIM probes so far by result. */
  probes(): Readonly<Record<string, number>>;
  /** Local health multiplier (0 = healthy). */
  health(): number;
  /** Open connections: clients, and other servers. */
  connections(): { client: number; peer: number };
  /** Kinds of the elements attached now, one entry per element. */
  elementKinds(): Iterable<string>;
  /** Operations the policy denied, per capability, and peers refused at the handshake. */
  security(): { deniedTotal: ReadonlyMap<string, number>; rejectedPeersTotal: number };
}

interface _OpSeries {
  ok: Counter;
  error: Counter;
  cancelled: Counter;
  duration: Histogram;
}

/**
 * The server's metrics; its {@link CallObserver} side goes to every accepted connection.
 *
 * @example
 * ```ts
 * import { ServerMetrics } from "./server_metrics.ts";
 * const m = new ServerMetrics({
 *   members: () => ({ alive: 1, suspect: 0 }),
 *   probes: () => ({}),
 *   health: () => 0,
 *   connections: () => ({ client: 0, peer: 0 }),
 *   elementKinds: () => ["server"],
 *   security: () => ({ deniedTotal: new Map(), rejectedPeersTotal: 0 }),
 * });
 * m.callEnded("ls", "ok", performance.now());
 * console.log(m.render().includes('circuit_calls_total{op="ls",result="ok"} 1')); // true
 * ```
 */
export class ServerMetrics implements CallObserver {
  #registry = new Registry();
  #byOp = new Map<string, _OpSeries>();
  #streamIn: Counter;
  #streamOut: Counter;
  #started: Counter;
  #exits: Record<ExitHow, Counter>;
  #rejected: Counter;
  #denied = new Map<string, Counter>();
  #gossipIn: Counter;
  #gossipOut: Counter;
  #sources: MetricSources;

  /** Registers every metric; `sources` are read at each scrape. */
  constructor(sources: MetricSources) {
    this.#sources = sources;
    const r = this.#registry;
    r.gauge(
      "circuit_build_info",
      "Build of this server; the value is always 1.",
      () => [[{ version: VERSION }, 1]],
    );
    r.gauge("circuit_members", "Members of this server's view by state, itself included.", () => {
      const m = sources.members();
      return [[{ state: "alive" }, m.alive], [{ state: "suspect" }, m.suspect]];
    });
    r.counterSeries(
      "circuit_swim_probes_total",
      "Failure-detector probes this server made, by result.",
      () => Object.entries(sources.probes()).map(([result, n]) => [{ result }, n] as [Labels, number]),
    );
    r.gauge(
      "circuit_swim_health_score",
      "Local health multiplier (Lifeguard awareness): 0 keeping up, up to 8 when this server is slow.",
      () => [[{}, sources.health()]],
    );
    [this.#gossipIn, this.#gossipOut] = r.counters(
      "circuit_gossip_bytes_total",
      "Bytes of membership messages (ping, pingreq, gossip, push-pull) received and sent, as encoded.",
      [{ direction: "in" }, { direction: "out" }],
    );
    r.gauge("circuit_connections", "Open connections by role of the peer.", () => {
      const c = sources.connections();
      return [[{ role: "client" }, c.client], [{ role: "peer" }, c.peer]];
    });
    const ops = [...Object.keys(_OPS), _OTHER_OP];
    const calls = r.counters(
      "circuit_calls_total",
      "Calls served by this server (its own anchors, forwarded and membership), by operation and result.",
      ops.flatMap((op) => _OUTCOMES.map((result) => ({ op, result }))),
    );
    const durations = r.histograms(
      "circuit_call_duration_seconds",
      "Time from a call's arrival to its end, by operation.",
      ops.map((op) => ({ op })),
      CALL_BUCKETS,
    );
    ops.forEach((op, i) => {
      const [ok, error, cancelled] = calls.slice(i * _OUTCOMES.length, (i + 1) * _OUTCOMES.length);
      this.#byOp.set(op, { ok, error, cancelled, duration: durations[i] });
    });
    r.gauge("circuit_elements", "Elements attached to this server's anchors, by kind.", () => {
      const n = new Map(_KINDS.map((k) => [k, 0]));
      for (const k of sources.elementKinds()) n.set(k, (n.get(k) ?? 0) + 1);
      return [...n].map(([kind, v]) => [{ kind }, v] as [Labels, number]);
    });
    this.#started = r.counter("circuit_processes_started_total", "Processes started (exec errors excluded).");
    const [exited, failed, signaled] = r.counters(
      "circuit_process_exits_total",
      "Processes ended: exited (status 0), failed (another status) or signaled.",
      [{ how: "exited" }, { how: "failed" }, { how: "signaled" }],
    );
    this.#exits = { exited, failed, signaled };
    [this.#streamIn, this.#streamOut] = r.counters(
      "circuit_stream_bytes_total",
      "Bytes of byte streams served here: in (send, stdin) and out (recv, stdout, stderr).",
      [{ direction: "in" }, { direction: "out" }],
    );
    const denied = r.counters(
      "circuit_denied_total",
      "Operations refused by the authorization policy, by capability.",
      CAPABILITIES.map((capability) => ({ capability })),
    );
    CAPABILITIES.forEach((c, i) => this.#denied.set(c, denied[i]));
    this.#rejected = r.counter("circuit_rejected_peers_total", "Connections refused at the handshake.");
    r.gauge(
      "process_resident_memory_bytes",
      "Resident memory size in bytes.",
      () => [[{}, Deno.memoryUsage().rss]],
    );
  }

  /** @internal {@link CallObserver}: one map lookup and a few additions, no allocation. */
  callEnded(op: string, outcome: CallOutcome, startedMs: number): void {
    const s = this.#byOp.get(op) ?? this.#byOp.get(_OTHER_OP)!;
    s[outcome].value++;
    s.duration.observe((performance.now() - startedMs) / 1000);
  }

  /** @internal {@link CallObserver}. */
  streamBytes(direction: "in" | "out", n: number): void {
    (direction === "in" ? this.#streamIn : this.#streamOut).value += n;
  }

  /** A process was started. */
  processStarted(): void {
    this.#started.value++;
  }

  /** A started process ended. */
  processEnded(how: ExitHow): void {
    this.#exits[how].value++;
  }

  /** Counts the encoded size of a membership message (set as `Membership.meter`). */
  gossip(direction: "in" | "out", message: unknown): void {
    (direction === "in" ? this.#gossipIn : this.#gossipOut).value += encodeShared(message).length;
  }

  /** The text of `GET /metrics`. */
  render(): string {
    // The policy keeps these counts itself (server/policy/counters.ts); they are copied at scrape time.
    const security = this.#sources.security();
    for (const [cap, counter] of this.#denied) counter.value = security.deniedTotal.get(cap) ?? 0;
    this.#rejected.value = security.rejectedPeersTotal;
    return this.#registry.render();
  }
}
