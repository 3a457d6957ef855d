/**
 * The body of one channel message (or one subscription event): a byte stream from one sender
 * to one receiver at a time, held in memory with acknowledged delivery (SPEC §7.3, §7.7).
 *
 * Until the receiver acknowledges its first byte or the end, the message is not taken: every
 * byte stays in the pipe, so a receiver that goes away hands the whole body to the next one.
 *
 * @module
 */

import { CircuitError } from "../../wire/errors.ts";
import { WaitList } from "../../wire/wait_list.ts";
import type { AckedReader, ByteSink } from "../../wire/streams.ts";

/**
 * How much body may wait for a receiver to read it before the sender's `write` waits: SPEC
 * §7.3's 64 KiB. A remote sender may hold more credit than this (the wire's input window is
 * larger); its data then waits in the wire layer's write chain, within that window.
 *
 * @example
 * ```ts
 * import { BODY_WINDOW } from "./message_pipe.ts";
 * console.log(BODY_WINDOW); // 65536
 * ```
 */
export const BODY_WINDOW = 64 * 1024;

/**
 * What the queue holding a {@linkcode MessagePipe} is told about its life.
 *
 * @example
 * ```ts
 * import { MessagePipe, type MessageOwner } from "./message_pipe.ts";
 * const owner: MessageOwner = { taken: () => console.log("taken"), returned: () => console.log("back") };
 * const reader = new MessagePipe(owner, new Uint8Array([1])).openReader();
 * await reader.read(1);
 * reader.release(); // "back"
 * ```
 */
export interface MessageOwner {
  /** The receiver acknowledged the first byte or the end (or was told of a truncation). */
  taken(pipe: MessagePipe): void;
  /** The receiver went away before taking the message: put it back at the head of the queue. */
  returned(pipe: MessagePipe): void;
  /** Both ends are done with the pipe: the owner may forget it. */
  finished?(pipe: MessagePipe): void;
}

const TRUNCATED = "message truncated: sender disconnected";
const RECEIVER_GONE = "receiver gone";

/** What a pending read is told once something can be said: bytes, the end (null), or a failure. */
type _ReadOutcome = { value: Uint8Array | null } | { error: Error };

/**
 * One message body. The pipe itself is the sender's {@linkcode ByteSink}; receivers read it
 * through {@linkcode MessagePipe.openReader}, one at a time.
 *
 * One `write` and one `read` may be pending at a time (the wire layer serialises each end).
 * A write is accepted whole, once fewer than {@linkcode BODY_WINDOW} bytes would then be
 * waiting to be read (or none are waiting, so an oversized chunk cannot wait forever).
 *
 * @example
 * ```ts
 * import { MessagePipe } from "./message_pipe.ts";
 * const pipe = new MessagePipe({ taken() {}, returned() {} });
 * await pipe.write(new TextEncoder().encode("hello"));
 * await pipe.close();
 * const reader = pipe.openReader();
 * const chunk = await reader.read(1024);
 * reader.ack(chunk!.length); // the message is now taken
 * console.log(new TextDecoder().decode(chunk!), await reader.read(1024)); // "hello" null
 * reader.ackEnd();
 * ```
 */
export class MessagePipe implements ByteSink {
  #owner: MessageOwner;
  // Unacknowledged bytes; the first chunk starts at #ackOff. #readIdx/#readOff is the first
  // byte not handed out yet.
  #chunks: Uint8Array[] = [];
  #ackOff = 0;
  #readIdx = 0;
  #readOff = 0;
  #unread = 0;
  #handedOut = 0;
  #ended = false;
  #truncated = false;
  #endHandedOut = false;
  #taken = false;
  #receiverDone = false;
  #gone = false;
  #failure: Error | null = null;
  #reader: _PipeReader | null = null;
  // At most one of each is pending: the wire layer serialises each end. A read waits with the
  // most it may take, a write with its chunk.
  #reads = new WaitList<Uint8Array | null, number>();
  #writes = new WaitList<void, Uint8Array>();

  /**
   * Creates an empty, open body; with `body`, a body already written and ended (an event).
   *
   * @example
   * ```ts
   * import { MessagePipe } from "./message_pipe.ts";
   * const event = new MessagePipe({ taken() {}, returned() {} }, new TextEncoder().encode("/X1"));
   * console.log(await event.openReader().read(10)); // Uint8Array(3) [ 47, 88, 49 ]
   * ```
   */
  constructor(owner: MessageOwner, body?: Uint8Array) {
    this.#owner = owner;
    if (body) {
      if (body.length > 0) this.#chunks.push(body);
      this.#unread = body.length;
      this.#ended = true;
    }
  }

  /**
   * Appends `chunk` to the body (copied: the caller may reuse its buffer). Waits while the
   * receiver is more than {@linkcode BODY_WINDOW} behind. Rejects with `receiver gone` once a
   * receiver took the message and went away, with the abort cause after {@linkcode abort}, and
   * with the signal's reason (nothing written) if `signal` aborts first.
   */
  write(chunk: Uint8Array, signal?: AbortSignal): Promise<void> {
    const refused = this.#writeRefusal();
    if (refused) return Promise.reject(refused);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (chunk.length === 0) return Promise.resolve();
    if (this.#fits(chunk.length)) {
      this.#append(chunk);
      return Promise.resolve();
    }
    return this.#writes.wait(signal, chunk);
  }

  /** Ends the message. Rejects like {@linkcode MessagePipe.write} when the body cannot be delivered. */
  close(): Promise<void> {
    const refused = this.#writeRefusal();
    if (refused) return Promise.reject(refused);
    this.#ended = true;
    this.#wakeReader();
    this.#checkFinished();
    return Promise.resolve();
  }

  /**
   * The sender went away before ending the message: the receiver gets the bytes written so far,
   * then `message truncated: sender disconnected`. Idempotent; a no-op after `close`.
   */
  release(): void {
    if (this.#ended || this.#truncated) return;
    this.#truncated = true;
    this.#writes.rejectAll(new CircuitError(TRUNCATED));
    this.#wakeReader();
    this.#checkFinished();
  }

  /**
   * Opens the reader of the current receiver. Only one reader may be open; after it is
   * released without taking the message, the next one sees the whole body again.
   */
  openReader(): AckedReader {
    if (this.#reader) throw new Error("message pipe already has a reader");
    const reader = new _PipeReader(this);
    this.#reader = reader;
    return reader;
  }

  /** Fails every pending and future operation on both ends with `cause` and drops the body. */
  abort(cause: Error): void {
    if (this.#failure) return;
    this.#failure = cause;
    this.#chunks = [];
    this.#unread = 0;
    this.#handedOut = 0;
    this.#writes.rejectAll(cause);
    this.#reads.rejectAll(cause);
  }

  /** @internal Called by {@linkcode _PipeReader}. */
  _read(reader: _PipeReader, max: number, signal: AbortSignal | undefined): Promise<Uint8Array | null> {
    if (this.#reader !== reader) return Promise.reject(new Error("message reader was released"));
    if (this.#reads.size > 0) return Promise.reject(new Error("message reader already has a pending read"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.#readOutcome(max);
    if (now) return "error" in now ? Promise.reject(now.error) : Promise.resolve(now.value);
    return this.#reads.wait(signal, max);
  }

  /** @internal Called by {@linkcode _PipeReader}. */
  _ack(reader: _PipeReader, n: number): void {
    if (this.#reader !== reader || n <= 0 || this.#failure) return;
    if (n > this.#handedOut) {
      throw new RangeError(`ack of ${n} bytes exceeds the ${this.#handedOut} handed out`);
    }
    this.#handedOut -= n;
    while (n > 0) {
      const avail = this.#chunks[0].length - this.#ackOff;
      if (n < avail) {
        this.#ackOff += n;
        break;
      }
      n -= avail;
      this.#chunks.shift();
      this.#readIdx--;
      this.#ackOff = 0;
    }
    this.#markTaken();
  }

  /** @internal Called by {@linkcode _PipeReader}. */
  _ackEnd(reader: _PipeReader): void {
    if (this.#reader !== reader || this.#failure) return;
    if (!this.#endHandedOut) throw new Error("ackEnd before the end was read");
    this.#markTaken();
    this.#receiverDone = true;
    this.#chunks = [];
    this.#checkFinished();
  }

  /** @internal Called by {@linkcode _PipeReader}. */
  _release(reader: _PipeReader): void {
    if (this.#reader !== reader) return;
    this.#reader = null;
    this.#reads.rejectAll(new Error("message reader was released"));
    if (this.#failure || this.#receiverDone) return;
    if (!this.#taken) {
      // Nothing was acknowledged, so every byte is still held (#ackOff is 0): rewind.
      this.#readIdx = 0;
      this.#readOff = 0;
      this.#unread += this.#handedOut;
      this.#handedOut = 0;
      this.#endHandedOut = false;
      this.#owner.returned(this);
      return;
    }
    this.#gone = this.#receiverDone = true;
    this.#chunks = [];
    this.#unread = this.#handedOut = 0;
    this.#writes.rejectAll(new CircuitError(RECEIVER_GONE));
    this.#checkFinished();
  }

  #writeRefusal(): Error | null {
    if (this.#failure) return this.#failure;
    if (this.#gone) return new CircuitError(RECEIVER_GONE);
    if (this.#ended || this.#truncated) return new Error("message already ended");
    return null;
  }

  #fits(n: number): boolean {
    return this.#unread === 0 || this.#unread + n <= BODY_WINDOW;
  }

  #append(chunk: Uint8Array): void {
    this.#chunks.push(chunk.slice());
    this.#unread += chunk.length;
    this.#wakeReader();
  }

  #wakeReader(): void {
    const max = this.#reads.first;
    if (max === undefined) return;
    const outcome = this.#readOutcome(max);
    if (!outcome) return;
    const wait = this.#reads.shift()!;
    if ("error" in outcome) wait.reject(outcome.error);
    else wait.resolve(outcome.value);
  }

  /** What a read of at most `max` bytes gets now (taking it), or null if it must wait. */
  #readOutcome(max: number): _ReadOutcome | null {
    if (this.#failure) return { error: this.#failure };
    if (this.#unread > 0) return { value: this.#takeUnread(max) };
    if (this.#ended) {
      this.#endHandedOut = true;
      return { value: null };
    }
    if (this.#truncated) {
      // The truncation is this message's end: once told, the receiver has taken the message,
      // otherwise it would return to the queue and fail every later receiver too.
      this.#markTaken();
      return { error: new CircuitError(TRUNCATED) };
    }
    return null;
  }

  #takeUnread(max: number): Uint8Array {
    const chunk = this.#chunks[this.#readIdx];
    const start = this.#readOff;
    const n = Math.min(Math.max(max, 1), chunk.length - start);
    const out = chunk.subarray(start, start + n);
    if (start + n === chunk.length) {
      this.#readIdx++;
      this.#readOff = 0;
    } else {
      this.#readOff = start + n;
    }
    this.#unread -= n;
    this.#handedOut += n;
    const waiting = this.#writes.first;
    if (waiting && this.#fits(waiting.length)) {
      const w = this.#writes.shift()!;
      this.#append(waiting);
      w.resolve();
    }
    return out;
  }

  #markTaken(): void {
    if (this.#taken) return;
    this.#taken = true;
    this.#owner.taken(this);
  }

  #checkFinished(): void {
    if (this.#receiverDone && (this.#ended || this.#truncated)) this.#owner.finished?.(this);
  }
}

/** One receiver's view of a {@linkcode MessagePipe}; dead once released. */
class _PipeReader implements AckedReader {
  #pipe: MessagePipe;

  constructor(pipe: MessagePipe) {
    this.#pipe = pipe;
  }

  read(max: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    return this.#pipe._read(this, max, signal);
  }

  ack(n: number): void {
    this.#pipe._ack(this, n);
  }

  ackEnd(): void {
    this.#pipe._ackEnd(this);
  }

  release(): void {
    this.#pipe._release(this);
  }
}
