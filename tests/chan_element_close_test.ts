/**
 * Closing and scrubbing the channel element (SPEC §7.3, acceptance A9, A10): a closed channel
 * drains, then refuses with `channel closed`; a scrubbed one fails everything with `channel
 * aborted`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import { ChanElement } from "../server/elements/chan.ts";
import { BODY_WINDOW } from "../server/elements/message_pipe.ts";
import { readAll, rejection, settled } from "./_elements.ts";
import { assertCause, enc, recvText, sendText } from "./_chan_element.ts";

Deno.test("ChanElement close (A9)", async (t) => {
  await t.step("close() marks Closed; receivers drain the queue, then get channel closed", async () => {
    const chan = new ChanElement(2);
    await sendText(chan, "a");
    chan.close();
    assert.equal(chan.peek().Closed, true);
    assert.throws(() => chan.close(), new CircuitError("channel already closed"));
    assertCause(await rejection(chan.send()), "channel closed");
    assert.equal(await recvText(chan), "a");
    assertCause(await rejection(chan.recv()), "channel closed");
    assert.deepEqual(chan.peek(), { Cap: 2, Closed: true, Aborted: false, NumSend: 1, NumRecv: 1 });
  });

  await t.step("a waiting receiver gets channel closed when an empty channel is closed", async () => {
    const chan = new ChanElement(0);
    const waiting = chan.recv();
    chan.close();
    assertCause(await rejection(waiting), "channel closed");
  });

  await t.step("a sender waiting when the channel is closed still completes", async () => {
    const chan = new ChanElement(0);
    const sending = chan.send();
    chan.close();
    assert.equal(await settled(sending), false);
    const receiving = chan.recv();
    const sink = await sending;
    await sink.write(enc.encode("late"));
    await sink.close();
    assert.equal(await readAll(await receiving), "late");
    assertCause(await rejection(chan.recv()), "channel closed");
  });

  await t.step("a sender admitted after close() that disconnects leaves a truncated message", async () => {
    const chan = new ChanElement(1);
    await sendText(chan, "full");
    const sending = chan.send();
    chan.close();
    assert.equal(await recvText(chan), "full");
    // Taking "full" admitted the waiting sender; it leaves without writing.
    (await sending).release();
    const r = await chan.recv();
    assertCause(await rejection(r.read(10)), "message truncated: sender disconnected");
    r.release();
    assertCause(await rejection(chan.recv()), "channel closed");
  });

  await t.step("a waiting sender cancelled after close() lets receivers get channel closed", async () => {
    const chan = new ChanElement(0);
    const ac = new AbortController();
    const sending = chan.send(ac.signal);
    chan.close();
    ac.abort(new Error("bye"));
    await rejection(sending);
    assertCause(await rejection(chan.recv()), "channel closed");
  });

  await t.step(
    "while a message is in transfer, a receiver of a closed channel waits for its fate",
    async () => {
      const chan = new ChanElement(1);
      await sendText(chan, "m");
      chan.close();
      const first = await chan.recv();
      const second = chan.recv();
      assert.equal(await settled(second), false);
      first.release();
      assert.equal(await readAll(await second), "m");
      const third = chan.recv();
      assertCause(await rejection(third), "channel closed");
    },
  );

  await t.step(
    "a receiver waiting on a closed channel fails once the message in transfer is taken",
    async () => {
      const chan = new ChanElement(1);
      await sendText(chan, "m");
      chan.close();
      const first = await chan.recv();
      const second = chan.recv();
      assert.equal(await readAll(first), "m");
      assertCause(await rejection(second), "channel closed");
    },
  );
});

Deno.test("ChanElement scrub (A10)", async (t) => {
  await t.step("scrub() fails waiting receivers and senders with channel aborted", async () => {
    const chan = new ChanElement(0);
    const receiving = chan.recv();
    const other = new ChanElement(0);
    const sending = other.send();
    await chan.scrub({ kill: false });
    await other.scrub({ kill: true });
    assertCause(await rejection(receiving), "channel aborted");
    assertCause(await rejection(sending), "channel aborted");
    assert.equal(chan.peek().Aborted, true);
  });

  await t.step("after scrub() queued messages are dropped and every operation fails", async () => {
    const chan = new ChanElement(2);
    await sendText(chan, "dropped");
    chan.close();
    await chan.scrub({ kill: false });
    assertCause(await rejection(chan.recv()), "channel aborted");
    assertCause(await rejection(chan.send()), "channel aborted");
    assert.throws(() => chan.close(), new CircuitError("channel aborted"));
    assert.deepEqual(chan.peek(), { Cap: 2, Closed: true, Aborted: true, NumSend: 1, NumRecv: 0 });
  });

  await t.step("scrub() fails a body in transfer on both ends", async () => {
    const chan = new ChanElement(1);
    const sink = await chan.send();
    await sink.write(new Uint8Array(BODY_WINDOW));
    const blocked = sink.write(new Uint8Array(1));
    const r = await chan.recv();
    const c = await r.read(10);
    r.ack(c!.length);
    await blocked;
    const other = await chan.send();
    await chan.scrub({ kill: false });
    assertCause(await rejection(sink.write(new Uint8Array(1))), "channel aborted");
    assertCause(await rejection(sink.close()), "channel aborted");
    assertCause(await rejection(other.write(new Uint8Array(1))), "channel aborted");
    assertCause(await rejection(r.read(10)), "channel aborted");
    r.release();
    sink.release();
    other.release();
  });

  await t.step("a read waiting for body bytes fails with channel aborted on scrub", async () => {
    const chan = new ChanElement(0);
    const receiving = chan.recv();
    const sink = await chan.send();
    const r = await receiving;
    const reading = r.read(10);
    chan.dispose();
    assertCause(await rejection(reading), "channel aborted");
    assert.equal(chan.peek().Aborted, true);
    sink.release();
  });
});
