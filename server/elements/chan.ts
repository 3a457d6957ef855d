/**
 * The channel element (SPEC §7.3): a FIFO of messages, each a byte stream from one sender to
 * one receiver, with capacity `Cap` (0 = rendezvous).
 *
 * @module
 */

import { CircuitError } from "../../wire/errors.ts";
import { WaitList } from "../../wire/wait_list.ts";
import { type MessageOwner, MessagePipe } from "./message_pipe.ts";
import type { AckedReader, ByteSink } from "../../wire/streams.ts";
import type { Element } from "./element.ts";

/**
 * What `peek` prints for a channel, keys in the spec's order.
 *
 * @example
 * ```ts
 * import { ChanElement, type ChanState } from "./chan.ts";
 * const state: ChanState = new ChanElement(1).peek();
 * console.log(state.Cap); // 1
 * ```
 */
export interface ChanState {
  Cap: number;
  Closed: boolean;
  Aborted: boolean;
  NumSend: number;
  NumRecv: number;
}

/**
 * A channel. Everything is in memory; the wire layer maps `send`/`recv` onto streams.
 *
 * A message is queued from admission until a receiver gets its reader, then in transfer until
 * the receiver takes it (acknowledges its first byte or end); a receiver that goes away before
 * that puts it back at the head. Whoever is handed a reader or sink owns it and must end it with
 * `release()` (or `ackEnd()` / `close()`), also when its own operation was cancelled meanwhile.
 *
 * @example
 * ```ts
 * import { ChanElement } from "./chan.ts";
 * const chan = new ChanElement(3);
 * const sink = await chan.send();
 * await sink.write(new TextEncoder().encode("hello\n"));
 * await sink.close();
 * const reader = await chan.recv();
 * const body = await reader.read(65536);
 * reader.ack(body!.length);
 * console.log(await reader.read(65536)); // null
 * reader.ackEnd();
 * console.log(chan.peek()); // { Cap: 3, Closed: false, Aborted: false, NumSend: 1, NumRecv: 1 }
 * ```
 */
export class ChanElement implements Element {
  /** Always `"chan"`. */
  readonly kind = "chan" as const;
  #cap: number;
  #closed = false;
  #aborted = false;
  #numSend = 0;
  #numRecv = 0;
  #queue: MessagePipe[] = [];
  // Messages handed to a receiver that has not taken them yet: they may come back.
  #inTransfer = 0;
  // Every message whose body may still be written or read, so an abort can fail them.
  #live = new Set<MessagePipe>();
  #senders = new WaitList<ByteSink>();
  #receivers = new WaitList<AckedReader>();
  #owner: MessageOwner;

  /**
   * Creates an open, empty channel holding up to `cap` queued messages.
   *
   * @example
   * ```ts
   * import { ChanElement } from "./chan.ts";
   * console.log(new ChanElement(0).cap); // 0
   * ```
   */
  constructor(cap: number) {
    this.#cap = cap;
    // One owner per channel (not per message) keeps the per-message cost to the pipe itself.
    this.#owner = {
      taken: () => this.#onTaken(),
      returned: (pipe) => this.#onReturned(pipe),
      finished: (pipe) => this.#live.delete(pipe),
    };
  }

  /**
   * The capacity given at creation.
   *
   * @example
   * ```ts
   * import { ChanElement } from "./chan.ts";
   * console.log(new ChanElement(5).cap); // 5
   * ```
   */
  get cap(): number {
    return this.#cap;
  }

  /**
   * Waits until the channel admits a message, then resolves with the sink of its body.
   * Rejects with `channel closed` if closed, `channel aborted` if scrubbed (also while waiting),
   * and with the signal's reason, leaving no trace, if `signal` aborts before admission.
   *
   * @example
   * ```ts
   * import { ChanElement } from "./chan.ts";
   * const chan = new ChanElement(1);
   * const sink = await chan.send();
   * await sink.close(); // an empty message
   * console.log(chan.peek().NumSend); // 1
   * ```
   */
  send(signal?: AbortSignal): Promise<ByteSink> {
    if (this.#aborted) return Promise.reject(new CircuitError("channel aborted"));
    if (this.#closed) return Promise.reject(new CircuitError("channel closed"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#senders.size === 0 && this.#hasRoom()) return Promise.resolve(this.#admit());
    return this.#senders.wait(signal);
  }

  /**
   * Waits for the head message and resolves with a reader of its body. Rejects with
   * `channel closed` once closed and drained, `channel aborted` if scrubbed, and with the
   * signal's reason, taking nothing, if `signal` aborts first.
   *
   * @example
   * ```ts
   * import { ChanElement } from "./chan.ts";
   * const chan = new ChanElement(0);
   * const received = chan.recv(); // a rendezvous sender is admitted once a receiver waits
   * const sink = await chan.send();
   * await sink.close();
   * const reader = await received;
   * console.log(await reader.read(10)); // null
   * reader.ackEnd();
   * ```
   */
  recv(signal?: AbortSignal): Promise<AckedReader> {
    if (this.#aborted) return Promise.reject(new CircuitError("channel aborted"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length > 0) {
      const pipe = this.#queue.shift()!;
      this.#admitWaiting();
      return Promise.resolve(this.#handOut(pipe));
    }
    if (this.#drained()) return Promise.reject(new CircuitError("channel closed"));
    const received = this.#receivers.wait(signal);
    this.#admitWaiting();
    return received;
  }

  /**
   * Closes the channel: later sends fail with `channel closed`; sends already admitted or
   * waiting complete; receivers drain the queue, then get `channel closed`. Throws
   * `channel already closed` the second time, `channel aborted` after a scrub.
   *
   * @example
   * ```ts
   * import { ChanElement } from "./chan.ts";
   * const chan = new ChanElement(1);
   * chan.close();
   * await chan.recv().catch((err) => console.log(err.message)); // "channel closed"
   * ```
   */
  close(): void {
    if (this.#aborted) throw new CircuitError("channel aborted");
    if (this.#closed) throw new CircuitError("channel already closed");
    this.#closed = true;
    this.#failIfDrained();
  }

  /**
   * The state as `peek` prints it.
   *
   * @example
   * ```ts
   * import { ChanElement } from "./chan.ts";
   * console.log(JSON.stringify(new ChanElement(3).peek()));
   * // {"Cap":3,"Closed":false,"Aborted":false,"NumSend":0,"NumRecv":0}
   * ```
   */
  peek(): ChanState {
    return {
      Cap: this.#cap,
      Closed: this.#closed,
      Aborted: this.#aborted,
      NumSend: this.#numSend,
      NumRecv: this.#numRecv,
    };
  }

  /**
   * Aborts: pending and future operations fail with `channel aborted`, queued messages are
   * dropped. `kill` makes no difference for a channel.
   *
   * @example
   * ```ts
   * import { ChanElement } from "./chan.ts";
   * const chan = new ChanElement(0);
   * const waiting = chan.recv().catch((err) => err.message);
   * await chan.scrub({ kill: false });
   * console.log(await waiting); // "channel aborted"
   * ```
   */
  scrub(_opts: { kill: boolean }): Promise<void> {
    this.#abort();
    return Promise.resolve();
  }

  /**
   * Aborts the channel unless already aborted: nobody can reach it any more.
   *
   * @example
   * ```ts
   * import { ChanElement } from "./chan.ts";
   * const chan = new ChanElement(1);
   * chan.dispose();
   * console.log(chan.peek().Aborted); // true
   * ```
   */
  dispose(): void {
    this.#abort();
  }

  #hasRoom(): boolean {
    return this.#receivers.size > 0 || this.#queue.length < this.#cap;
  }

  #drained(): boolean {
    return this.#closed && this.#queue.length === 0 && this.#senders.size === 0 && this.#inTransfer === 0;
  }

  /** Admits one message: straight to a waiting receiver (the queue is then empty), else queued. */
  #admit(): MessagePipe {
    const pipe = new MessagePipe(this.#owner);
    this.#numSend++;
    this.#live.add(pipe);
    this.#deliver(pipe);
    return pipe;
  }

  #deliver(pipe: MessagePipe): void {
    const receiver = this.#receivers.shift();
    if (receiver) receiver.resolve(this.#handOut(pipe));
    else this.#queue.push(pipe);
  }

  #admitWaiting(): void {
    while (this.#senders.size > 0 && this.#hasRoom()) this.#senders.shift()!.resolve(this.#admit());
  }

  #handOut(pipe: MessagePipe): AckedReader {
    this.#inTransfer++;
    return pipe.openReader();
  }

  #onTaken(): void {
    this.#inTransfer--;
    this.#numRecv++;
    this.#failIfDrained();
  }

  #onReturned(pipe: MessagePipe): void {
    this.#inTransfer--;
    if (this.#aborted) return;
    const receiver = this.#receivers.shift();
    if (receiver) receiver.resolve(this.#handOut(pipe));
    else this.#queue.unshift(pipe);
  }

  #failIfDrained(): void {
    if (!this.#drained() || this.#receivers.size === 0) return;
    this.#receivers.rejectAll(new CircuitError("channel closed"));
  }

  #abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const cause = new CircuitError("channel aborted");
    this.#queue = [];
    this.#senders.rejectAll(cause);
    this.#receivers.rejectAll(cause);
    const live = this.#live;
    this.#live = new Set();
    for (const pipe of live) pipe.abort(cause);
  }
}
