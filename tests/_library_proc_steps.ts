/**
 * Steps of the library test (tests/library_test.ts) on processes on B: stdin, stdout and stderr,
 * wait() and peek(), discard(), signals, a missing executable, scrub-on-exit, aborted waits, a
 * cancelled stdout losing nothing, and scrub() aborting a channel.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CircuitError, Proc } from "../mod.ts";
import { eventually } from "./_harness.ts";
import { dec, enc, type LibraryCluster, rejectsWith, text, WINDOW } from "./_library.ts";
import { sleep } from "./_util.ts";

/** The process steps, in order. */
export async function procSteps(t: Deno.TestContext, k: LibraryCluster): Promise<void> {
  const { onB } = k;

  await t.step(
    "makeProc: closing stdin gives the process EOF; stdout, wait() and peek() report",
    async () => {
      const proc = await onB("proc/cat").makeProc({ path: "/bin/cat" });
      assert.ok(proc instanceof Proc);
      assert.equal(proc.kind, "proc");
      assert.equal((await proc.peek()).phase, "running");
      const w = proc.stdin.getWriter();
      await w.write(enc.encode("abc\n"));
      await w.close();
      assert.equal(await text(proc.stdout), "abc\n");
      assert.equal(await text(proc.stderr), "");
      const stat = await proc.wait();
      assert.deepEqual(stat, {
        cmd: { path: "/bin/cat", args: [], env: null, dir: "", scrub: false },
        phase: "exited",
        exit: null,
      });
      assert.deepEqual(await proc.peek(), stat);
    },
  );

  await t.step("aborting a stdin writer leaves stdin open for the next writer", async () => {
    const anchor = onB("proc/cat2");
    const proc = await anchor.makeProc({ path: "/bin/cat" });
    const first = proc.stdin.getWriter();
    await first.write(enc.encode("a"));
    await first.abort();
    const out = proc.stdout.getReader();
    assert.equal(dec.decode((await out.read()).value), "a");
    // The aborted stream stays errored; a second handle brings a fresh one.
    const again = await anchor.get();
    assert.ok(again instanceof Proc);
    const second = again.stdin.getWriter();
    await second.write(enc.encode("b"));
    await second.close();
    let rest = "";
    for (let r = await out.read(); !r.done; r = await out.read()) rest += dec.decode(r.value);
    assert.equal(rest, "b");
    assert.equal((await proc.wait()).exit, null);
  });

  await t.step("discard() lets a process whose output nobody reads run to its end", async () => {
    // 3 MB is well beyond the 1 MiB the server buffers per stream (SPEC §7.2).
    const proc = await onB("proc/flood").makeProc({
      path: "/usr/bin/head",
      args: ["-c", "3000000", "/dev/zero"],
    });
    await sleep(500);
    assert.equal((await proc.peek()).phase, "running", "the unread process did not block on its output");
    await proc.discard("stdout");
    const stat = await Promise.race([proc.wait(), sleep(5000).then(() => null)]);
    assert.ok(stat, "the process did not finish within 5 s of discard()");
    assert.equal(stat.phase, "exited");
  });

  await t.step("scrub() aborts a channel: a pending recv() through the handle fails", async () => {
    const anchor = onB("lib/scrubbed");
    const chan = await anchor.makeChan(0);
    const pending = chan.recv();
    await sleep(200);
    await anchor.scrub();
    await rejectsWith(pending, CircuitError, "channel aborted");
    assert.equal(await anchor.get(), null);
    await rejectsWith(chan.send(), CircuitError, "channel aborted");
  });

  await t.step("a process's stderr is its own stream and a failing exit is reported", async () => {
    const proc = await onB("proc/fail").makeProc({
      path: "/bin/sh",
      args: ["-c", "echo out; echo err >&2; exit 3"],
    });
    assert.equal(await text(proc.stderr), "err\n");
    assert.equal(await text(proc.stdout), "out\n");
    const stat = await proc.wait();
    assert.equal(stat.phase, "exited");
    assert.deepEqual(stat.exit, { body: "exit status 3", code: 3, signal: null });
  });

  await t.step("signal() terminates a process; bad names and finished processes are refused", async () => {
    const proc = await onB("proc/sleep").makeProc({ path: "/bin/sleep", args: ["100"] });
    await rejectsWith(proc.signal("bogus"), CircuitError, "signal name not recognized");
    await proc.signal("TERM");
    const stat = await proc.wait();
    assert.equal(stat.phase, "signaled");
    assert.deepEqual(stat.exit, { body: "signal: terminated", code: null, signal: "SIGTERM" });
    await rejectsWith(proc.signal("KILL"), CircuitError, "process already finished");
  });

  await t.step("makeProc of a missing executable resolves; peek and wait show phase unknown", async () => {
    const proc = await onB("proc/nosuch").makeProc({ path: "/no/such" });
    const stat = await proc.peek();
    assert.equal(stat.phase, "unknown");
    assert.ok(stat.exit!.body.startsWith("exec error: /no/such"), stat.exit!.body);
    assert.equal(stat.exit!.code, null);
    assert.deepEqual(await proc.wait(), stat);
  });

  await t.step("a handle outlives scrub-on-exit: output and wait() remain available", async () => {
    const anchor = onB("proc/auto");
    const proc = await anchor.makeProc({
      path: "/bin/sh",
      args: ["-c", "echo one; echo two >&2"],
      scrub: true,
    });
    await eventually("the element detached itself", 3000, async () => (await anchor.get()) === null);
    assert.equal(await text(proc.stdout), "one\n");
    assert.equal(await text(proc.stderr), "two\n");
    const stat = await proc.wait();
    assert.equal(stat.phase, "exited");
    assert.equal(stat.cmd.scrub, true);
  });

  await t.step("aborting wait() rejects it; a later wait() still returns the exit", async () => {
    const proc = await onB("proc/short").makeProc({ path: "/bin/sleep", args: ["1"] });
    const ctl = new AbortController();
    const pending = proc.wait({ signal: ctl.signal });
    await sleep(200);
    ctl.abort();
    await assert.rejects(pending);
    assert.equal((await proc.wait()).phase, "exited");
  });

  await t.step("cancelling a stdout stream midway loses nothing: a new reader gets the rest", async () => {
    const proc = await onB("proc/seq").makeProc({ path: "/usr/bin/seq", args: ["1", "30000"] });
    const all = Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join("");
    const first = proc.stdout.getReader();
    let head = "";
    while (head.length < 20000) {
      const { done, value } = await first.read();
      assert.ok(!done, "stdout ended early");
      head += dec.decode(value);
    }
    await first.cancel();
    const tail = await text(proc.stdout);
    assert.ok(all.startsWith(head), "the first reader's bytes are not a prefix");
    assert.ok(all.endsWith(tail), "the second reader's bytes are not a suffix");
    const overlap = head.length + tail.length - all.length;
    assert.ok(overlap >= 0, `${-overlap} bytes lost`);
    assert.ok(overlap <= WINDOW, `${overlap} bytes seen twice`);
    await proc.wait();
  });
}
