import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import { ChanElement } from "../server/elements/chan.ts";
import { BODY_WINDOW } from "../server/elements/message_pipe.ts";
import { readAll, rejection, settled } from "./_elements.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function sendText(chan: ChanElement, text: string): Promise<void> {
  const sink = await chan.send();
  if (text.length > 0) await sink.write(enc.encode(text));
  await sink.close();
}

async function recvText(chan: ChanElement): Promise<string> {
  return readAll(await chan.recv());
}

function assertCause(err: unknown, cause: string): void {
  assert.ok(err instanceof CircuitError, `expected CircuitError, got ${err}`);
  assert.equal(err.message, cause);
}

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
