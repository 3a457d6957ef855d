/**
 * The seams between elements (which own bytes) and the wire (which moves them).
 *
 * Output (process stdout/stderr, container output, a channel message body, a subscription
 * event) is read through an {@link AckedReader}: bytes leave the element only when the
 * consumer acknowledges them, so a consumer that goes away loses nothing (SPEC §7.7).
 * Input (process stdin, a channel message being sent) is written through a {@link ByteSink}
 * whose `write` resolves when the bytes are accepted, which is the back-pressure.
 *
 * @module
 */

/** One consumer's view of an output stream with acknowledged delivery. */
export interface AckedReader {
  /**
   * Resolves with at most `max` bytes that have not been handed out yet, in order, or `null`
   * once the stream has ended and everything was handed out. Waits while nothing is
   * available. Rejects with a `CircuitError` when the source fails (e.g. `channel aborted`,
   * `message truncated: sender disconnected`), and with the signal's reason when aborted. The
   * bytes may be a view of the source's own buffer, which it may reuse once they are
   * acknowledged: a consumer copies them before acknowledging (the wire layer does as it sends).
   */
  read(max: number, signal?: AbortSignal): Promise<Uint8Array | null>;
  /** The consumer has taken `n` more bytes, in order: the source may release them for good. */
  ack(n: number): void;
  /** The consumer has taken the end of the stream. */
  ackEnd(): void;
  /**
   * The consumer went away. Bytes handed out but not acknowledged go back to the front, so
   * the next reader sees them. Idempotent; a no-op after `ackEnd`.
   */
  release(): void;
}

/** A stream that one consumer at a time may read. */
export interface AckedSource {
  /**
   * Opens the single reader. Throws `CircuitError("<name> is being read by another client")`
   * while another reader is open (e.g. `stdout is being read by another client`).
   */
  openReader(): AckedReader;
}

/** The writing end of an input stream. */
export interface ByteSink {
  /** Resolves when the bytes were accepted; rejects with a `CircuitError` (e.g. `broken pipe`, `receiver gone`). */
  write(chunk: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Ends the input (closes a process's stdin, ends a channel message); resolves once done. */
  close(): Promise<void>;
  /**
   * The writer went away without ending the input. For process stdin: bytes already accepted are
   * still delivered and stdin stays open for another writer. For a channel message: the receiver
   * fails with `message truncated: sender disconnected`. Idempotent; a no-op after `close`.
   */
  release(): void;
}
