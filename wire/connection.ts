/**
 * A multiplexed connection: concurrent calls and byte streams over one framed transport,
 * each stream with credit-based flow control and acknowledged delivery (docs/PROTOCOL.md).
 *
 * @module
 */
import { CircuitError, ConnectionError } from "./errors.ts";
import { decodeFrame, encodeBodyShared, encodeDataHead, ErrorKind, type Frame, T } from "./frame.ts";
import type { OpName, Ops } from "./ops.ts";
import type { FrameTransport } from "./transport.ts";
import { after, every } from "./deadlines.ts";
import { ANONYMOUS, type Identity } from "./identity.ts";

/**
 * Bytes a stream's producer may send before the consumer acknowledges any (SPEC §11.4:
 * about 64 KiB). Larger windows raise throughput per round trip but hold more memory per stream.
 */
export const STREAM_WINDOW = 256 * 1024;

/**
 * The window of output streams (`recv`, `read`: server to client). Larger than
 * {@link STREAM_WINDOW} because it costs the server nothing (the bytes are buffered anyway) and
 * keeps a stream moving while records are sealed and opened on a keyed connection; the client
 * holds at most this much unread per stream.
 */
export const OUTPUT_WINDOW = 1024 * 1024;

/**
 * A consumer of an output stream acknowledges in batches of this much (its first bytes at once):
 * a quarter of {@link OUTPUT_WINDOW}, so the producer always has credit while acks are on their way.
 */
const _CREDIT_BATCH = OUTPUT_WINDOW / 4;

/** Largest payload of one data frame: several frames fill a window, so acks flow while data does. */
export const DATA_CHUNK = 64 * 1024;

/** An idle connection is pinged this often (SPEC §11.9). */
const _PING_INTERVAL_MS = 5_000;

/** Timer jitter allowance, so a connection idle for "almost" an interval is still pinged. */
const _PING_SLACK_MS = 250;

/** A connection with no frame at all for this long is dead (three missed pings). */
const _IDLE_LIMIT_MS = 15_000;

/** Options of one call. */
export interface CallOptions {
  /** Aborting cancels the call like a disconnect. */
  signal?: AbortSignal;
  /** Gives up after this many milliseconds with `timed out after <n>s`. */
  timeoutMs?: number;
}

/** Handlers of a raw outgoing call (used by forwarding servers). */
export interface RawCallHandlers {
  onStream(
    type: typeof T.Data | typeof T.Credit | typeof T.End,
    payload: Uint8Array | number | undefined,
  ): void;
  onResult(value: unknown): void;
  onError(kind: number, message: string): void;
}

/** A raw outgoing call: the caller moves stream frames itself. */
export interface RawCall {
  sendStream(type: typeof T.Data | typeof T.Credit | typeof T.End, payload?: Uint8Array | number): void;
  cancel(): void;
}

interface _Outgoing {
  onStream(f: Frame): void;
  onResult(value: unknown): void;
  onError(kind: number, message: string): void;
}

/** Options of a new connection. */
export interface ConnectionInit {
  /** The dialing side numbers its calls with even IDs, the accepting side with odd ones. */
  dialer: boolean;
  /** The peer's server ID (for a client: the dialed server's), unless `welcome` brings it. */
  serverId?: string;
  /** The peer's circuit URL, or "" for a client peer, unless `welcome` brings it. */
  url?: string;
  /**
   * A dialer that sent its hello and did not wait for the answer: the answer (which carries the
   * server's ID and URL), read before any frame. Calls made meanwhile travel right behind the
   * hello; if the answer is a refusal the connection closes with its cause.
   */
  welcome?: Promise<{ serverId: string; url: string }>;
  /** Serves calls the peer makes; absent on clients, which serve nothing. */
  onCall?: (call: IncomingCall) => void;
  /**
   * Bounds the calls the peer may have pending here: `admit` returns null to take a call, or the
   * text it fails with; `release` is called once an admitted call has ended.
   */
  limiter?: { admit(op: string): string | null; release(op: string): void };
  /** The peer's verified identity (accepting side); anonymous when nothing was verified. */
  identity?: Identity;
}

/**
 * One multiplexed connection.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./dial.ts";
 * const conn = await connect("circuit://127.0.0.1:4000/812/Q0de74570a61e9688");
 * console.log(await conn.call("view", {}));
 * conn.close();
 * ```
 */
export class Connection {
  /** Settles when the connection has ended, for whatever reason. */
  readonly closed: Promise<void>;
  /**
   * Resolves once the handshake is complete (at once unless the connection was made with a
   * `welcome` still to come); rejects with the handshake's failure, which also closes it.
   */
  readonly welcomed: Promise<void>;
  /** The peer's verified identity (SPEC §10.5); anonymous on the dialing side and without a key. */
  readonly identity: Identity;
  #serverId: string;
  #url: string;
  #t: FrameTransport;
  #nextId: number;
  #out = new Map<number, _Outgoing>();
  #in = new Map<number, IncomingCall>();
  #onCall?: (call: IncomingCall) => void;
  #limiter?: ConnectionInit["limiter"];
  #lastRx = Date.now();
  #lastTx = Date.now();
  #stopPinger: () => void = () => {};
  #isClosed = false;
  #resolveClosed!: () => void;
  #closeReason = "connection lost";

  /** Wraps a transport whose handshake is done, or whose `welcome` is to come; call `start()` to begin reading. */
  constructor(transport: FrameTransport, init: ConnectionInit) {
    this.#t = transport;
    this.identity = init.identity ?? ANONYMOUS;
    this.#serverId = init.serverId ?? "";
    this.#url = init.url ?? "";
    this.welcomed = init.welcome
      ? init.welcome.then((info) => {
        this.#serverId = info.serverId;
        this.#url = info.url;
      })
      : Promise.resolve();
    // Whoever waits for it sees the failure; the read loop turns it into the close reason.
    this.welcomed.catch(() => {});
    this.#nextId = init.dialer ? 2 : 1;
    this.#onCall = init.onCall;
    this.#limiter = init.limiter;
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    transport.onWriteError = () => this.close("connection lost");
  }

  /** Starts the read loop and keep-alive. */
  start(): void {
    this.#stopPinger = every(_PING_INTERVAL_MS, () => {
      const now = Date.now();
      if (now - this.#lastRx > _IDLE_LIMIT_MS) this.close("connection lost");
      // Only an idle connection needs a ping: any frame proves this side alive to the peer.
      else if (now - this.#lastTx >= _PING_INTERVAL_MS - _PING_SLACK_MS) this._send([T.Ping]);
    });
    this.#readLoop();
  }

  /** The peer's server ID ("" for a client peer, and until a dialer is welcomed). */
  get serverId(): string {
    return this.#serverId;
  }

  /** The peer's circuit URL ("" for a client peer, and until a dialer is welcomed). */
  get url(): string {
    return this.#url;
  }

  /** Whether the connection has ended. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Number of calls in flight in both directions (for diagnostics). */
  get pendingCalls(): { outgoing: number; incoming: number } {
    return { outgoing: this.#out.size, incoming: this.#in.size };
  }

  async #readLoop(): Promise<void> {
    try {
      await this.welcomed;
    } catch (err) {
      return this.close(err instanceof Error ? err.message : String(err));
    }
    try {
      while (!this.#isClosed) {
        // Every frame of one read is dispatched in one go, so the replies they cause leave in
        // one write.
        const bodies = await this.#t.readBatch();
        if (bodies === null) break;
        this.#lastRx = Date.now();
        for (const body of bodies) {
          if (this.#isClosed) break;
          this.#dispatch(decodeFrame(body));
        }
      }
    } catch {
      // A malformed, oversized or unauthenticated frame, or a read error: the connection is over.
    }
    this.close("connection lost");
  }

  #dispatch(f: Frame): void {
    switch (f[0]) {
      case T.Call: {
        const [, id, op, args] = f;
        if (!this.#onCall || this.#mine(id) || this.#in.has(id)) throw new Error("unexpected call");
        const refused = this.#limiter?.admit(op);
        if (refused) return this._send([T.Error, id, ErrorKind.App, refused]);
        const call = new IncomingCall(this, id, op, args);
        this.#in.set(id, call);
        this.#onCall(call);
        return;
      }
      case T.Result: {
        const o = this.#out.get(f[1]);
        if (o) {
          this.#out.delete(f[1]);
          o.onResult(f[2]);
        }
        return;
      }
      case T.Error: {
        const o = this.#out.get(f[1]);
        if (o) {
          this.#out.delete(f[1]);
          o.onError(f[2], f[3]);
        }
        return;
      }
      case T.Cancel:
        this.#in.get(f[1])?._abort(new ConnectionError("cancelled"));
        return;
      case T.Data:
      case T.Credit:
      case T.End:
        if (this.#mine(f[1])) this.#out.get(f[1])?.onStream(f);
        else this.#in.get(f[1])?._onStream(f);
        return;
      case T.Ping:
        this._send([T.Pong]);
        return;
      case T.Pong:
        return;
    }
  }

  #mine(id: number): boolean {
    return (id % 2 === 0) === (this.#nextId % 2 === 0);
  }

  /** @internal Queues a frame. */
  _send(frame: Frame): void {
    if (this.#isClosed) return;
    this.#lastTx = Date.now();
    if (frame[0] === T.Data) this.#t.sendParts(encodeDataHead(frame[1], frame[2].length), frame[2]);
    else this.#t.send(encodeBodyShared(frame));
  }

  /** @internal Forgets an incoming call once it has ended. */
  _endIncoming(id: number): void {
    const call = this.#in.get(id);
    if (call && this.#in.delete(id)) this.#limiter?.release(call.op);
  }

  #begin(op: string, args: unknown, o: _Outgoing): number {
    if (this.#isClosed) throw new ConnectionError(this.#closeReason);
    const id = this.#nextId;
    this.#nextId += 2;
    this.#out.set(id, o);
    this._send([T.Call, id, op, args]);
    return id;
  }

  #cancel(id: number): void {
    if (this.#out.delete(id)) this._send([T.Cancel, id]);
  }

  /**
   * Makes one request/response call. Rejects with `CircuitError` (the server's cause text) or
   * `ConnectionError` (connection lost, timed out, cancelled).
   */
  call<K extends OpName>(op: K, args: Ops[K]["args"], opts: CallOptions = {}): Promise<Ops[K]["result"]> {
    return this.#callWith(op, args, opts, () => {});
  }

  #callWith<R>(
    op: string,
    args: unknown,
    opts: CallOptions,
    onStream: (f: Frame, id: number) => void,
    onId?: (id: number) => void,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const { signal, timeoutMs } = opts;
      if (signal?.aborted) return reject(signal.reason);
      let cancelTimer: (() => void) | undefined;
      const cleanup = () => {
        cancelTimer?.();
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        cleanup();
        this.#cancel(id);
        reject(signal!.reason);
      };
      let id = 0;
      try {
        id = this.#begin(op, args, {
          onStream: (f) => onStream(f, id),
          onResult: (v) => {
            cleanup();
            resolve(v as R);
          },
          onError: (kind, message) => {
            cleanup();
            reject(kind === ErrorKind.App ? new CircuitError(message) : new ConnectionError(message));
          },
        });
      } catch (err) {
        return reject(err);
      }
      onId?.(id);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        cancelTimer = after(timeoutMs, () => {
          cleanup();
          this.#cancel(id);
          reject(new ConnectionError(`timed out after ${Math.round(timeoutMs / 1000)}s`));
        });
      }
    });
  }

  /**
   * Opens an output stream (`recv`, `read`). Each chunk is acknowledged when the consumer
   * pulls the next one, or when the stream ends, so a consumer should finish with a chunk
   * (e.g. write it out) before pulling again. Cancelling the stream cancels the call; the
   * server keeps whatever was not acknowledged. The stream closes as soon as its end is
   * acknowledged; `result` settles once the server has committed it. `first` resolves when the
   * first bytes or the end have arrived (nothing is consumed), or rejects if the call fails first.
   */
  openOutput<K extends "recv" | "read" | "watch" | "tail">(
    op: K,
    args: Ops[K]["args"],
    opts: CallOptions & { lazy?: boolean } = {},
  ): { stream: ReadableStream<Uint8Array>; result: Promise<Ops[K]["result"]>; first: Promise<void> } {
    const queue: Uint8Array[] = [];
    let ended = false;
    let failure: unknown = null;
    let unacked = 0;
    let wake: (() => void) | null = null;
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
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    let settle: { resolve: (v: Ops[K]["result"]) => void; reject: (err: unknown) => void };
    const result = new Promise<Ops[K]["result"]>((resolve, reject) => (settle = { resolve, reject }));
    // A failure is also reported through the stream; `result` is for those who wait for it.
    result.catch(() => {});
    let begun = false;
    const begin = () => {
      begun = true;
      this.#callWith<Ops[K]["result"]>(op, args, { signal }, (f) => {
        if (f[0] === T.Data) queue.push(f[2]);
        else if (f[0] === T.End) ended = true;
        arrived?.();
        notify();
      }, (id) => (callId = id)).then((value) => {
        arrived?.();
        settle.resolve(value);
      }, (err) => {
        failure = err;
        failed?.(err);
        settle.reject(err);
        notify();
      });
    };
    // Lazy: the server-side read opens on the first pull, so a stream nobody reads holds nothing.
    if (!opts.lazy) begin();
    // The stream pulls only once the consumer has taken everything enqueued before, so what
    // was enqueued is acknowledged on the next pull: the first bytes at once (a channel message
    // then counts as received), later ones in batches (each credit frame costs a write here and
    // a read at the server).
    let acked = false;
    const acknowledge = (atLeast: number) => {
      if (unacked >= atLeast && !failure) {
        this._send([T.Credit, callId, unacked]);
        unacked = 0;
        acked = true;
      }
    };
    const stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (!begun) begin();
        acknowledge(acked ? _CREDIT_BATCH : 1);
        while (queue.length === 0 && !ended && !failure) await new Promise<void>((r) => (wake = r));
        if (queue.length > 0) {
          // Everything that arrived goes to the consumer at once: one pull per burst, not per chunk.
          for (const chunk of queue) {
            unacked += chunk.length;
            controller.enqueue(chunk);
          }
          queue.length = 0;
        } else if (ended) {
          // The end is acknowledged and the stream closes at once; `result` settles when the
          // server has committed (the CLI waits for it before exiting, a library loop need not).
          acknowledge(1);
          this._send([T.End, callId]);
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

  /**
   * Opens an input stream (`send`, `stdin`). Resolves once the server admits the stream (its
   * first credit). Closing the writable ends the input; aborting it cancels the call.
   */
  openInput<K extends "send" | "stdin">(
    op: K,
    args: Ops[K]["args"],
    opts: CallOptions = {},
  ): Promise<{ writable: WritableStream<Uint8Array>; result: Promise<null> }> {
    let credit = 0;
    let wake: (() => void) | null = null;
    let callId = 0;
    let failure: unknown = null;
    const ctl = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, ctl.signal]) : ctl.signal;
    return new Promise((resolveAdmission, rejectAdmission) => {
      let admitted = false;
      const result = this.#callWith<null>(op, args, { signal }, (f) => {
        if (f[0] !== T.Credit) return;
        credit += f[2];
        const w = wake;
        wake = null;
        w?.();
        if (!admitted) {
          admitted = true;
          resolveAdmission({ writable, result });
        }
      }, (id) => (callId = id));
      result.catch((err) => {
        failure = err;
        const w = wake;
        wake = null;
        w?.();
        if (!admitted) rejectAdmission(err);
      });
      const writable = new WritableStream<Uint8Array>({
        write: async (chunk) => {
          let off = 0;
          while (off < chunk.length) {
            while (credit === 0 && !failure) await new Promise<void>((r) => (wake = r));
            if (failure) throw failure;
            const n = Math.min(credit, DATA_CHUNK, chunk.length - off);
            this._send([T.Data, callId, chunk.subarray(off, off + n)]);
            credit -= n;
            off += n;
          }
        },
        close: async () => {
          if (failure) throw failure;
          this._send([T.End, callId]);
          await result;
        },
        abort: (reason) => {
          ctl.abort(reason ?? new ConnectionError("cancelled"));
        },
      }, { highWaterMark: 1 });
    });
  }

  /** Starts a call whose stream frames the caller moves itself (forwarding). */
  startRaw(op: string, args: unknown, h: RawCallHandlers): RawCall {
    const id = this.#begin(op, args, {
      onStream: (f) => h.onStream(f[0] as typeof T.Data, f[2] as Uint8Array | number | undefined),
      onResult: h.onResult,
      onError: h.onError,
    });
    return {
      sendStream: (type, payload) => {
        if (!this.#out.has(id)) return;
        this._send((type === T.End ? [type, id] : [type, id, payload]) as Frame);
      },
      cancel: () => this.#cancel(id),
    };
  }

  /** Ends the connection: pending outgoing calls fail with `reason`, incoming ones are cancelled. */
  close(reason = "connection lost"): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#closeReason = reason;
    this.#stopPinger();
    this.#t.close();
    const out = [...this.#out.values()];
    this.#out.clear();
    for (const o of out) o.onError(ErrorKind.System, reason);
    const inc = [...this.#in.values()];
    this.#in.clear();
    for (const c of inc) c._abort(new ConnectionError(reason));
    this.#resolveClosed();
  }
}

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

  /** @internal */
  constructor(conn: Connection, id: number, op: string, args: unknown) {
    this.#conn = conn;
    this.#id = id;
    this.op = op;
    this.args = args;
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
    this.#conn._endIncoming(this.#id);
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
    if (this.#finish()) this.#conn._send([T.Result, this.#id, value ?? null]);
  }

  /**
   * Ends the call with an error. `CircuitError`s travel as application errors with their
   * message, `ConnectionError`s as system errors; anything else is reported by message only.
   */
  fail(err: unknown): void {
    if (!this.#finish()) return;
    const kind = err instanceof ConnectionError ? ErrorKind.System : ErrorKind.App;
    const message = err instanceof Error ? err.message : String(err);
    this.#conn._send([T.Error, this.#id, kind, message]);
  }

  /** Ends the call with an error of the given kind (forwarding). */
  failRaw(kind: number, message: string): void {
    if (this.#finish()) this.#conn._send([T.Error, this.#id, kind, message]);
  }

  #finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#conn._endIncoming(this.#id);
    return true;
  }

  /**
   * Serves an output stream: sends bytes within the consumer's credit and acknowledges them to
   * `reader` as credit comes back. Resolves once the consumer acknowledged the end; rejects
   * (after `reader.release()`) when the call is cancelled or the reader fails.
   */
  serveOutput(reader: {
    read(max: number, signal?: AbortSignal): Promise<Uint8Array | null>;
    ack(n: number): void;
    ackEnd(): void;
    release(): void;
  }): Promise<void> {
    const signal = this.signal;
    return new Promise<void>((resolve, reject) => {
      let credit = OUTPUT_WINDOW;
      let wake: (() => void) | null = null;
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
        const w = wake;
        wake = null;
        w?.();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#onStream = (f) => {
        if (f[0] === T.Credit) {
          reader.ack(f[2]);
          credit += f[2];
          const w = wake;
          wake = null;
          w?.();
        } else if (f[0] === T.End) {
          reader.ackEnd();
          finish();
        }
      };
      (async () => {
        try {
          while (!finished) {
            while (credit <= 0 && !finished) await new Promise<void>((r) => (wake = r));
            if (finished) return;
            const chunk = await reader.read(Math.min(credit, DATA_CHUNK), signal);
            if (finished) return;
            if (chunk === null) {
              this.sendStream(T.End);
              return;
            }
            credit -= chunk.length;
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
  acceptInput(sink: {
    write(chunk: Uint8Array, signal?: AbortSignal): Promise<void>;
    close(): Promise<void>;
    release(): void;
  }): Promise<void> {
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
