/**
 * The subscription elements `@join` and `@leave` (SPEC §7.4): unbounded queues of membership
 * events, each a server anchor path, each delivered to exactly one consumer, in order.
 *
 * @module
 */

import { CircuitError } from "../../wire/errors.ts";
import { WaitList } from "../../wire/wait_list.ts";
import { type MessageOwner, MessagePipe } from "./message_pipe.ts";
import type { AckedReader } from "../../wire/streams.ts";
import type { Element } from "./element.ts";

/**
 * What `peek` prints for a subscription, keys in the spec's order.
 *
 * @example
 * ```ts
 * import { SubscriptionElement, type SubscriptionState } from "./subscription.ts";
 * const state: SubscriptionState = new SubscriptionElement("leave").peek();
 * console.log(state.Source); // "leave"
 * ```
 */
export interface SubscriptionState {
  Source: "join" | "leave";
  Pending: number;
  Closed: boolean;
}

const _encoder = new TextEncoder();

/**
 * A subscription. The membership code calls {@linkcode SubscriptionElement.push}; consumers
 * call {@linkcode SubscriptionElement.recv} and read the event text (no newline) through an
 * {@linkcode AckedReader}. An event is taken once its first byte or end is acknowledged; a
 * reader released before that puts it back at the head.
 *
 * @example
 * ```ts
 * import { SubscriptionElement } from "./subscription.ts";
 * const join = new SubscriptionElement("join", ["/X0123456789abcdef"]);
 * const reader = await join.recv();
 * const bytes = await reader.read(1024);
 * reader.ack(bytes!.length);
 * console.log(new TextDecoder().decode(bytes!)); // "/X0123456789abcdef"
 * console.log(join.peek()); // { Source: "join", Pending: 0, Closed: false }
 * ```
 */
export class SubscriptionElement implements Element {
  /** `"@join"` or `"@leave"`. */
  readonly kind: "@join" | "@leave";
  #source: "join" | "leave";
  #closed = false;
  // Events not handed out yet (strings, encoded on hand-out) or handed back (pipes).
  #queue: (string | MessagePipe)[];
  // Events handed to a consumer that has not taken them yet.
  #handedOut = 0;
  #consumers = new WaitList<AckedReader>();
  #owner: MessageOwner;

  /**
   * Creates an open subscription holding `initial` events, in that order.
   *
   * @example
   * ```ts
   * import { SubscriptionElement } from "./subscription.ts";
   * console.log(new SubscriptionElement("leave").kind); // "@leave"
   * ```
   */
  constructor(source: "join" | "leave", initial: string[] = []) {
    this.#source = source;
    this.kind = source === "join" ? "@join" : "@leave";
    this.#queue = [...initial];
    this.#owner = {
      taken: () => this.#handedOut--,
      returned: (pipe) => this.#onReturned(pipe),
    };
  }

  /**
   * Appends an event (a server anchor path). Ignored once closed.
   *
   * @example
   * ```ts
   * import { SubscriptionElement } from "./subscription.ts";
   * const leave = new SubscriptionElement("leave");
   * leave.push("/X0123456789abcdef");
   * console.log(leave.peek().Pending); // 1
   * ```
   */
  push(event: string): void {
    if (this.#closed) return;
    const consumer = this.#consumers.shift();
    if (consumer) consumer.resolve(this.#handOut(event));
    else this.#queue.push(event);
  }

  /**
   * Waits for the head event and resolves with a reader of its text. Rejects with
   * `subscription closed` once scrubbed, and with the signal's reason, taking nothing, if
   * `signal` aborts first. The caller owns the reader and must release it or `ackEnd()` it.
   *
   * @example
   * ```ts
   * import { SubscriptionElement } from "./subscription.ts";
   * const join = new SubscriptionElement("join");
   * const next = join.recv();
   * join.push("/X0000000000000001");
   * const reader = await next;
   * reader.release(); // not taken: the event stays at the head
   * console.log(join.peek().Pending); // 1
   * ```
   */
  recv(signal?: AbortSignal): Promise<AckedReader> {
    if (this.#closed) return Promise.reject(new CircuitError("subscription closed"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length > 0) return Promise.resolve(this.#handOut(this.#queue.shift()!));
    return this.#consumers.wait(signal);
  }

  /**
   * The state as `peek` prints it; `Pending` counts every event not yet taken, including one
   * handed to a consumer that has not acknowledged it.
   *
   * @example
   * ```ts
   * import { SubscriptionElement } from "./subscription.ts";
   * console.log(JSON.stringify(new SubscriptionElement("join", ["/X1"]).peek()));
   * // {"Source":"join","Pending":1,"Closed":false}
   * ```
   */
  peek(): SubscriptionState {
    return { Source: this.#source, Pending: this.#queue.length + this.#handedOut, Closed: this.#closed };
  }

  /**
   * Closes the subscription: waiting consumers and later `recv`s get `subscription closed`.
   *
   * @example
   * ```ts
   * import { SubscriptionElement } from "./subscription.ts";
   * const join = new SubscriptionElement("join");
   * const waiting = join.recv().catch((err) => err.message);
   * await join.scrub({ kill: false });
   * console.log(await waiting); // "subscription closed"
   * ```
   */
  scrub(_opts: { kill: boolean }): Promise<void> {
    this.#close();
    return Promise.resolve();
  }

  /**
   * Closes the subscription (if not already) and drops its events.
   *
   * @example
   * ```ts
   * import { SubscriptionElement } from "./subscription.ts";
   * const join = new SubscriptionElement("join", ["/X1"]);
   * join.dispose();
   * console.log(join.peek().Closed); // true
   * ```
   */
  dispose(): void {
    this.#close();
    this.#queue = [];
  }

  #handOut(event: string | MessagePipe): AckedReader {
    const pipe = typeof event === "string" ? new MessagePipe(this.#owner, _encoder.encode(event)) : event;
    this.#handedOut++;
    return pipe.openReader();
  }

  #onReturned(pipe: MessagePipe): void {
    this.#handedOut--;
    const consumer = this.#consumers.shift();
    if (consumer) consumer.resolve(this.#handOut(pipe));
    else this.#queue.unshift(pipe);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#consumers.rejectAll(new CircuitError("subscription closed"));
  }
}

/** The server's open subscriptions, each told of the membership events of its source. */
export class Subscriptions {
  #open = new Set<SubscriptionElement>();

  /** Takes a subscription just made; it hears every later event of its source. */
  adopt(sub: SubscriptionElement): void {
    this.#open.add(sub);
  }

  /** Hands `/id` to every open subscription of `source`; closed ones are dropped. */
  publish(source: "join" | "leave", id: string): void {
    const kind = source === "join" ? "@join" : "@leave";
    for (const sub of this.#open) {
      if (sub.peek().Closed) this.#open.delete(sub);
      else if (sub.kind === kind) sub.push("/" + id);
    }
  }
}
