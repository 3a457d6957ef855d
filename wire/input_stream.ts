/**
 * The writing end of an input stream (`send`, `stdin`: client to server), sending within the
 * credit the server grants (SPEC §7.7, §11.4).
 *
 * @module
 */
import { ConnectionError } from "./errors.ts";
import { T } from "./frame.ts";
import type { Ops } from "./ops.ts";
import type { CallOptions, CallPort } from "./call_port.ts";
import { WaitList } from "./wait_list.ts";
import { DATA_CHUNK } from "./windows.ts";

/** An admitted input stream: where to write, and the call's result. */
export interface InputStream {
  writable: WritableStream<Uint8Array>;
  result: Promise<null>;
}

/** Opens an input stream through `port` (see `Connection.openInput`). */
export function openInputStream<K extends "send" | "stdin">(
  port: CallPort,
  op: K,
  args: Ops[K]["args"],
  opts: CallOptions = {},
): Promise<InputStream> {
  let credit = 0;
  const wakes = new WaitList<void>();
  let callId = 0;
  let failure: unknown = null;
  const ctl = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, ctl.signal]) : ctl.signal;
  return new Promise((resolveAdmission, rejectAdmission) => {
    let admitted = false;
    const result = port.call<null>(op, args, { signal }, (f) => {
      if (f[0] !== T.Credit) return;
      credit += f[2];
      wakes.resolveAll();
      if (!admitted) {
        admitted = true;
        resolveAdmission({ writable, result });
      }
    }, (id) => (callId = id));
    result.catch((err) => {
      failure = err;
      wakes.resolveAll();
      if (!admitted) rejectAdmission(err);
    });
    const writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        let off = 0;
        while (off < chunk.length) {
          while (credit === 0 && !failure) await wakes.wait();
          if (failure) throw failure;
          const n = Math.min(credit, DATA_CHUNK, chunk.length - off);
          port.send([T.Data, callId, chunk.subarray(off, off + n)]);
          credit -= n;
          off += n;
        }
      },
      close: async () => {
        if (failure) throw failure;
        port.send([T.End, callId]);
        await result;
      },
      abort: (reason) => {
        ctl.abort(reason ?? new ConnectionError("cancelled"));
      },
    }, { highWaterMark: 1 });
  });
}
