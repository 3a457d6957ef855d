/**
 * The shared coarse timer of wire/deadlines.ts. Its tick does not keep the process alive by
 * itself, so each test holds the event loop open with a timer of its own while it waits.
 */
import assert from "node:assert/strict";
import { after, every } from "../wire/deadlines.ts";

function keptAlive<T>(ms: number, work: (done: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`nothing after ${ms} ms`)), ms);
    work((value) => {
      clearTimeout(guard);
      resolve(value);
    });
  });
}

Deno.test("after() calls back once, no sooner than asked and within a tick or so", async () => {
  const t0 = performance.now();
  const elapsed = await keptAlive<number>(2000, (done) => after(120, () => done(performance.now() - t0)));
  assert.ok(elapsed >= 119, `fired after ${elapsed} ms`);
  assert.ok(elapsed < 1000, `fired after ${elapsed} ms`);
});

Deno.test("a cancelled after() never calls back", async () => {
  let fired = false;
  const cancel = after(30, () => (fired = true));
  cancel();
  await keptAlive<void>(2000, (done) => after(150, () => done()));
  assert.equal(fired, false);
});

Deno.test("every() stops when its own callback stops it", async () => {
  let ticks = 0;
  const stop = every(40, () => {
    ticks++;
    if (ticks === 3) stop();
  });
  await keptAlive<void>(3000, (done) => after(500, () => done()));
  assert.equal(ticks, 3);
});
