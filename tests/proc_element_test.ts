import assert from "node:assert/strict";
import type { Cmd } from "../wire/cmd.ts";
import { parseCmdJson, validateCmd } from "../wire/cmd.ts";
import { CircuitError } from "../wire/errors.ts";
import { ProcElement } from "../server/elements/proc.ts";
import type { OutputBuffer } from "../server/elements/output_buffer.ts";
import { describeSignal, parseSignal } from "../server/signals.ts";
import { groupMembers, procInfo } from "./_proc.ts";
import { sleep } from "./_util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cmd(fields: Partial<Cmd>): Cmd {
  return { Path: "/bin/true", Args: [], Env: null, Dir: "", Scrub: false, ...fields };
}

// An element context that counts detachSelf() calls.
function context() {
  return {
    path: "/X0123456789abcdef/p",
    detached: 0,
    detachSelf() {
      this.detached++;
    },
    log() {},
  };
}

async function readAll(out: OutputBuffer): Promise<string> {
  const reader = out.openReader();
  let text = "";
  while (true) {
    const piece = await reader.read(65536);
    if (piece === null) break;
    text += decoder.decode(piece, { stream: true });
    reader.ack(piece.length);
  }
  reader.ackEnd();
  return text;
}

function isCause(message: string): (err: unknown) => boolean {
  return (err) => err instanceof CircuitError && err.message === message;
}

// The process group of a live process.
function pgid(pid: number): number | null {
  return procInfo(pid)?.pgid ?? null;
}

// The children of this (server) process, from every thread's children list.
function children(): number[] {
  const pids: number[] = [];
  for (const task of Deno.readDirSync("/proc/self/task")) {
    const text = Deno.readTextFileSync(`/proc/self/task/${task.name}/children`).trim();
    if (text !== "") pids.push(...text.split(" ").map(Number));
  }
  return pids;
}

async function within(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

Deno.test("A11: a process's stdout is readable and wait() reports its final state, stdin left open", async () => {
  const proc = ProcElement.start(cmd({ Path: "/bin/echo", Args: ["hi"] }), context());
  assert.equal(await readAll(proc.stdout), "hi\n");
  const final = await proc.wait();
  assert.deepEqual(final, {
    Cmd: { Env: null, Dir: "", Path: "/bin/echo", Args: ["hi"], Scrub: false },
    Exit: null,
    Phase: "exited",
  });
  await proc.closed;
});

Deno.test("peek() prints Cmd, Exit and Phase in the spec's key order", async () => {
  const proc = ProcElement.start(
    cmd({ Path: "/bin/sh", Args: ["-c", "exit 3"], Dir: "/tmp", Scrub: false }),
    context(),
  );
  await proc.wait();
  assert.equal(
    JSON.stringify(proc.peek()),
    '{"Cmd":{"Env":null,"Dir":"/tmp","Path":"/bin/sh","Args":["-c","exit 3"],"Scrub":false},' +
      '"Exit":{"Body":"exit status 3","Code":3,"Signal":null},"Phase":"exited"}',
  );
  await proc.closed;
});

Deno.test("A12: a failing process's stdout, stderr and exit status, stdin never closed", async () => {
  const script = "echo out; echo err >&2; exit 3";
  const proc = ProcElement.start(cmd({ Path: "/bin/sh", Args: ["-c", script] }), context());
  assert.equal(await readAll(proc.stdout), "out\n");
  assert.equal(await readAll(proc.stderr), "err\n");
  assert.equal(await within(1000, () => proc.peek().Phase === "exited"), true);
  const peek = proc.peek();
  assert.deepEqual(peek.Exit, { Body: "exit status 3", Code: 3, Signal: null });
  assert.equal(peek.Cmd.Args[1], script);
  await proc.closed;
});

Deno.test("exit is recorded as soon as the process ends, although nobody closed stdin or read output", async () => {
  const proc = ProcElement.start(cmd({ Path: "/bin/sh", Args: ["-c", "echo unread; exit 0"] }), context());
  const started = Date.now();
  assert.equal((await proc.wait()).Phase, "exited");
  assert.ok(Date.now() - started < 1000);
  assert.equal(await readAll(proc.stdout), "unread\n");
  await proc.closed;
});

Deno.test("A13: a program that cannot start gives Phase unknown and an exec error", async (t) => {
  await t.step("missing file", async () => {
    const proc = ProcElement.start(cmd({ Path: "/no/such" }), context());
    assert.deepEqual(proc.peek().Exit, {
      Body: "exec error: /no/such: no such file or directory",
      Code: null,
      Signal: null,
    });
    assert.equal(proc.peek().Phase, "unknown");
    assert.equal(proc.pid, null);
    const writer = proc.openStdin();
    await assert.rejects(writer.write(encoder.encode("x")), isCause("broken pipe"));
    await writer.close();
    assert.equal((await proc.wait()).Phase, "unknown");
    assert.equal(await readAll(proc.stdout), "");
    await proc.closed;
  });
  await t.step("a file that is not executable", () => {
    const file = Deno.makeTempFileSync();
    try {
      Deno.chmodSync(file, 0o644);
      const proc = ProcElement.start(cmd({ Path: file }), context());
      assert.equal(proc.peek().Exit?.Body, `exec error: ${file}: permission denied`);
    } finally {
      Deno.removeSync(file);
    }
  });
  await t.step("no PATH search: a bare name is relative to Dir", async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const missing = ProcElement.start(cmd({ Path: "sh", Args: ["-c", "true"], Dir: dir }), context());
      assert.equal(missing.peek().Phase, "unknown");
      assert.match(missing.peek().Exit!.Body, /^exec error: sh: no such file or directory$/);
      Deno.writeTextFileSync(`${dir}/sh`, "#!/bin/sh\necho local\n", { mode: 0o755 });
      const local = ProcElement.start(cmd({ Path: " sh ".trim(), Dir: dir }), context());
      assert.equal(await readAll(local.stdout), "local\n");
      await local.closed;
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
  await t.step("a missing working directory", () => {
    const proc = ProcElement.start(cmd({ Path: "/bin/true", Dir: "/no/dir" }), context());
    assert.equal(proc.peek().Exit?.Body, "exec error: /bin/true: chdir /no/dir: no such file or directory");
  });
  await t.step("with Scrub the element detaches itself at once", async () => {
    const ctx = context();
    ProcElement.start(cmd({ Path: "/no/such", Scrub: true }), ctx);
    await sleep(0);
    assert.equal(ctx.detached, 1);
  });
  await t.step("bad command JSON is a `command json not parsing` error", () => {
    assert.throws(() => parseCmdJson("not json"), (err) => {
      return err instanceof CircuitError && err.message.startsWith("command json not parsing: ");
    });
  });
});

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

Deno.test("A16: with Scrub the element detaches itself when the process exits, and stays readable", async () => {
  const ctx = context();
  const proc = ProcElement.start(cmd({ Path: "/bin/echo", Args: ["bye"], Scrub: true }), ctx);
  assert.equal(ctx.detached, 0);
  assert.equal(await within(2000, () => ctx.detached === 1), true);
  assert.equal((await proc.wait()).Phase, "exited");
  assert.equal(await readAll(proc.stdout), "bye\n");
  await proc.closed;
  assert.equal(ctx.detached, 1);
});

Deno.test("a scrubbed Scrub process does not detach itself again when it exits", async () => {
  const ctx = context();
  const proc = ProcElement.start(cmd({ Path: "/bin/sleep", Args: ["0.2"], Scrub: true }), ctx);
  await proc.scrub({ kill: false });
  await proc.closed;
  assert.equal(ctx.detached, 0);
});

Deno.test("A17: environment and working directory", async (t) => {
  await t.step("Dir and Env are the child's", async () => {
    const proc = ProcElement.start(
      cmd({ Path: "/bin/sh", Args: ["-c", "pwd; echo FOO=$FOO"], Dir: "/usr", Env: ["FOO=bar"] }),
      context(),
    );
    assert.equal(await readAll(proc.stdout), "/usr\nFOO=bar\n");
    assert.equal(proc.peek().Cmd.Dir, "/usr");
    await proc.closed;
  });
  await t.step("Env null inherits the server's environment", async () => {
    Deno.env.set("FOO2", "inherited");
    try {
      const proc = ProcElement.start(cmd({ Path: "/bin/sh", Args: ["-c", "echo $FOO2"] }), context());
      assert.equal(await readAll(proc.stdout), "inherited\n");
      await proc.closed;
    } finally {
      Deno.env.delete("FOO2");
    }
  });
  await t.step("Env [] is an empty environment", async () => {
    const proc = ProcElement.start(cmd({ Path: "/usr/bin/env", Env: [] }), context());
    assert.equal(await readAll(proc.stdout), "");
    assert.equal((await proc.wait()).Exit, null);
    await proc.closed;
  });
});

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

Deno.test("dispose() drains and discards output so an unheld process never blocks", async () => {
  const proc = ProcElement.start(
    cmd({ Path: "/usr/bin/head", Args: ["-c", String(4 * 1024 * 1024), "/dev/zero"] }),
    context(),
  );
  proc.dispose();
  assert.equal((await proc.wait()).Phase, "exited");
  await proc.closed;
});

Deno.test("1000 processes started and waited leave no zombie behind", async () => {
  const started = performance.now();
  // In batches, so the test measures reaping rather than the machine's process limit.
  for (let batch = 0; batch < 20; batch++) {
    const procs = Array.from({ length: 50 }, () => ProcElement.start(cmd({ Path: "/bin/true" }), context()));
    await Promise.all(procs.map((proc) => proc.wait()));
    await Promise.all(procs.map((proc) => proc.closed));
  }
  const seconds = (performance.now() - started) / 1000;
  assert.deepEqual(children(), []);
  assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
});

Deno.test("Cmd JSON: keys case-insensitive, unknown keys ignored, wrong types refused", async (t) => {
  await t.step("fields and defaults", () => {
    assert.deepEqual(parseCmdJson('{"path": " /bin/sh ", "ARGS": ["-c", "x"], "Other": {"a": 1}}'), {
      Path: "/bin/sh",
      Args: ["-c", "x"],
      Env: null,
      Dir: "",
      Scrub: false,
    });
    assert.deepEqual(parseCmdJson('{"Path":"/x","Env":[],"dir":"/tmp","scrub":true,"args":null}'), {
      Path: "/x",
      Args: [],
      Env: [],
      Dir: "/tmp",
      Scrub: true,
    });
  });
  await t.step("errors", () => {
    const cases: [string, string][] = [
      ['{"Path": 3}', "Path must be a string"],
      ['{"Path": "/x", "Args": "a"}', "Args must be a list of strings"],
      ['{"Path": "/x", "Args": [1]}', "Args must be a list of strings"],
      ['{"Path": "/x", "Env": {}}', "Env must be a list of strings"],
      ['{"Path": "/x", "Scrub": "yes"}', "Scrub must be a boolean"],
      ['{"Path": "/x", "Dir": false}', "Dir must be a string"],
      ['{"Path": "  "}', "Path is required"],
      ["[]", "not a JSON object"],
      ["null", "not a JSON object"],
    ];
    for (const [text, reason] of cases) {
      assert.throws(() => parseCmdJson(text), isCause(`command json not parsing: ${reason}`), text);
    }
    assert.throws(() => parseCmdJson('{"Path": "/x"} {}'), CircuitError);
    assert.throws(() => validateCmd("text"), isCause("command json not parsing: not a JSON object"));
  });
});
