/**
 * A multiplexed connection: concurrent calls over one framed transport, in both directions, with
 * keep-alive; the byte streams of calls are in output_stream.ts and input_stream.ts (client
 * side) and incoming_call.ts (serving side), their sizes in windows.ts (docs/PROTOCOL.md).
 *
 * @module
 */
import { CircuitError, ConnectionError } from "./errors.ts";
import { decodeFrame, encodeBodyShared, encodeDataHead, ErrorKind, type Frame, T } from "./frame.ts";
import type { OpName, Ops } from "./ops.ts";
import type { FrameTransport } from "./transport.ts";
import { after } from "./deadlines.ts";
import { keepAlive } from "./keep_alive.ts";
import type { RawCall, RawCallHandlers, StreamFrameType } from "./raw_call.ts";
import { ANONYMOUS, type Identity } from "./identity.ts";
import type { CallObserver, CallOutcome } from "./call_observer.ts";
import type { CallOptions, CallPort } from "./call_port.ts";
import { IncomingCall } from "./incoming_call.ts";
import { type InputStream, openInputStream } from "./input_stream.ts";
import { openOutputStream, type OutputStream } from "./output_stream.ts";

export type { CallOptions } from "./call_port.ts";
export { IncomingCall } from "./incoming_call.ts";

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
  /** Told of every incoming call's end and stream bytes; absent, calls are not timed at all. */
  observer?: CallObserver;
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
  /** @internal Read by the calls this connection serves. */
  readonly _observer: CallObserver | null;
  /**
   * @internal When the current batch of frames was read (performance.now()), observed
   * connections only: the arrival time of every call in it, one clock read per batch, not per call.
   */
  _batchMs = 0;
  #lastRx = Date.now();
  #lastTx = Date.now();
  #stopPinger: () => void = () => {};
  #isClosed = false;
  #resolveClosed!: () => void;
  #closeReason = "connection lost";
  #port: CallPort = {
    call: (op, args, opts, onStream, onId) => this.#callWith(op, args, opts, onStream, onId),
    send: (frame) => this._send(frame),
  };

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
    this._observer = init.observer ?? null;
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    let welcomeSettled = !init.welcome;
    this.welcomed.then(() => (welcomeSettled = true), () => (welcomeSettled = true));
    // A write failing while the welcome is still to come (the dial deadline closed the socket,
    // and a keep-alive ping noticed first) is the handshake's failure, which the read loop
    // reports once the welcome settles (SPEC §4.5: `timed out after 5s`, not `connection lost`).
    transport.onWriteError = () => {
      if (welcomeSettled) this.close("connection lost");
      else this.welcomed.then(() => this.close("connection lost"), () => {});
    };
  }

  /** Starts the read loop and keep-alive. */
  start(): void {
    this.#stopPinger = keepAlive({
      lastReceived: () => this.#lastRx,
      lastSent: () => this.#lastTx,
      ping: () => this._send([T.Ping]),
      dead: () => this.close("connection lost"),
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
        if (this._observer) this._batchMs = performance.now();
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
  _endIncoming(id: number, outcome: CallOutcome): void {
    const call = this.#in.get(id);
    if (call && this.#in.delete(id)) {
      this.#limiter?.release(call.op);
      this._observer?.callEnded(call.op, outcome, call._startedMs);
    }
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
    onStream: (f: Frame) => void,
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
          onStream,
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
   * pulls a later one, or when the stream ends, so a consumer should finish with a chunk (e.g.
   * write it out) before pulling again; at most 64 KiB handed on stay unacknowledged (SPEC
   * §7.7). Cancelling the stream cancels the call; the server keeps whatever was not
   * acknowledged. The stream closes as soon as its end is acknowledged; `result` settles once
   * the server has committed it. `first` resolves when the first bytes or the end have arrived
   * (nothing is consumed), or rejects if the call fails first.
   */
  openOutput<K extends "recv" | "read" | "watch" | "tail">(
    op: K,
    args: Ops[K]["args"],
    opts: CallOptions & { lazy?: boolean } = {},
  ): OutputStream<Ops[K]["result"]> {
    return openOutputStream(this.#port, op, args, opts);
  }

  /**
   * Opens an input stream (`send`, `stdin`). Resolves once the server admits the stream (its
   * first credit). Closing the writable ends the input; aborting it cancels the call.
   */
  openInput<K extends "send" | "stdin">(
    op: K,
    args: Ops[K]["args"],
    opts: CallOptions = {},
  ): Promise<InputStream> {
    return openInputStream(this.#port, op, args, opts);
  }

  /** Starts a call whose stream frames the caller moves itself (forwarding). */
  startRaw(op: string, args: unknown, h: RawCallHandlers): RawCall {
    const id = this.#begin(op, args, {
      onStream: (f) => h.onStream(f[0] as StreamFrameType, f[2] as Uint8Array | number | undefined),
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
