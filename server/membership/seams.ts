/**
 * What the membership protocol needs from the world, as small interfaces: a clock with timers,
 * a random source and a transport of calls between servers. The server fills them with the real
 * ones (performance.now and setTimeout, Math.random, the peer connections of server/peers.ts);
 * the simulator (scripts/sim/) fills them with a virtual clock and an in-memory network, so it
 * runs the very code the servers run (SPEC §14).
 *
 * @module
 */

/** An opaque handle of a timer set by a {@link Clock}. */
export type Timer = unknown;

/** Time and timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences mean anything). */
  now(): number;
  /** Calls `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): Timer;
  /** Cancels a timer that may already have fired; `undefined` is ignored. */
  cancel(timer: Timer | undefined): void;
}

/** The clock of a real server. */
export const systemClock: Clock = {
  now: () => performance.now(),
  after: (ms, fn) => setTimeout(fn, ms),
  cancel: (timer) => clearTimeout(timer as number | undefined),
};

/** A uniform random number in [0, 1), like Math.random. */
export type Random = () => number;

/** The membership operations servers call on each other (wire/ops.ts). */
export type MemberOp = "ping" | "pingreq" | "gossip" | "pushpull";

/** A connection to one other server, as membership uses it. */
export interface MemberLink {
  /** The server ID the other side proved in its handshake. */
  readonly serverId: string;
  /**
   * Calls `op` and resolves with the result; rejects on timeout or a broken link. A rejection
   * with the message `connection refused` or `server identity mismatch` proves the member's
   * process is gone (nothing listens at its URL, or another process does).
   */
  call(op: MemberOp, args: unknown, opts: { timeoutMs: number }): Promise<unknown>;
  /** Closes the link (used when a join dialed this very server). */
  close(reason: "connection lost"): void;
}

/** How membership reaches other servers. */
export interface MemberTransport {
  /** The link to server `id` at `url`, reusing a live one. */
  connect(id: string, url: string): Promise<MemberLink>;
  /** A new link to whoever listens at `url` (its ID is not known yet). */
  dial(url: string): Promise<MemberLink>;
  /** Calls `fn` when the link to a server breaks. */
  onClosed(fn: (id: string) => void): void;
}

/** A membership call from another server, to be answered once. */
export interface MemberCall {
  readonly op: string;
  /** As decoded from the wire: untrusted. */
  readonly args: unknown;
  /** Who called, over which link (a stranger is answered with a push-pull over it). */
  readonly connection: MemberLink;
  reply(value: unknown): void;
}
