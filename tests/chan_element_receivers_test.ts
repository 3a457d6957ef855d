/**
 * Receivers of the channel element (SPEC §7.3, acceptance A27a): released and aborted receivers
 * lose no message, concurrent receivers get distinct messages in FIFO order, and a receiver that
 * leaves fails its sender with `receiver gone`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ChanElement } from "../server/elements/chan.ts";
import { BODY_WINDOW } from "../server/elements/message_pipe.ts";
import { readAll, rejection, settled } from "./_elements.ts";
import { assertCause, dec, enc, recvText, sendText } from "./_chan_element.ts";

Deno.test("ChanElement receivers", async (t) => {
  await t.step("a reader released before acking leaves the whole message for the next recv()", async () => {
    const chan = new ChanElement(1);
    await sendText(chan, "hello");
    const first = await chan.recv();
    assert.equal(dec.decode((await first.read(2))!), "he");
    first.release();
    assert.equal(chan.peek().NumRecv, 0);
    assert.equal(await recvText(chan), "hello");
    assert.equal(chan.peek().NumRecv, 1);
  });

  await t.step("a reader released after reading the end but before ackEnd leaves the message", async () => {
    const chan = new ChanElement(1);
    await sendText(chan, "");
    const first = await chan.recv();
    assert.equal(await first.read(10), null);
    first.release();
    assert.equal(chan.peek().NumRecv, 0);
    assert.equal(await recvText(chan), "");
    assert.equal(chan.peek().NumRecv, 1);
  });

  await t.step("a released message goes back to the head even beyond Cap", async () => {
    const chan = new ChanElement(1);
    await sendText(chan, "first");
    const taker = await chan.recv();
    await sendText(chan, "second");
    taker.release();
    const third = chan.send();
    assert.equal(await settled(third), false);
    assert.equal(await recvText(chan), "first");
    assert.equal(await settled(third), false);
    assert.equal(await recvText(chan), "second");
    const sink = await third;
    await sink.write(enc.encode("third"));
    await sink.close();
    assert.equal(await recvText(chan), "third");
    assert.deepEqual(chan.peek(), { Cap: 1, Closed: false, Aborted: false, NumSend: 3, NumRecv: 3 });
  });

  await t.step("a message released while another receiver waits goes to that receiver", async () => {
    const chan = new ChanElement(0);
    const a = chan.recv();
    const sink = await chan.send();
    const ra = await a;
    const b = chan.recv();
    assert.equal(await settled(b), false);
    ra.release();
    await sink.write(enc.encode("m"));
    await sink.close();
    assert.equal(await readAll(await b), "m");
  });

  await t.step("concurrent receivers get distinct messages in FIFO order", async () => {
    const chan = new ChanElement(0);
    const receivers = [0, 1, 2, 3, 4].map(() => chan.recv());
    for (let i = 0; i < 5; i++) await sendText(chan, `m${i}`);
    const bodies = await Promise.all(receivers.map(async (r) => readAll(await r)));
    assert.deepEqual(bodies, ["m0", "m1", "m2", "m3", "m4"]);
  });

  await t.step("queued messages go to concurrent receivers in FIFO order", async () => {
    const chan = new ChanElement(5);
    for (let i = 0; i < 5; i++) await sendText(chan, `q${i}`);
    const readers = await Promise.all([0, 1, 2, 3, 4].map(() => chan.recv()));
    const bodies = await Promise.all(readers.reverse().map(readAll));
    assert.deepEqual(bodies.reverse(), ["q0", "q1", "q2", "q3", "q4"]);
  });

  await t.step(
    "a recv() aborted while waiting rejects with the reason and takes nothing (A27a)",
    async () => {
      const chan = new ChanElement(1);
      const ac = new AbortController();
      const waiting = chan.recv(ac.signal);
      ac.abort(new Error("killed"));
      assert.equal((await rejection(waiting) as Error).message, "killed");
      await sendText(chan, "msg\n");
      assert.equal(await recvText(chan), "msg\n");
      assert.deepEqual(chan.peek(), { Cap: 1, Closed: false, Aborted: false, NumSend: 1, NumRecv: 1 });
    },
  );

  await t.step("an aborted rendezvous receiver no longer lets a sender in", async () => {
    const chan = new ChanElement(0);
    const ac = new AbortController();
    const waiting = chan.recv(ac.signal);
    ac.abort(new Error("gone"));
    await rejection(waiting);
    const sending = chan.send();
    assert.equal(await settled(sending), false);
    assert.equal(chan.peek().NumSend, 0);
    const r = chan.recv();
    const sink = await sending;
    await sink.close();
    assert.equal(await readAll(await r), "");
  });

  await t.step(
    "a pending read() aborted by its signal rejects with the reason and loses nothing",
    async () => {
      const chan = new ChanElement(0);
      const receiving = chan.recv();
      const sink = await chan.send();
      const r = await receiving;
      const ac = new AbortController();
      const reading = r.read(100, ac.signal);
      ac.abort(new Error("stop"));
      assert.equal((await rejection(reading) as Error).message, "stop");
      await sink.write(enc.encode("kept"));
      await sink.close();
      assert.equal(await readAll(r), "kept");
    },
  );

  await t.step(
    "acking the first byte counts the message as received; release then discards the rest",
    async () => {
      const chan = new ChanElement(1);
      const sink = await chan.send();
      await sink.write(enc.encode("abc"));
      const r = await chan.recv();
      const chunk = await r.read(1);
      r.ack(chunk!.length);
      assert.equal(chan.peek().NumRecv, 1);
      r.release();
      assertCause(await rejection(sink.write(enc.encode("more"))), "receiver gone");
      assertCause(await rejection(sink.close()), "receiver gone");
      sink.release();
      const next = chan.recv();
      assert.equal(await settled(next), false);
      await sendText(chan, "new");
      assert.equal(await readAll(await next), "new");
    },
  );

  await t.step(
    "a write waiting for the window fails with receiver gone when the receiver leaves",
    async () => {
      const chan = new ChanElement(1);
      const sink = await chan.send();
      await sink.write(new Uint8Array(BODY_WINDOW));
      const blocked = sink.write(new Uint8Array(BODY_WINDOW));
      const r = await chan.recv();
      const c = await r.read(10);
      r.ack(c!.length);
      assert.equal(await settled(blocked), false);
      r.release();
      assertCause(await rejection(blocked), "receiver gone");
      sink.release();
    },
  );
});
