/**
 * The abortable wait list behind every blocking element operation (wire/wait_list.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { WaitList } from "../wire/wait_list.ts";
import { rejection, settled } from "./_elements.ts";

Deno.test("WaitList", async (t) => {
  await t.step("waits are taken off in arrival order, with their data", async () => {
    const list = new WaitList<string, number>();
    const a = list.wait(undefined, 1);
    const b = list.wait(undefined, 2);
    assert.equal(list.first, 1);
    const first = list.shift()!;
    assert.equal(first.data, 1);
    first.resolve("one");
    list.shift()!.resolve("two");
    assert.deepEqual(await Promise.all([a, b]), ["one", "two"]);
    assert.equal(list.size, 0);
  });

  await t.step("an aborted wait leaves the list and rejects with the signal's reason", async () => {
    const list = new WaitList<string>();
    const ctl = new AbortController();
    const gone = list.wait(ctl.signal);
    const stays = list.wait();
    ctl.abort(new Error("cancelled"));
    assert.equal(((await rejection(gone)) as Error).message, "cancelled");
    assert.equal(list.size, 1);
    list.resolveAll("ok");
    assert.equal(await stays, "ok");
  });

  await t.step("a wait with an aborted signal rejects at once and is never listed", async () => {
    const list = new WaitList<string>();
    const ctl = new AbortController();
    ctl.abort(new Error("too late"));
    assert.equal(((await rejection(list.wait(ctl.signal))) as Error).message, "too late");
    assert.equal(list.size, 0);
  });

  await t.step("a settled wait ignores a later abort, and rejectAll fails every wait", async () => {
    const list = new WaitList<string>();
    const ctl = new AbortController();
    const done = list.wait(ctl.signal);
    list.shift()!.resolve("kept");
    ctl.abort(new Error("after"));
    assert.equal(await done, "kept");
    const x = list.wait();
    const y = list.wait();
    list.rejectAll(new Error("closed"));
    for (const p of [x, y]) assert.equal(((await rejection(p)) as Error).message, "closed");
    assert.equal(await settled(list.wait()), false);
  });
});
