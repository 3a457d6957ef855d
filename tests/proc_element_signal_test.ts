/**
 * Signals, waits and process groups of the process element (SPEC §7.2, acceptance A14, A15, A26):
 * signal names and their errors, scrub failing pending waits, an aborted wait(), and scrub -kill
 * and SIGTERM-then-SIGKILL ending the whole group.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ProcElement } from "../server/elements/proc.ts";
import { describeSignal, parseSignal } from "../server/signals.ts";
import { groupMembers } from "./_proc.ts";
import { cmd, context, isCause, pgid, within } from "./_proc_element.ts";
import { sleep } from "./_util.ts";

Deno.test("A14: signals go to the process, with the spec's errors and Exit", async () => {
  const proc = ProcElement.start(cmd({ Path: "/bin/sleep", Args: ["100"] }), context());
  assert.equal(proc.peek().Phase, "running");
  assert.equal(proc.running, true);
  assert.throws(() => proc.signal("bogus"), isCause("signal name not recognized"));
  proc.signal("term");
  assert.equal(await within(1000, () => proc.peek().Phase === "signaled"), true);
  assert.deepEqual(proc.peek().Exit, { Body: "signal: terminated", Code: null, Signal: "SIGTERM" });
  assert.equal(proc.running, false);
  assert.throws(() => proc.signal("KILL"), isCause("process already finished"));
  await proc.closed;
  const never = ProcElement.start(cmd({ Path: "/no/such" }), context());
  assert.throws(() => never.signal("TERM"), isCause("no running process to signal"));
});

Deno.test("a signal outside the description table is described by its name", async () => {
  const proc = ProcElement.start(cmd({ Path: "/bin/sleep", Args: ["100"] }), context());
  proc.signal("SIGXCPU");
  const final = await proc.wait();
  assert.equal(final.Phase, "signaled");
  assert.deepEqual(final.Exit, { Body: "signal: SIGXCPU", Code: null, Signal: "SIGXCPU" });
  await proc.closed;
});

Deno.test("signal names: case, blanks and SIG prefix are ignored, numbers are not names", () => {
  assert.equal(parseSignal(" sigusr1\t"), "SIGUSR1");
  assert.equal(parseSignal("Hup"), "SIGHUP");
  assert.equal(parseSignal("IOT"), "SIGABRT");
  for (const name of ["9", "SIG", "", "SIGSIGTERM", "BREAK", "sig 9"]) {
    assert.throws(() => parseSignal(name), isCause("signal name not recognized"), name);
  }
  assert.equal(describeSignal("SIGSEGV"), "segmentation fault");
  assert.equal(describeSignal("SIGWINCH"), "SIGWINCH");
});

Deno.test("A15: scrub fails pending waits with `aborted` and leaves the process running", async () => {
  const proc = ProcElement.start(cmd({ Path: "/bin/sleep", Args: ["101"] }), context());
  const waiting = proc.wait();
  await proc.scrub({ kill: false });
  await assert.rejects(waiting, isCause("aborted"));
  await assert.rejects(proc.wait(), isCause("aborted"));
  await sleep(100);
  assert.equal(pgid(proc.pid!), proc.pid, "the sleep is still alive");
  assert.equal(proc.running, true);
  proc.signalGroup("SIGKILL");
  await proc.closed;
});

Deno.test("wait() rejects with the abort signal's reason when its caller gives up", async () => {
  const proc = ProcElement.start(cmd({ Path: "/bin/sleep", Args: ["100"] }), context());
  const controller = new AbortController();
  const waiting = proc.wait(controller.signal);
  controller.abort(new Error("client gone"));
  await assert.rejects(waiting, /client gone/);
  // Other waiters are unaffected.
  const other = proc.wait();
  proc.signal("KILL");
  assert.equal((await other).Phase, "signaled");
  await proc.closed;
});

Deno.test("A26: the process leads its own group and scrub -kill kills the whole group", async () => {
  const proc = ProcElement.start(cmd({ Path: "/bin/sh", Args: ["-c", "sleep 301 & sleep 302"] }), context());
  await proc.started;
  const pid = proc.pid!;
  assert.equal(pgid(pid), pid);
  assert.equal(await within(2000, () => groupMembers(pid).length === 3), true, "sh and both sleeps");
  const waiting = proc.wait();
  await proc.scrub({ kill: true });
  await assert.rejects(waiting, isCause("aborted"));
  assert.equal(await within(2000, () => groupMembers(pid).length === 0), true);
  await proc.closed;
});

Deno.test("A26: SIGTERM to the group, then SIGKILL, ends even a process that ignores TERM", async () => {
  const polite = ProcElement.start(cmd({ Path: "/bin/sleep", Args: ["303"] }), context());
  const stubborn = ProcElement.start(
    cmd({ Path: "/bin/sh", Args: ["-c", "trap '' TERM; sleep 304"] }),
    context(),
  );
  await sleep(200);
  for (const proc of [polite, stubborn]) proc.signalGroup("SIGTERM");
  assert.equal((await polite.wait()).Exit?.Signal, "SIGTERM");
  await sleep(300);
  assert.equal(stubborn.running, true);
  stubborn.signalGroup("SIGKILL");
  assert.equal((await stubborn.wait()).Exit?.Signal, "SIGKILL");
  // The leader's exit is seen first; the other member dies of the same signal a moment later.
  assert.equal(await within(2000, () => groupMembers(stubborn.pid!).length === 0), true, "the group is gone");
  await Promise.all([polite.closed, stubborn.closed]);
});
