/**
 * The reading end of an output stream (`recv`, `read`: server to client) with acknowledged
 * delivery (SPEC §7.7): bytes are acknowledged once the consumer has handed them on.
 *
 * @module
 */
import { ConnectionError } from "./errors.ts";
import { T } from "./frame.ts";
import type { Ops } from "./ops.ts";
import type { CallOptions, CallPort } from "./call_port.ts";
import { WaitList } from "./wait_list.ts";
import { ACK_EVERY } from "./windows.ts";

/** An open output stream: the bytes, the call's result, and the arrival of the first bytes. */
export interface OutputStream<R> {
  stream: ReadableStream<Uint8Array>;
  /** Settles once the server has committed the end (or the call failed). */
  result: Promise<R>;
  /** Resolves when the first bytes or the end have arrived; rejects if the call fails first. */
  first: Promise<void>;
}

/**
 * Opens an output stream through `port` (see `Connection.openOutput`). With `lazy`, the call
 * starts on the first pull, so a stream nobody reads holds nothing at the server.
 */
export function openOutputStream<K extends "recv" | "read" | "watch" | "tail">(
  port: CallPort,
  op: K,
  args: Ops[K]["args"],
  opts: CallOptions & { lazy?: boolean } = {},
): OutputStream<Ops[K]["result"]> {
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: unknown = null;
  let unacked = 0;
  const wakes = new WaitList<void>();
  let callId = 0;
  let arrived: (() => void) | null = null;
  let failed: ((err: unknown) => void) | null = null;
  const first = new Promise<void>((resolve, reject) => {
    arrived = resolve;
    failed = reject;
  });
  // Only recv() waits for it; a failure nobody waits for is reported through the stream.
  first.catch(() => {});
  const ctl = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, ctl.signal]) : ctl.signal;
  let settle: { resolve: (v: Ops[K]["result"]) => void; reject: (err: unknown) => void };
  const result = new Promise<Ops[K]["result"]>((resolve, reject) => (settle = { resolve, reject }));
  // A failure is also reported through the stream; `result` is for those who wait for it.
  result.catch(() => {});
  let begun = false;
  const begin = () => {
    begun = true;
    port.call<Ops[K]["result"]>(op, args, { signal }, (f) => {
      if (f[0] === T.Data) queue.push(f[2]);
      else if (f[0] === T.End) ended = true;
      arrived?.();
      wakes.resolveAll();
    }, (id) => (callId = id)).then((value) => {
      arrived?.();
      settle.resolve(value);
    }, (err) => {
      failure = err;
      failed?.(err);
      settle.reject(err);
      wakes.resolveAll();
    });
  };
  if (!opts.lazy) begin();
  // The stream pulls only once the consumer has taken everything enqueued before, so what
  // was enqueued is acknowledged on a later pull: the first bytes at once (a channel message
  // then counts as received), later ones in batches of up to ACK_EVERY (each credit frame
  // costs a write here and a read at the server).
  let acked = false;
  const acknowledge = () => {
    if (unacked > 0 && !failure) {
      port.send([T.Credit, callId, unacked]);
      unacked = 0;
      acked = true;
    }
  };
  const stream = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      if (!begun) begin();
      if (!acked) acknowledge();
      while (queue.length === 0 && !ended && !failure) await wakes.wait();
      if (queue.length > 0) {
        // What arrived goes to the consumer at once (one pull per burst, not per chunk), but
        // never more than ACK_EVERY unacknowledged: that bounds what a killed reader's
        // successor sees again. A chunk (at most DATA_CHUNK) always fits after an ack.
        if (unacked + queue[0].length > ACK_EVERY) acknowledge();
        let n = 0;
        while (n < queue.length && (n === 0 || unacked + queue[n].length <= ACK_EVERY)) {
          unacked += queue[n].length;
          controller.enqueue(queue[n++]);
        }
        queue.splice(0, n);
      } else if (ended) {
        // The end is acknowledged and the stream closes at once; `result` settles when the
        // server has committed (the CLI waits for it before exiting, a library loop need not).
        acknowledge();
        port.send([T.End, callId]);
        controller.close();
      } else {
        controller.error(failure);
      }
    },
    cancel: (reason) => {
      ctl.abort(reason ?? new ConnectionError("cancelled"));
    },
  }, { highWaterMark: 0 });
  return { stream, result, first };
}
