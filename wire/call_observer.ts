/**
 * The seam through which a server learns what the calls its peers make do (SPEC §13.4 metrics),
 * without the wire knowing about metrics.
 *
 * @module
 */

/** How an incoming call ended: replied, failed, or cancelled by the caller or a lost connection. */
export type CallOutcome = "ok" | "error" | "cancelled";

/**
 * Learns what the calls a peer makes here do (server metrics, SPEC §13.4). Called synchronously
 * on the hot path: implementations only add to numbers.
 */
export interface CallObserver {
  /** Incoming call `op`, begun at `startedMs` (performance.now()), has ended. */
  callEnded(op: string, outcome: CallOutcome, startedMs: number): void;
  /** An incoming call's byte stream moved `n` bytes in (`send`, `stdin`) or out (`recv`, `read`). */
  streamBytes(direction: "in" | "out", n: number): void;
}
