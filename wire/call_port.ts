/**
 * The options of one call, and the narrow view of a {@link Connection} that the stream openers
 * (output_stream.ts, input_stream.ts) work through.
 *
 * @module
 */
import type { Frame } from "./frame.ts";

/** Options of one call. */
export interface CallOptions {
  /** Aborting cancels the call like a disconnect. */
  signal?: AbortSignal;
  /** Gives up after this many milliseconds with `timed out after <n>s`. */
  timeoutMs?: number;
}

/** @internal What a stream opener needs from its connection. */
export interface CallPort {
  /**
   * Starts a call whose stream frames go to `onStream`; `onId` learns its ID at once. Settles
   * like `Connection.call`.
   */
  call<R>(
    op: string,
    args: unknown,
    opts: CallOptions,
    onStream: (f: Frame) => void,
    onId: (id: number) => void,
  ): Promise<R>;
  /** Queues a frame. */
  send(frame: Frame): void;
}
