import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import { OutputBuffer } from "../server/elements/output_buffer.ts";
import type { AckedReader } from "../wire/streams.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// A source that yields the given chunks, then ends.
function chunks(...parts: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((part) => encoder.encode(part)));
}

// Reads to the end, acknowledging every piece, and returns everything read.
async function drain(reader: AckedReader, max = 65536): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const piece = await reader.read(max);
    if (piece === null) break;
    pieces.push(piece.slice());
    total += piece.length;
    reader.ack(piece.length);
  }
  reader.ackEnd();
  const all = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    all.set(piece, at);
    at += piece.length;
  }
  return all;
}

// Whether `promise` is still pending after `ms` milliseconds.
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"pending">((resolve) => timer = setTimeout(() => resolve("pending"), ms));
  const outcome = await Promise.race([promise.then(() => "settled"), timeout]);
  clearTimeout(timer);
  return outcome === "pending";
}

Deno.test("OutputBuffer hands out bytes in order, then null at the end", async () => {
  const out = new OutputBuffer("stdout");
  await out.pump(chunks("hello ", "world"));
  const reader = out.openReader();
  assert.equal(decoder.decode(await drain(reader)), "hello world");
  // An ended and fully read stream gives a new reader nothing.
  assert.equal(await out.openReader().read(10), null);
});

Deno.test("OutputBuffer.read() waits for bytes the source has not produced yet", async () => {
  const out = new OutputBuffer("stdout");
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const pumped = out.pump(new ReadableStream({ start: (c) => void (push = c) }));
  const reader = out.openReader();
  const pending = reader.read(100);
  assert.equal(await pendingAfter(pending, 50), true);
  push.enqueue(encoder.encode("late"));
  assert.equal(decoder.decode((await pending)!), "late");
  reader.ack(4);
  const end = reader.read(100);
  push.close();
  assert.equal(await end, null);
  reader.ackEnd();
  await pumped;
});

Deno.test("OutputBuffer.read() returns at most max bytes", async () => {
  const out = new OutputBuffer("stderr");
  await out.pump(chunks("abcdefgh"));
  const reader = out.openReader();
  assert.equal(decoder.decode((await reader.read(3))!), "abc");
  assert.equal(decoder.decode((await reader.read(3))!), "def");
  assert.equal(decoder.decode((await reader.read(3))!), "gh");
  reader.release();
});

Deno.test("OutputBuffer gathers many small chunks into one read", async () => {
  const out = new OutputBuffer("stdout");
  await out.pump(chunks(...Array.from({ length: 1000 }, (_, i) => `line${i % 10}\n`)));
  const reader = out.openReader();
  const piece = (await reader.read(65536))!;
  assert.equal(piece.length, 6000);
  assert.equal(decoder.decode(piece.subarray(0, 12)), "line0\nline1\n");
  reader.release();
});

Deno.test("OutputBuffer refuses a second concurrent reader with the spec's text", async (t) => {
  for (const name of ["stdout", "stderr"] as const) {
    await t.step(name, () => {
      const out = new OutputBuffer(name);
      const first = out.openReader();
      assert.throws(
        () => out.openReader(),
        (err) => err instanceof CircuitError && err.message === `${name} is being read by another client`,
      );
      first.release();
      out.openReader().release();
    });
  }
});

Deno.test("OutputBuffer: a reader released midway loses nothing for the next reader", async (t) => {
  await t.step("handed-out but unacknowledged bytes go back to the front", async () => {
    const out = new OutputBuffer("stdout");
    await out.pump(chunks("0123", "4567", "89"));
    const first = out.openReader();
    assert.equal(decoder.decode((await first.read(3))!), "012");
    first.ack(2);
    assert.equal(decoder.decode((await first.read(4))!), "3456");
    first.release();
    // Late calls of the released reader change nothing for the next one.
    first.ack(5);
    await assert.rejects(first.read(10));
    assert.equal(decoder.decode(await drain(out.openReader())), "23456789");
  });
  await t.step("a read pending at release rejects and the next reader gets the bytes", async () => {
    const out = new OutputBuffer("stdout");
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const pumped = out.pump(new ReadableStream({ start: (c) => void (push = c) }));
    const first = out.openReader();
    const pending = first.read(10);
    first.release();
    await assert.rejects(pending);
    push.enqueue(encoder.encode("kept"));
    push.close();
    assert.equal(decoder.decode(await drain(out.openReader())), "kept");
    await pumped;
  });
  await t.step("release() after ackEnd() is a no-op and the slot is free", async () => {
    const out = new OutputBuffer("stdout");
    await out.pump(chunks("x"));
    const reader = out.openReader();
    assert.equal(decoder.decode(await drain(reader)), "x");
    reader.release();
    assert.equal(await out.openReader().read(1), null);
  });
});

Deno.test("OutputBuffer.read() rejects with the abort reason and keeps the bytes", async () => {
  const out = new OutputBuffer("stdout");
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const pumped = out.pump(new ReadableStream({ start: (c) => void (push = c) }));
  const reader = out.openReader();
  const controller = new AbortController();
  const pending = reader.read(10, controller.signal);
  controller.abort(new Error("client went away"));
  await assert.rejects(pending, /client went away/);
  push.enqueue(encoder.encode("still here"));
  push.close();
  assert.equal(decoder.decode(await drain(reader)), "still here");
  await pumped;
});

Deno.test("OutputBuffer.ack() of more than was handed out throws", async () => {
  const out = new OutputBuffer("stdout");
  await out.pump(chunks("abc"));
  const reader = out.openReader();
  await reader.read(2);
  assert.throws(() => reader.ack(3), RangeError);
  reader.release();
});

Deno.test("OutputBuffer stops reading its source at the limit until bytes are acknowledged", async () => {
  const limit = 256 * 1024;
  const piece = 16 * 1024;
  let pulled = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += piece;
      controller.enqueue(new Uint8Array(piece));
      if (pulled >= 4 * limit) controller.close();
    },
  }, { highWaterMark: 0 });
  const out = new OutputBuffer("stdout", limit);
  const pumped = out.pump(source);
  await new Promise((resolve) => setTimeout(resolve, 50));
  // It may overshoot by the one chunk that crossed the limit, never more.
  assert.ok(pulled >= limit && pulled <= limit + piece, `pulled ${pulled}`);
  const reader = out.openReader();
  const first = (await reader.read(piece))!;
  assert.equal(pulled <= limit + piece, true, "reading without ack frees no room");
  reader.ack(first.length);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(pulled > limit + piece - 1 && pulled <= limit + 2 * piece, `pulled ${pulled} after ack`);
  assert.equal((await drain(reader)).length + first.length, 4 * limit);
  await pumped;
});

Deno.test("OutputBuffer: a process writing 5 MiB blocks until its output is acknowledged", async () => {
  const size = 5 * 1024 * 1024;
  const child = new Deno.Command("/usr/bin/head", {
    args: ["-c", String(size), "/dev/zero"],
    stdout: "piped",
  }).spawn();
  const out = new OutputBuffer("stdout");
  const pumped = out.pump(child.stdout);
  assert.equal(await pendingAfter(child.status, 1000), true, "the writer must be blocked");
  const all = await drain(out.openReader());
  assert.equal(all.length, size);
  assert.equal((await child.status).code, 0);
  await pumped;
});

Deno.test("OutputBuffer.discard() ends the stream for readers and keeps draining the process", async () => {
  const child = new Deno.Command("/usr/bin/head", {
    args: ["-c", String(5 * 1024 * 1024), "/dev/zero"],
    stdout: "piped",
  }).spawn();
  const out = new OutputBuffer("stdout");
  const pumped = out.pump(child.stdout);
  const reader = out.openReader();
  assert.ok((await reader.read(10)) !== null);
  out.discard();
  assert.equal(await reader.read(10), null);
  reader.ackEnd();
  // Nobody reads, yet the writer finishes: the pipe is drained.
  assert.equal((await child.status).code, 0);
  await pumped;
});

Deno.test("OutputBuffer moves 50 MB from a process to an acknowledging reader quickly", async () => {
  const size = 50_000_000;
  const started = performance.now();
  const child = new Deno.Command("/usr/bin/head", {
    args: ["-c", String(size), "/dev/zero"],
    stdout: "piped",
  })
    .spawn();
  const out = new OutputBuffer("stdout");
  const pumped = out.pump(child.stdout);
  const reader = out.openReader();
  let total = 0;
  while (true) {
    const piece = await reader.read(65536);
    if (piece === null) break;
    total += piece.length;
    reader.ack(piece.length);
  }
  reader.ackEnd();
  await pumped;
  await child.status;
  const seconds = (performance.now() - started) / 1000;
  assert.equal(total, size);
  // Unloaded this takes about 0.1 s (the pipe itself is the limit); 1 s leaves room for a busy
  // 2-core machine yet fails for per-byte work or re-concatenating the queue on every read.
  assert.ok(seconds < 1, `50 MB took ${seconds.toFixed(2)} s`);
});

Deno.test("OutputBuffer: reused read buffers never change bytes a reader gets, across a reader change", async () => {
  // 8.9 MB of distinct lines. The buffer fills to its limit first, so the pipe fills too and
  // is read in full 64 KiB reads, whose buffers are reused once acknowledged.
  const expected = Array.from({ length: 1_200_000 }, (_, i) => `${i + 1}\n`).join("");
  const child = new Deno.Command("/usr/bin/seq", { args: ["1", "1200000"], stdout: "piped" }).spawn();
  const out = new OutputBuffer("stdout");
  const pumped = out.pump(child.stdout);
  await new Promise((r) => setTimeout(r, 300));
  // A first reader takes 3 MB, acknowledges all but its last piece, and goes away.
  const first = out.openReader();
  let head = "";
  let last: Uint8Array | null = null;
  while (head.length < 3_000_000) {
    const piece = (await first.read(65536))!;
    if (last) first.ack(last.length);
    last = piece.slice();
    head += decoder.decode(last);
  }
  first.release();
  // The next reader starts at the unacknowledged piece and reads to the end.
  const rest = decoder.decode(await drain(out.openReader()));
  assert.equal(head.slice(0, head.length - last!.length) + rest, expected);
  await pumped;
  await child.status;
});
