/**
 * A first-in, first-out list of pending waits, each abortable by its own signal: the one shape
 * behind every blocking operation (a receiver waiting for a message, a sender for room, a
 * `wait` for an exit, a stream for credit).
 *
 * @module
 */

/** A wait taken off the list by {@linkcode WaitList.shift}: settle it exactly once. */
export interface Waiter<T, D> {
  /** What the waiter asked with (e.g. how many bytes it wants). */
  readonly data: D;
  resolve(value: T): void;
  reject(err: unknown): void;
}

interface _Entry<T, D> extends Waiter<T, D> {
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

/**
 * Pending waits in arrival order. A wait whose signal aborts leaves the list and rejects with
 * the signal's reason; one settled through the list stops listening to its signal.
 *
 * @example
 * ```ts
 * import { WaitList } from "./wait_list.ts";
 * const receivers = new WaitList<string>();
 * const got = receivers.wait();
 * receivers.shift()?.resolve("hello");
 * console.log(await got, receivers.size); // "hello" 0
 * ```
 */
export class WaitList<T, D = undefined> {
  #entries: _Entry<T, D>[] = [];

  /** Number of pending waits. */
  get size(): number {
    return this.#entries.length;
  }

  /** The data of the oldest pending wait, without taking it off. */
  get first(): D | undefined {
    return this.#entries[0]?.data;
  }

  /**
   * Waits until the list settles this wait. Rejects with the signal's reason at once if it is
   * already aborted, or when it aborts first.
   */
  wait(signal?: AbortSignal, data?: D): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const entry: _Entry<T, D> = {
        data: data as D,
        signal,
        onAbort: null,
        resolve: (value) => {
          this.#unlisten(entry);
          resolve(value);
        },
        reject: (err) => {
          this.#unlisten(entry);
          reject(err);
        },
      };
      if (signal) {
        entry.onAbort = () => {
          const i = this.#entries.indexOf(entry);
          if (i >= 0) this.#entries.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      this.#entries.push(entry);
    });
  }

  /** Takes the oldest pending wait off the list (the caller settles it), or undefined. */
  shift(): Waiter<T, D> | undefined {
    return this.#entries.shift();
  }

  /** Settles every pending wait with `value`; waits added meanwhile stay. */
  resolveAll(value: T): void {
    for (const w of this.#takeAll()) w.resolve(value);
  }

  /** Fails every pending wait with `err`. */
  rejectAll(err: unknown): void {
    for (const w of this.#takeAll()) w.reject(err);
  }

  #takeAll(): _Entry<T, D>[] {
    const all = this.#entries;
    this.#entries = [];
    return all;
  }

  #unlisten(entry: _Entry<T, D>): void {
    if (entry.onAbort) entry.signal!.removeEventListener("abort", entry.onAbort);
    entry.onAbort = null;
  }
}
