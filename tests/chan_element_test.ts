/**
 * The channel element (SPEC §7.3, acceptance A6, A8) as a unit: peek, counters, Cap and the order
 * senders are admitted in, rendezvous channels, bodies streamed under the 64 KiB window, and
 * 100,000 small messages through Cap 1024.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ChanElement } from "../server/elements/chan.ts";
import { BODY_WINDOW } from "../server/elements/message_pipe.ts";
import { readAll, rejection, settled } from "./_elements.ts";
import { dec, enc, recvText, sendText } from "./_chan_element.ts";

Deno.test("ChanElement basics", async (t) => {
  await t.step("peek() of a new channel prints Cap, Closed, Aborted, NumSend, NumRecv in that order", () => {
    const chan = new ChanElement(3);
    assert.equal(chan.kind, "chan");
    assert.equal(chan.cap, 3);
    assert.equal(
      JSON.stringify(chan.peek()),
      '{"Cap":3,"Closed":false,"Aborted":false,"NumSend":0,"NumRecv":0}',
    );
  });

  await t.step("recv() returns the message that send() wrote and both counters advance (A6)", async () => {
    const chan = new ChanElement(3);
    await sendText(chan, "hello\n");
    assert.equal(chan.peek().NumSend, 1);
    assert.equal(chan.peek().NumRecv, 0);
    assert.equal(await recvText(chan), "hello\n");
    assert.deepEqual(chan.peek(), { Cap: 3, Closed: false, Aborted: false, NumSend: 1, NumRecv: 1 });
  });

  await t.step("an empty message is received as an empty body", async () => {
    const chan = new ChanElement(1);
    await sendText(chan, "");
    assert.equal(await recvText(chan), "");
    assert.equal(chan.peek().NumRecv, 1);
  });

  await t.step(
    "send() waits while Cap messages are queued and is admitted when one is received",
    async () => {
      const chan = new ChanElement(2);
      await sendText(chan, "a");
      await sendText(chan, "b");
      const third = chan.send();
      assert.equal(await settled(third), false);
      assert.equal(chan.peek().NumSend, 2);
      const reader = await chan.recv();
      const sink = await third;
      assert.equal(chan.peek().NumSend, 3);
      await sink.write(enc.encode("c"));
      await sink.close();
      assert.equal(await readAll(reader), "a");
      assert.equal(await recvText(chan), "b");
      assert.equal(await recvText(chan), "c");
    },
  );

  await t.step("waiting senders are admitted in the order they started waiting", async () => {
    const chan = new ChanElement(1);
    await sendText(chan, "0");
    const order: string[] = [];
    const senders = ["1", "2", "3"].map((text) =>
      chan.send().then(async (sink) => {
        order.push(text);
        await sink.write(enc.encode(text));
        await sink.close();
      })
    );
    const received: string[] = [];
    for (let i = 0; i < 4; i++) received.push(await recvText(chan));
    await Promise.all(senders);
    assert.deepEqual(order, ["1", "2", "3"]);
    assert.deepEqual(received, ["0", "1", "2", "3"]);
  });
});

Deno.test("ChanElement rendezvous and streaming bodies", async (t) => {
  await t.step("with Cap 0 send() waits until a receiver waits (A8)", async () => {
    const chan = new ChanElement(0);
    const sending = chan.send();
    assert.equal(await settled(sending), false);
    assert.equal(chan.peek().NumSend, 0);
    const receiving = chan.recv();
    const sink = await sending;
    assert.equal(chan.peek().NumSend, 1);
    await sink.write(enc.encode("x\n"));
    await sink.close();
    assert.equal(await readAll(await receiving), "x\n");
  });

  await t.step("body bytes reach the receiver before the sender ends the message (A8)", async () => {
    const chan = new ChanElement(0);
    const reader = chan.recv();
    const sink = await chan.send();
    await sink.write(enc.encode("part1\n"));
    const r = await reader;
    const first = await r.read(65536);
    assert.equal(dec.decode(first!), "part1\n");
    r.ack(first!.length);
    const next = r.read(65536);
    assert.equal(await settled(next), false);
    await sink.write(enc.encode("part2\n"));
    assert.equal(dec.decode((await next)!), "part2\n");
    r.ack(6);
    await sink.close();
    assert.equal(await r.read(65536), null);
    r.ackEnd();
  });

  await t.step("read() returns at most max bytes and the rest on later reads", async () => {
    const chan = new ChanElement(1);
    await sendText(chan, "abcdef");
    const r = await chan.recv();
    assert.equal(dec.decode((await r.read(4))!), "abcd");
    assert.equal(dec.decode((await r.read(4))!), "ef");
    r.ack(6);
    assert.equal(await r.read(4), null);
    r.ackEnd();
  });

  await t.step("64 KiB of body can be written before a receiver reads; the next write waits", async () => {
    const chan = new ChanElement(1);
    const sink = await chan.send();
    await sink.write(new Uint8Array(BODY_WINDOW - 1));
    await sink.write(new Uint8Array(1));
    const blocked = sink.write(new Uint8Array([7]));
    assert.equal(await settled(blocked), false);
    const r = await chan.recv();
    const chunk = await r.read(65536);
    assert.equal(chunk!.length, BODY_WINDOW - 1);
    await blocked;
    r.ack(chunk!.length);
    await sink.close();
    let total = chunk!.length;
    let last = 0;
    for (let c = await r.read(65536); c !== null; c = await r.read(65536)) {
      total += c.length;
      last = c[c.length - 1];
      r.ack(c.length);
    }
    r.ackEnd();
    assert.equal(total, BODY_WINDOW + 1);
    assert.equal(last, 7);
  });

  await t.step("a single chunk larger than 64 KiB is accepted when nothing is unread", async () => {
    const chan = new ChanElement(1);
    const sink = await chan.send();
    await sink.write(new Uint8Array(3 * BODY_WINDOW));
    await sink.close();
    const r = await chan.recv();
    let total = 0;
    for (let c = await r.read(65536); c !== null; c = await r.read(65536)) {
      total += c.length;
      r.ack(c.length);
    }
    r.ackEnd();
    assert.equal(total, 3 * BODY_WINDOW);
  });

  await t.step("write() copies the chunk, so the caller may reuse its buffer", async () => {
    const chan = new ChanElement(1);
    const sink = await chan.send();
    const buf = enc.encode("abc");
    await sink.write(buf);
    buf.fill(0);
    await sink.close();
    assert.equal(await recvText(chan), "abc");
  });

  await t.step("a write waiting for the window rejects with the signal's reason when aborted", async () => {
    const chan = new ChanElement(1);
    const sink = await chan.send();
    await sink.write(new Uint8Array(BODY_WINDOW));
    const ac = new AbortController();
    const blocked = sink.write(enc.encode("late"), ac.signal);
    ac.abort(new Error("cancelled"));
    assert.equal((await rejection(blocked) as Error).message, "cancelled");
    await sink.close();
    const r = await chan.recv();
    let total = 0;
    for (let c = await r.read(65536); c !== null; c = await r.read(65536)) {
      total += c.length;
      r.ack(c.length);
    }
    r.ackEnd();
    assert.equal(total, BODY_WINDOW);
  });
});

Deno.test("ChanElement moves 100,000 small messages through Cap 1024 quickly", async () => {
  const chan = new ChanElement(1024);
  const count = 100_000;
  const body = enc.encode("message body");
  const start = performance.now();
  const sender = (async () => {
    for (let i = 0; i < count; i++) {
      const sink = await chan.send();
      await sink.write(body);
      await sink.close();
    }
  })();
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const r = await chan.recv();
    for (let c = await r.read(65536); c !== null; c = await r.read(65536)) {
      bytes += c.length;
      r.ack(c.length);
    }
    r.ackEnd();
  }
  await sender;
  const ms = performance.now() - start;
  assert.equal(bytes, count * body.length);
  assert.deepEqual(chan.peek(), { Cap: 1024, Closed: false, Aborted: false, NumSend: count, NumRecv: count });
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
});
