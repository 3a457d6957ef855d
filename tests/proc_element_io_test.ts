/**
 * Stdin and output readers of the process element (SPEC §7.2, acceptance A27): one stdin writer at
 * a time, `broken pipe` once the process stops reading, and output readers that go away losing
 * nothing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ProcElement } from "../server/elements/proc.ts";
import { cmd, context, decoder, encoder, isCause, readAll } from "./_proc_element.ts";
import { sleep } from "./_util.ts";

Deno.test("stdin: one writer at a time, kept open on release, closed for good by close()", async () => {
  const proc = ProcElement.start(cmd({ Path: "/bin/cat" }), context());
  const first = proc.openStdin();
  assert.throws(() => proc.openStdin(), isCause("stdin is being written by another client"));
  await first.write(encoder.encode("one "));
  first.release();
  first.release();
  await assert.rejects(first.write(encoder.encode("late")));
  const second = proc.openStdin();
  await second.write(encoder.encode("two"));
  await second.close();
  assert.throws(() => proc.openStdin(), isCause("stdin already closed"));
  assert.equal(await readAll(proc.stdout), "one two");
  assert.equal((await proc.wait()).Exit, null);
  await proc.closed;
});

Deno.test("stdin: writing to a process that exited or closed its stdin fails with `broken pipe`", async (t) => {
  await t.step("the process exited", async () => {
    const proc = ProcElement.start(cmd({ Path: "/bin/true" }), context());
    await proc.wait();
    const writer = proc.openStdin();
    await assert.rejects(writer.write(encoder.encode("x")), isCause("broken pipe"));
    writer.release();
    // Closing without data is still valid.
    await proc.openStdin().close();
    await proc.closed;
  });
  await t.step("the process closed its stdin and keeps running", async () => {
    const proc = ProcElement.start(cmd({ Path: "/bin/sh", Args: ["-c", "exec 0<&-; sleep 5"] }), context());
    await sleep(200);
    const writer = proc.openStdin();
    await assert.rejects(writer.write(encoder.encode("x")), isCause("broken pipe"));
    assert.equal(proc.running, true);
    await proc.scrub({ kill: true });
    await proc.closed;
  });
});

Deno.test("A27(b): a reader that goes away while waiting loses nothing", async () => {
  const proc = ProcElement.start(cmd({ Path: "/bin/sh", Args: ["-c", "sleep 1; echo late"] }), context());
  const reader = proc.stdout.openReader();
  const controller = new AbortController();
  const pending = reader.read(65536, controller.signal);
  await sleep(300);
  controller.abort(new Error("reader killed"));
  reader.release();
  await assert.rejects(pending, /reader killed/);
  await sleep(1200);
  assert.equal(await readAll(proc.stdout), "late\n");
  await proc.closed;
});

Deno.test("A27(c): a reader released midway and the next one together see every line", async () => {
  const script = "i=0; while [ $i -lt 50 ]; do echo line$i; i=$((i+1)); sleep 0.02; done";
  const proc = ProcElement.start(cmd({ Path: "/bin/sh", Args: ["-c", script] }), context());
  const first = proc.stdout.openReader();
  let acked = "";
  const deadline = Date.now() + 400;
  while (Date.now() < deadline) {
    const piece = (await first.read(65536))!;
    acked += decoder.decode(piece);
    first.ack(piece.length);
  }
  // Handed out (and maybe printed), but the reader dies before acknowledging it.
  const unacked = decoder.decode((await first.read(65536))!);
  first.release();
  const rest = await readAll(proc.stdout);
  const all = Array.from({ length: 50 }, (_, i) => `line${i}\n`).join("");
  assert.ok(acked.length > 0 && unacked.length > 0);
  assert.ok(rest.startsWith(unacked), "the next reader starts with the unacknowledged bytes");
  assert.equal(acked + rest, all);
  await proc.closed;
});
