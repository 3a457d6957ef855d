/**
 * Senders of the channel element that go away (SPEC §7.3): a message cut short is `message
 * truncated: sender disconnected` for its receiver, and an aborted send() leaves no trace.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ChanElement } from "../server/elements/chan.ts";
import { readAll, rejection, settled } from "./_elements.ts";
import { assertCause, dec, enc, recvText, sendText } from "./_chan_element.ts";

Deno.test("ChanElement sender disconnects", async (t) => {
  await t.step(
    "the receiver gets the bytes written, then message truncated: sender disconnected",
    async () => {
      const chan = new ChanElement(1);
      const receiving = chan.recv();
      const sink = await chan.send();
      await sink.write(enc.encode("abc"));
      const r = await receiving;
      const chunk = await r.read(100);
      assert.equal(dec.decode(chunk!), "abc");
      r.ack(chunk!.length);
      const pending = r.read(100);
      sink.release();
      assertCause(await rejection(pending), "message truncated: sender disconnected");
      r.release();
      assert.deepEqual(chan.peek(), { Cap: 1, Closed: false, Aborted: false, NumSend: 1, NumRecv: 1 });
    },
  );

  await t.step("a truncated message nobody took stays queued: bytes first, then the error", async () => {
    const chan = new ChanElement(1);
    const sink = await chan.send();
    await sink.write(enc.encode("partial"));
    sink.release();
    assert.equal(chan.peek().NumSend, 1);
    const r = await chan.recv();
    assert.equal(dec.decode((await r.read(100))!), "partial");
    assertCause(await rejection(r.read(100)), "message truncated: sender disconnected");
    r.release();
    assert.equal(chan.peek().NumRecv, 1);
  });

  await t.step("an empty truncated message fails one receiver only, then is gone", async () => {
    const chan = new ChanElement(1);
    const sink = await chan.send();
    sink.release();
    const r = await chan.recv();
    assertCause(await rejection(r.read(100)), "message truncated: sender disconnected");
    r.release();
    await sendText(chan, "next");
    assert.equal(await recvText(chan), "next");
    assert.deepEqual(chan.peek(), { Cap: 1, Closed: false, Aborted: false, NumSend: 2, NumRecv: 2 });
  });

  await t.step("release() after close() changes nothing", async () => {
    const chan = new ChanElement(1);
    const sink = await chan.send();
    await sink.write(enc.encode("whole"));
    await sink.close();
    sink.release();
    assert.equal(await recvText(chan), "whole");
  });

  await t.step("a send() aborted while waiting rejects with the reason and leaves no trace", async () => {
    const chan = new ChanElement(0);
    const ac = new AbortController();
    const sending = chan.send(ac.signal);
    ac.abort(new Error("sender killed"));
    assert.equal((await rejection(sending) as Error).message, "sender killed");
    assert.equal(chan.peek().NumSend, 0);
    const waiting = chan.recv();
    assert.equal(await settled(waiting), false);
    await sendText(chan, "real");
    assert.equal(await readAll(await waiting), "real");
  });

  await t.step("send() with an already aborted signal rejects without admitting", async () => {
    const chan = new ChanElement(1);
    const ac = new AbortController();
    ac.abort(new Error("already"));
    assert.equal((await rejection(chan.send(ac.signal)) as Error).message, "already");
    assert.equal((await rejection(chan.recv(ac.signal)) as Error).message, "already");
    assert.equal(chan.peek().NumSend, 0);
  });
});
