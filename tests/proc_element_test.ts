/**
 * The process element (SPEC §7.2, acceptance A11–A13, A16, A17) as a unit: output and the final
 * state, programs that cannot start, Scrub detaching the element, environment and working
 * directory, dispose(), and no zombie after 1000 processes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseCmdJson } from "../wire/cmd.ts";
import { CircuitError } from "../wire/errors.ts";
import { ProcElement } from "../server/elements/proc.ts";
import { children, cmd, context, encoder, isCause, readAll, within } from "./_proc_element.ts";
import { sleep } from "./_util.ts";

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
