/**
 * Per-connection limits that keep one bad or greedy peer from hurting the others (SPEC §11):
 * how long a handshake may take, how many calls and streams one connection may hold open at the
 * server, and the errors that say which limit was hit. The frame size (wire/frame.ts), the
 * unsent output per connection (wire/transport.ts) and the unread output per stream
 * (server/elements/output_buffer.ts) are bounded where they are enforced; docs/DECISIONS.md lists them all.
 *
 * @module
 */

/**
 * A peer must finish its handshake within this time (SPEC §10.1); a peer that stalls is dropped,
 * so a silent socket holds a slot for at most this long.
 */
export const HANDSHAKE_TIMEOUT_MS = 5_000;

/**
 * Calls one connection may have pending at the server at once. Far above what a real client
 * needs (the benchmarks keep 64 in flight), low enough that a flood of calls that never end
 * (e.g. `recv` on empty channels) holds at most a few MiB of call state per connection.
 */
export const MAX_PENDING_CALLS = 4096;

/**
 * Byte streams (`send`, `stdin`, `recv`, `read`) one connection may have open at once. Each may
 * hold one flow-control window (256 KiB) of data in flight at the server, so this bounds a
 * connection's stream buffers at 64 MiB.
 */
export const MAX_OPEN_STREAMS = 256;

/** The operations that open a byte stream alongside their call. */
const _STREAM_OPS: ReadonlySet<string> = new Set(["send", "stdin", "recv", "read", "watch", "tail"]);

/**
 * Counts the calls and streams one connection has open at the server and refuses those over
 * {@linkcode MAX_PENDING_CALLS} or {@linkcode MAX_OPEN_STREAMS}. The refused call fails with the
 * returned text; the connection and its other calls go on.
 *
 * @example
 * ```ts
 * import { CallLimiter } from "./limits.ts";
 * const limiter = new CallLimiter(1, 1);
 * console.log(limiter.admit("recv")); // null: admitted
 * console.log(limiter.admit("peek")); // "too many pending calls on this connection (limit 1)"
 * limiter.release("recv");
 * console.log(limiter.admit("peek")); // null
 * ```
 */
export class CallLimiter {
  #maxCalls: number;
  #maxStreams: number;
  #calls = 0;
  #streams = 0;

  /** Uses the given bounds; the defaults are the server's. */
  constructor(maxCalls: number = MAX_PENDING_CALLS, maxStreams: number = MAX_OPEN_STREAMS) {
    this.#maxCalls = maxCalls;
    this.#maxStreams = maxStreams;
  }

  /** Counts a new call of `op` and returns null, or returns why it is refused (and counts nothing). */
  admit(op: string): string | null {
    if (this.#calls >= this.#maxCalls) {
      return `too many pending calls on this connection (limit ${this.#maxCalls})`;
    }
    if (_STREAM_OPS.has(op)) {
      if (this.#streams >= this.#maxStreams) {
        return `too many open streams on this connection (limit ${this.#maxStreams})`;
      }
      this.#streams++;
    }
    this.#calls++;
    return null;
  }

  /** Uncounts an admitted call of `op` once it has ended. */
  release(op: string): void {
    this.#calls--;
    if (_STREAM_OPS.has(op)) this.#streams--;
  }
}
