import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import { SubscriptionElement } from "../server/elements/subscription.ts";
import { readAll, rejection, settled } from "./_elements.ts";

const dec = new TextDecoder();
const XA = "/X0123456789abcdef";
const XB = "/Xfedcba9876543210";

Deno.test("SubscriptionElement", async (t) => {
  await t.step("peek() prints Source, Pending, Closed in that order, counting the initial events", () => {
    const join = new SubscriptionElement("join", [XA]);
    const leave = new SubscriptionElement("leave");
    assert.equal(join.kind, "@join");
    assert.equal(leave.kind, "@leave");
    assert.equal(JSON.stringify(join.peek()), '{"Source":"join","Pending":1,"Closed":false}');
    assert.equal(JSON.stringify(leave.peek()), '{"Source":"leave","Pending":0,"Closed":false}');
  });

  await t.step("recv() returns the initial events, then pushed ones, as text without newline", async () => {
    const join = new SubscriptionElement("join", [XA, XB]);
    join.push("/X1111111111111111");
    assert.equal(join.peek().Pending, 3);
    assert.equal(await readAll(await join.recv()), XA);
    assert.equal(await readAll(await join.recv()), XB);
    assert.equal(await readAll(await join.recv()), "/X1111111111111111");
    assert.equal(join.peek().Pending, 0);
  });

  await t.step("a waiting recv() gets the next pushed event", async () => {
    const leave = new SubscriptionElement("leave");
    const waiting = leave.recv();
    assert.equal(await settled(waiting), false);
    leave.push(XB);
    assert.equal(await readAll(await waiting), XB);
    assert.equal(leave.peek().Pending, 0);
  });

  await t.step("an event handed out but not acknowledged still counts as pending", async () => {
    const join = new SubscriptionElement("join", [XA]);
    const r = await join.recv();
    const chunk = await r.read(4);
    assert.equal(dec.decode(chunk!), XA.slice(0, 4));
    assert.equal(join.peek().Pending, 1);
    r.ack(chunk!.length);
    assert.equal(join.peek().Pending, 0);
    r.release();
    assert.equal(join.peek().Pending, 0);
  });

  await t.step("an event released before acknowledgement stays at the head, whole", async () => {
    const join = new SubscriptionElement("join", [XA, XB]);
    const r = await join.recv();
    await r.read(3);
    r.release();
    assert.equal(join.peek().Pending, 2);
    assert.equal(await readAll(await join.recv()), XA);
    assert.equal(await readAll(await join.recv()), XB);
  });

  await t.step("an event released while a consumer waits goes to that consumer", async () => {
    const leave = new SubscriptionElement("leave", [XA]);
    const first = await leave.recv();
    const second = leave.recv();
    assert.equal(await settled(second), false);
    first.release();
    assert.equal(await readAll(await second), XA);
  });

  await t.step("concurrent consumers each get one distinct event, in order", async () => {
    const leave = new SubscriptionElement("leave");
    const consumers = [0, 1, 2].map(() => leave.recv());
    leave.push("/X0000000000000000");
    leave.push("/X0000000000000001");
    leave.push("/X0000000000000002");
    const events = await Promise.all(consumers.map(async (c) => readAll(await c)));
    assert.deepEqual(events, ["/X0000000000000000", "/X0000000000000001", "/X0000000000000002"]);
    assert.equal(leave.peek().Pending, 0);
  });

  await t.step("a killed waiting consumer takes nothing: the next recv() gets the event (A27d)", async () => {
    const leave = new SubscriptionElement("leave");
    const ac = new AbortController();
    const waiting = leave.recv(ac.signal);
    ac.abort(new Error("killed"));
    assert.equal((await rejection(waiting) as Error).message, "killed");
    leave.push(XB);
    assert.equal(leave.peek().Pending, 1);
    assert.equal(await readAll(await leave.recv()), XB);
  });

  await t.step("recv() with an already aborted signal rejects with its reason", async () => {
    const join = new SubscriptionElement("join", [XA]);
    const ac = new AbortController();
    ac.abort(new Error("early"));
    assert.equal((await rejection(join.recv(ac.signal)) as Error).message, "early");
    assert.equal(join.peek().Pending, 1);
  });

  await t.step("scrub() fails waiting and later consumers with subscription closed", async () => {
    const join = new SubscriptionElement("join");
    const waiting = join.recv();
    await join.scrub({ kill: false });
    const closed = new CircuitError("subscription closed");
    await assert.rejects(waiting, closed);
    await assert.rejects(join.recv(), closed);
    join.push(XA);
    assert.deepEqual(join.peek(), { Source: "join", Pending: 0, Closed: true });
  });

  await t.step("dispose() closes the subscription and drops its events", async () => {
    const leave = new SubscriptionElement("leave", [XA]);
    leave.dispose();
    assert.deepEqual(leave.peek(), { Source: "leave", Pending: 0, Closed: true });
    await assert.rejects(leave.recv(), new CircuitError("subscription closed"));
  });

  await t.step("push() stays cheap for 100,000 events", async () => {
    const join = new SubscriptionElement("join");
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) join.push(XA);
    assert.equal(join.peek().Pending, 100_000);
    assert.equal(await readAll(await join.recv()), XA);
    assert.ok(performance.now() - start < 500);
  });
});
