/**
 * A call the peer made on a {@link Connection}: its handler ends it once, and may serve an
 * output stream or accept an input stream first (docs/PROTOCOL.md).
 *
 * @module
 */
import { CircuitError, ConnectionError } from "./errors.ts";
import { ErrorKind, type Frame, T } from "./frame.ts";
import type { CallOutcome } from "./call_observer.ts";
import type { Connection } from "./connection.ts";
import type { AckedReader, ByteSink } from "./streams.ts";
import { WaitList } from "./wait_list.ts";
import { DATA_CHUNK, OUTPUT_WINDOW, STREAM_WINDOW } from "./windows.ts";

/**
 * A call the peer made to us. The handler ends it exactly once with `reply` or `fail`; stream
 * operations use `serveOutput` / `acceptInput` before replying.
 */
export class IncomingCall {
  /** Operation name. */
  readonly op: string;
  /** Operation arguments, as decoded (untrusted). */
  readonly args: unknown;
  #conn: Connection;
  #id: number;
  // Created on first use: most calls never look at their signal, and an AbortController per
  // call is a measurable share of a small call's cost.
  #ctl: AbortController | null = null;
  #abortReason: unknown = undefined;
  #done = false;
  #onStream: (f: Frame) => void = () => {};
  /** @internal When the call arrived (performance.now()), 0 on a connection nobody observes. */
  readonly _startedMs: number;

  /** @internal */
  constructor(conn: Connection, id: number, op: string, args: unknown) {
    this.#conn = conn;
    this.#id = id;
    this.op = op;
    this.args = args;
    this._startedMs = conn._batchMs;
  }

  /** Aborted when the caller cancels or the connection ends. */
  get signal(): AbortSignal {
    if (!this.#ctl) {
      this.#ctl = new AbortController();
      if (this.#abortReason !== undefined) this.#ctl.abort(this.#abortReason);
    }
    return this.#ctl.signal;
  }

  /** The connection the call came in on. */
  get connection(): Connection {
    return this.#conn;
  }

  /** @internal */
  _abort(reason: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#conn._endIncoming(this.#id, "cancelled");
    this.#abortReason = reason ?? new Error("aborted");
    this.#ctl?.abort(this.#abortReason);
  }

  /** @internal */
  _onStream(f: Frame): void {
    this.#onStream(f);
  }

  /** Sets the receiver of this call's stream frames (forwarding). */
  set onStream(fn: (f: Frame) => void) {
    this.#onStream = fn;
  }

  /** Sends one stream frame of this call (forwarding). */
  sendStream(type: typeof T.Data | typeof T.Credit | typeof T.End, payload?: Uint8Array | number): void {
    if (this.#done) return;
    this.#conn._send((type === T.End ? [type, this.#id] : [type, this.#id, payload]) as Frame);
  }

  /** Ends the call successfully. */
  reply(value: unknown): void {
    if (this.#finish("ok")) this.#conn._send([T.Result, this.#id, value ?? null]);
  }

  /**
   * Ends the call with an error. `CircuitError`s travel as application errors with their
   * message, `ConnectionError`s as system errors; anything else is reported by message only.
   */
  fail(err: unknown): void {
    if (!this.#finish("error")) return;
    const kind = err instanceof ConnectionError ? ErrorKind.System : ErrorKind.App;
    const message = err instanceof Error ? err.message : String(err);
    this.#conn._send([T.Error, this.#id, kind, message]);
  }

  /** Ends the call with an error of the given kind (forwarding). */
  failRaw(kind: number, message: string): void {
    if (this.#finish("error")) this.#conn._send([T.Error, this.#id, kind, message]);
  }

  #finish(outcome: CallOutcome): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#conn._endIncoming(this.#id, outcome);
    return true;
  }

  /**
   * Serves an output stream: sends bytes within the consumer's credit and acknowledges them to
   * `reader` as credit comes back. Resolves once the consumer acknowledged the end; rejects
   * (after `reader.release()`) when the call is cancelled or the reader fails.
   */
  serveOutput(reader: AckedReader): Promise<void> {
    const signal = this.signal;
    return new Promise<void>((resolve, reject) => {
      let credit = OUTPUT_WINDOW;
      const wakes = new WaitList<void>();
      let finished = false;
      const finish = (err?: unknown) => {
        if (finished) return;
        finished = true;
        signal.removeEventListener("abort", onAbort);
        if (err === undefined) resolve();
        else {
          reader.release();
          reject(err);
        }
      };
      const onAbort = () => {
        finish(signal.reason);
        wakes.resolveAll();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#onStream = (f) => {
        if (f[0] === T.Credit) {
          reader.ack(f[2]);
          credit += f[2];
          wakes.resolveAll();
        } else if (f[0] === T.End) {
          reader.ackEnd();
          finish();
        }
      };
      (async () => {
        try {
          while (!finished) {
            while (credit <= 0 && !finished) await wakes.wait();
            if (finished) return;
            const chunk = await reader.read(Math.min(credit, DATA_CHUNK), signal);
            if (finished) return;
            if (chunk === null) {
              this.sendStream(T.End);
              return;
            }
            credit -= chunk.length;
            this.#conn._observer?.streamBytes("out", chunk.length);
            this.sendStream(T.Data, chunk);
          }
        } catch (err) {
          finish(err);
        }
      })();
      if (signal.aborted) onAbort();
    });
  }

  /**
   * Accepts an input stream into `sink`: grants credit, writes each data frame in order, and
   * returns credit as writes complete. Resolves after the end arrived and `sink.close()` is
   * done; rejects (after `sink.release()`) when cancelled, or with the sink's error.
   */
  acceptInput(sink: ByteSink): Promise<void> {
    const signal = this.signal;
    return new Promise<void>((resolve, reject) => {
      let chain = Promise.resolve();
      let finished = false;
      let granted = STREAM_WINDOW;
      let ended = false;
      let failed = false;
      const finish = (err?: unknown) => {
        if (finished) return;
        finished = true;
        signal.removeEventListener("abort", onAbort);
        if (err === undefined) return resolve();
        // Bytes that already arrived are still delivered (SPEC §5 stdin: a writer killed
        // midway loses nothing it sent); then the sink is released for the next writer.
        chain.then(() => sink.release(), () => sink.release());
        reject(err);
      };
      const onAbort = () => finish(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#onStream = (f) => {
        if (finished) return;
        if (f[0] === T.Data) {
          const bytes = f[2];
          granted -= bytes.length;
          this.#conn._observer?.streamBytes("in", bytes.length);
          if (granted < 0) return finish(new CircuitError("stream credit exceeded"));
          chain = chain.then(async () => {
            if (failed) return;
            await sink.write(bytes);
            granted += bytes.length;
            // After the end, the result says everything was taken: no credit needed.
            if (!ended) this.sendStream(T.Credit, bytes.length);
          });
          chain = chain.catch((err) => {
            failed = true;
            finish(err);
          });
        } else if (f[0] === T.End) {
          ended = true;
          chain = chain.then(async () => {
            if (finished) return;
            await sink.close();
            finish();
          }).catch((err) => {
            failed = true;
            finish(err);
          });
        }
      };
      if (signal.aborted) return onAbort();
      this.sendStream(T.Credit, STREAM_WINDOW);
    });
  }
}
