/**
 * The simulator's virtual time: one event queue for a whole cluster in one process, no real
 * timers. Events run in time order; after each batch of events in the same {@link RESOLUTION_MS}
 * the engine yields to the JavaScript event loop once, so the promise continuations
 * the membership code awaits (microtasks) run before virtual time moves on.
 *
 * @module
 */

/**
 * Events in the same millisecond of virtual time run as one batch before microtasks are flushed:
 * one real yield per batch is what makes 10,000 members affordable, and 1 ms is below every
 * protocol timeout (≥ 200 ms) and at most the simulated one-way latency, so it cannot reorder a
 * cause and effect that matter. Continuations in a batch see the clock of the batch's last event.
 */
export const RESOLUTION_MS = 1;

/** One scheduled event. */
export interface Event {
  at: number;
  seq: number;
  fn: () => void;
  off: boolean;
}

/**
 * The event queue, by (time, insertion), and the virtual clock. Events are kept in one bucket per
 * {@link RESOLUTION_MS} with a heap of the bucket keys only: at 10,000 members ~100,000 events are
 * pending, and a heap of them all cost a fifth of the simulator's time in comparisons that miss
 * the cache; a bucket is sorted once, when its turn comes.
 *
 * @example
 * ```ts
 * import { Engine } from "./engine.ts";
 * const e = new Engine();
 * e.after(1000, () => console.log("one virtual second", e.now));
 * await e.run(2000);
 * ```
 */
export class Engine {
  /** Virtual milliseconds since the start. */
  now = 0;
  /** Events run so far (the simulator's own cost figure). */
  events = 0;
  #buckets = new Map<number, Event[]>();
  #keys: number[] = [];
  #seq = 0;

  /** Runs `fn` `ms` from now (virtual). */
  after(ms: number, fn: () => void): Event {
    const ev = { at: this.now + Math.max(0, ms), seq: this.#seq++, fn, off: false };
    this.#push(ev);
    return ev;
  }

  /** Cancels an event (it stays queued, skipped when reached). */
  cancel(ev: Event | undefined): void {
    if (ev) ev.off = true;
  }

  /** Runs every event up to virtual time `until`, then sets the clock to `until`. */
  async run(until: number): Promise<void> {
    const yieldToMicrotasks = macrotasks();
    try {
      await this.#runUntil(until, yieldToMicrotasks.next);
    } finally {
      yieldToMicrotasks.close();
    }
  }

  async #runUntil(until: number, yieldToMicrotasks: () => Promise<void>): Promise<void> {
    const keys = this.#keys;
    while (keys.length > 0 && keys[0] * RESOLUTION_MS <= until) {
      const key = keys[0];
      // Past `until` in this bucket: so is every later one (`until` falls inside this bucket).
      let beyond = false;
      // Events the batch schedules into its own millisecond run in it too.
      for (let batch = this.#take(key); batch; batch = beyond ? undefined : this.#take(key)) {
        batch.sort(before);
        for (let i = 0; i < batch.length; i++) {
          const ev = batch[i];
          if (ev.at > until) {
            for (let j = i; j < batch.length; j++) this.#push(batch[j]);
            beyond = true;
            break;
          }
          if (ev.off) continue;
          if (ev.at > this.now) this.now = ev.at;
          this.events++;
          ev.fn();
        }
      }
      await yieldToMicrotasks();
      if (beyond) break;
    }
    this.now = until;
    await yieldToMicrotasks();
  }

  #push(ev: Event): void {
    const key = Math.floor(ev.at / RESOLUTION_MS);
    const bucket = this.#buckets.get(key);
    if (bucket) return void bucket.push(ev);
    this.#buckets.set(key, [ev]);
    heapPush(this.#keys, key);
  }

  /** Removes and returns the bucket of `key`, if any. */
  #take(key: number): Event[] | undefined {
    const bucket = this.#buckets.get(key);
    if (!bucket) return undefined;
    this.#buckets.delete(key);
    heapPop(this.#keys);
    return bucket;
  }
}

function heapPush(h: number[], k: number): void {
  h.push(k);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p] <= k) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = k;
}

function heapPop(h: number[]): void {
  const last = h.pop()!;
  const n = h.length;
  if (n === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const c = l + 1 < n && h[l + 1] < h[l] ? l + 1 : l;
    if (h[c] >= last) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
}

function before(a: Event, b: Event): number {
  return a.at - b.at || a.seq - b.seq;
}

/**
 * `next()` resolves in a macrotask, so every microtask queued before it (and those they queue)
 * runs first. A MessageChannel costs ~4 µs a turn where setTimeout(0) is clamped to milliseconds.
 */
function macrotasks(): { next: () => Promise<void>; close: () => void } {
  const { port1, port2 } = new MessageChannel();
  let wake = () => {};
  port2.onmessage = () => wake();
  return {
    next: () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        port1.postMessage(0);
      }),
    close: () => {
      port1.close();
      port2.close();
    },
  };
}
