/**
 * Coarse timers for the client side: call and dial time-outs and keep-alive ticks.
 *
 * Deno's global `setTimeout` loads its Node-compatible timer layer on first use, which costs a
 * short-lived CLI command about 10 ms at start, and `AbortSignal.timeout` with its event
 * listener ~0.7 ms. The tick here is the time-out of `Atomics.waitAsync` on a cell nobody
 * notifies: a V8 timer, ~0.2 ms at first use, that like an unreferenced timer does not keep the
 * process alive by itself. One shared tick serves every deadline: O(1) native timers however
 * many calls are pending.
 *
 * @module
 */

/**
 * How often pending deadlines are checked. The time-outs served (seconds) need no finer grain;
 * a coarser tick means fewer wake-ups.
 */
const _TICK_MS = 50;

const _pending = new Set<{ at: number; fn: () => void }>();
let _ticking = false;

// Never notified, and always 0: every wait on it times out.
const _cell = new Int32Array(new SharedArrayBuffer(4));

function _tickIn(ms: number): void {
  const wait = Atomics.waitAsync(_cell, 0, 0, ms);
  // A wait of 0 ms times out at once, synchronously.
  if (wait.async) wait.value.then(_tick);
  else queueMicrotask(_tick);
}

function _tick(): void {
  const now = performance.now();
  for (const d of _pending) {
    if (d.at <= now) {
      _pending.delete(d);
      d.fn();
    }
  }
  if (_pending.size === 0) {
    _ticking = false;
    return;
  }
  _tickIn(_TICK_MS);
}

/**
 * Calls `fn` once, about `ms` milliseconds from now (within one tick); returns a function that
 * cancels it. Like an unreferenced timer, a pending deadline alone does not keep the process
 * alive.
 *
 * @example
 * ```ts
 * import { after } from "./deadlines.ts";
 * const cancel = after(1000, () => console.log("late"));
 * cancel();
 * ```
 */
export function after(ms: number, fn: () => void): () => void {
  const d = { at: performance.now() + ms, fn };
  _pending.add(d);
  if (!_ticking) {
    _ticking = true;
    _tickIn(Math.min(ms, _TICK_MS));
  }
  return () => {
    _pending.delete(d);
  };
}

/**
 * Calls `fn` every `ms` milliseconds until the returned function is called.
 *
 * @example
 * ```ts
 * import { every } from "./deadlines.ts";
 * const stop = every(5000, () => console.log("tick"));
 * stop();
 * ```
 */
export function every(ms: number, fn: () => void): () => void {
  let stopped = false;
  let cancel = after(ms, tick);
  function tick() {
    fn();
    // `fn` may have stopped it (a keep-alive that closes its connection).
    if (!stopped) cancel = after(ms, tick);
  }
  return () => {
    stopped = true;
    cancel();
  };
}
