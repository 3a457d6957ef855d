/**
 * The simulator's in-memory network and processes. Each simulated server is a {@link Proc}: the
 * real Membership of server/membership/ with a clock and a transport from here. Calls are
 * delivered after a sampled latency, or lost; faults are set per link or per process.
 *
 * Loss models: `tcp` (what circuit servers use: a lost segment is retransmitted after the
 * retransmission timeout, 200 ms on Linux and doubling, so loss shows as delay) and `datagram`
 * (a lost message is gone, as for memberlist's UDP probes: the harsher model).
 *
 * @module
 */
import type {
  Clock,
  MemberCall,
  MemberLink,
  MemberOp,
  MemberTransport,
} from "../../server/membership/seams.ts";
import type { Membership } from "../../server/membership/membership.ts";
import type { Engine, Event } from "./engine.ts";

/** Linux's minimum TCP retransmission timeout: what one lost segment costs on a LAN. */
const TCP_MIN_RTO_MS = 200;

/** Retransmissions before a TCP connection gives up (Linux tcp_retries2 is 15; 6 already means 25 s). */
const TCP_MAX_RETRIES = 6;

/**
 * Bytes a message costs beyond its msgpack arguments: 4-byte length prefix, the frame array
 * (type, call ID, op name) and the 16-byte AEAD tag of a keyed cluster (docs/PROTOCOL.md).
 */
const FRAME_OVERHEAD_BYTES = 40;

/** Largest frame the wire accepts (SPEC §11: 1 MiB); a bigger full state would not get through. */
export const MAX_FRAME_BYTES = 1 << 20;

/** One simulated server process. */
export class Proc {
  readonly id: string;
  readonly url: string;
  membership!: Membership;
  /** False once crashed: its timers never fire again and nothing reaches it. */
  up = true;
  /** SIGSTOP: timers and messages wait in {@link held} until resumed. */
  paused = false;
  /** A slow member: each of its timers fires up to this much late. */
  slowMs = 0;
  readonly held: (() => void)[] = [];
  /** Messages and bytes this process sent. */
  sent = { messages: 0, bytes: 0 };
  /** Its clock, made once (every message it receives needs it). */
  clock: Clock | undefined;

  constructor(id: string, url: string) {
    this.id = id;
    this.url = url;
  }

  /** Runs `fn` as this process: dropped if it crashed, held while it is paused. */
  run(fn: () => void): void {
    if (!this.up) return;
    if (this.paused) this.held.push(fn);
    else fn();
  }

  /** SIGCONT: everything that came due while paused runs now, late. */
  resume(): void {
    this.paused = false;
    for (const fn of this.held.splice(0)) this.run(fn);
  }
}

/** Network-wide settings the scenarios change. */
export interface NetworkFaults {
  /** Share of packets lost on every link. */
  loss: number;
  /** Loss of single directed links `from>to`, overriding {@link loss} (asymmetric loss). */
  linkLoss: Map<string, number>;
  /** Partition: processes in different groups cannot reach each other (no group: group 0). */
  group: Map<string, number>;
  model: "tcp" | "datagram";
  /** One-way latency in ms, sampled per message. */
  latency: (random: () => number) => number;
}

/** The network of one simulated cluster. */
export class Network {
  readonly engine: Engine;
  readonly random: () => number;
  readonly procs = new Map<string, Proc>();
  readonly faults: NetworkFaults = {
    loss: 0,
    linkLoss: new Map(),
    group: new Map(),
    model: "tcp",
    // A LAN: 0.1 ms plus an exponential tail with mean 0.2 ms.
    latency: (r) => 0.1 - 0.2 * Math.log(1 - r()),
  };
  /** Messages larger than a frame may be (they are still delivered, and counted here). */
  oversized = 0;
  #byUrl = new Map<string, string>();

  constructor(engine: Engine, random: () => number) {
    this.engine = engine;
    this.random = random;
  }

  /** Registers `proc` as the process now listening at its URL. */
  attach(proc: Proc): void {
    this.procs.set(proc.id, proc);
    this.#byUrl.set(proc.url, proc.id);
  }

  /** The clock `proc`'s membership sees. */
  clockFor(proc: Proc): Clock {
    const engine = this.engine;
    const random = this.random;
    return proc.clock ??= {
      now: () => engine.now,
      after: (ms, fn) =>
        engine.after(ms + (proc.slowMs > 0 ? random() * proc.slowMs : 0), () => proc.run(fn)),
      cancel: (t) => engine.cancel(t as Event | undefined),
    };
  }

  /** The transport `proc`'s membership sees. */
  transportFor(proc: Proc): MemberTransport {
    const clock = this.clockFor(proc);
    return {
      connect: (id) => Promise.resolve(new SimLink(this, proc, id, clock)),
      dial: (url) => {
        const id = this.#byUrl.get(url);
        const target = id && this.procs.get(id);
        if (!target || !target.up || !this.#reachable(proc.id, target.id)) {
          // A dial to a silent host fails once the connect attempt times out.
          return new Promise((_, reject) =>
            clock.after(3_000, () => reject(new Error("connection timed out")))
          );
        }
        return Promise.resolve(new SimLink(this, proc, target.id, clock));
      },
      // Links here never break: a crashed peer is silent, as a powered-off host is.
      onClosed: () => {},
    };
  }

  /** A call from `from` to `to`: one request, one reply, or a timeout on `from`'s clock. */
  call(
    from: Proc,
    to: string,
    clock: Clock,
    op: MemberOp,
    args: unknown,
    timeoutMs: number,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const pending = new PendingCall(resolve, reject, clock);
      pending.timer = clock.after(timeoutMs, () => pending.fail());
      this.#send(from, to, args, () => {
        const target = this.procs.get(to);
        if (!target) return;
        target.membership.serve(new SimCall(this, op, args, target, from, pending));
      });
    });
  }

  /** Sends `value` from `target` back to `caller`, settling `pending` when it arrives. */
  reply(target: Proc, caller: Proc, value: unknown, pending: PendingCall): void {
    this.#send(target, caller, value, () => pending.settle(value));
  }

  /**
   * Sends one message: counted at the sender, then delivered late, or lost. A request goes to
   * whoever listens at the ID when it arrives; a reply (`to` a Proc) only to the process that asked.
   */
  #send(from: Proc, dest: string | Proc, body: unknown, deliver: () => void): void {
    const to = typeof dest === "string" ? dest : dest.id;
    if (!from.up) return;
    const bytes = FRAME_OVERHEAD_BYTES + msgpackSize(body);
    if (bytes > MAX_FRAME_BYTES) this.oversized++;
    from.sent.messages++;
    from.sent.bytes += bytes;
    if (!this.#reachable(from.id, to)) return;
    const { linkLoss } = this.faults;
    const p = (linkLoss.size > 0 ? linkLoss.get(`${from.id}>${to}`) : undefined) ?? this.faults.loss;
    let delay = this.faults.latency(this.random);
    if (p > 0) {
      let rto = TCP_MIN_RTO_MS;
      for (let tries = 0; this.random() < p; tries++) {
        if (this.faults.model === "datagram" || tries === TCP_MAX_RETRIES) return;
        delay += rto;
        rto *= 2;
      }
    }
    // A target paused or crashed by the time the message arrives holds or drops it (Proc.run).
    this.engine.after(delay, () => (typeof dest === "string" ? this.procs.get(to) : dest)?.run(deliver));
  }

  #reachable(a: string, b: string): boolean {
    const group = this.faults.group;
    return group.size === 0 || (group.get(a) ?? 0) === (group.get(b) ?? 0);
  }
}

/**
 * The size of `v` encoded as msgpack (strings as UTF-8 of ASCII, numbers as integers or doubles).
 * Walks objects with `for…in`, allocating nothing: it runs for every simulated message.
 */
export function msgpackSize(v: unknown): number {
  switch (typeof v) {
    case "string":
      return stringSize(v);
    case "number": {
      if (!Number.isInteger(v)) return 9;
      const a = Math.abs(v);
      return a < 128 ? 1 : a < 256 ? 2 : a < 65536 ? 3 : a < 2 ** 32 ? 5 : 9;
    }
    case "object": {
      if (v === null) return 1;
      if (Array.isArray(v)) {
        let n = v.length < 16 ? 1 : 3;
        for (let i = 0; i < v.length; i++) n += msgpackSize(v[i]);
        return n;
      }
      const o = v as Record<string, unknown>;
      let n = 0, keys = 0;
      for (const k in o) {
        keys++;
        n += stringSize(k) + msgpackSize(o[k]);
      }
      return n + (keys < 16 ? 1 : 3);
    }
    default:
      return 1;
  }
}

function stringSize(s: string): number {
  return s.length + (s.length < 32 ? 1 : s.length < 256 ? 2 : 3);
}

/** One end of a simulated peer connection: calls from `from` to `to`. */
class SimLink implements MemberLink {
  readonly serverId: string;
  readonly #net: Network;
  readonly #from: Proc;
  readonly #clock: Clock;

  constructor(net: Network, from: Proc, to: string, clock: Clock) {
    this.#net = net;
    this.#from = from;
    this.serverId = to;
    this.#clock = clock;
  }

  call(op: MemberOp, args: unknown, opts: { timeoutMs: number }): Promise<unknown> {
    return this.#net.call(this.#from, this.serverId, this.#clock, op, args, opts.timeoutMs);
  }

  close(): void {}
}

/** A call waiting for its reply or its timeout, whichever comes first. */
class PendingCall {
  done = false;
  timer: unknown;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (err: Error) => void;
  readonly #clock: Clock;

  constructor(resolve: (value: unknown) => void, reject: (err: Error) => void, clock: Clock) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#clock = clock;
  }

  settle(value: unknown): void {
    if (this.done) return;
    this.done = true;
    this.#clock.cancel(this.timer);
    this.#resolve(value);
  }

  fail(): void {
    if (this.done) return;
    this.done = true;
    this.#reject(new Error("call timed out"));
  }
}

/** A call as the callee's membership sees it. */
class SimCall implements MemberCall {
  readonly op: MemberOp;
  readonly args: unknown;
  readonly #net: Network;
  readonly #target: Proc;
  readonly #caller: Proc;
  readonly #pending: PendingCall;
  #link: SimLink | undefined;

  constructor(net: Network, op: MemberOp, args: unknown, target: Proc, caller: Proc, pending: PendingCall) {
    this.#net = net;
    this.op = op;
    this.args = args;
    this.#target = target;
    this.#caller = caller;
    this.#pending = pending;
  }

  /** The link back to the caller (made when asked: most calls never use it). */
  get connection(): MemberLink {
    return this.#link ??= new SimLink(
      this.#net,
      this.#target,
      this.#caller.id,
      this.#net.clockFor(this.#target),
    );
  }

  reply(value: unknown): void {
    this.#net.reply(this.#target, this.#caller, value, this.#pending);
  }
}
