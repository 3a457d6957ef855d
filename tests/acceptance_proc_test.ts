/**
 * Acceptance scenarios A11–A17, A25 (waitall) and A26 of SPEC §12: process elements driven
 * through the real CLI against a real server, with real child processes inspected in /proc.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  alive,
  assertQuiet,
  circuit,
  eventually,
  type RunResult,
  spawnCircuit,
  TestServer,
  withServer,
} from "./_harness.ts";
import { allProcs, liveGroup, type ProcInfo } from "./_proc.ts";
import { sleep } from "./_util.ts";

/** ERR(t) of §12: exit 1 and exactly one stderr line, starting `circuit: `, containing `t`. */
function assertErr(r: RunResult, t: string): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}; stderr: ${r.stderr}`);
  assertOneLine(r.stderr, t);
}

/** USAGE(t) of §12: like ERR(t) with exit 2. */
function assertUsage(r: RunResult, t: string): void {
  assert.equal(r.code, 2, `expected exit 2, got ${r.code}; stderr: ${r.stderr}`);
  assertOneLine(r.stderr, t);
}

function assertOneLine(stderr: string, t: string): void {
  const lines = stderr.split("\n");
  assert.equal(lines.at(-1), "", `stderr must end with a newline: ${JSON.stringify(stderr)}`);
  assert.equal(lines.length, 2, `stderr must be one line: ${JSON.stringify(stderr)}`);
  assert.ok(lines[0].startsWith("circuit: "), `stderr must start with "circuit: ": ${lines[0]}`);
  assert.ok(lines[0].includes(t), `stderr must contain ${JSON.stringify(t)}: ${lines[0]}`);
}

/** `circuit <cmd> -d <url> <rest>`. */
function cli(s: TestServer, cmd: string, ...rest: string[]): Promise<RunResult> {
  return circuit([cmd, "-d", s.url, ...rest]);
}

/** `echo <json> | circuit mkproc -d <url> [flags] <anchor>`. */
function mkproc(s: TestServer, anchor: string, cmd: unknown, flags: string[] = []): Promise<RunResult> {
  const text = typeof cmd === "string" ? cmd : JSON.stringify(cmd);
  return circuit(["mkproc", "-d", s.url, ...flags, anchor], { stdin: text + "\n" });
}

/** `peek` parsed; fails the test unless it exits 0 quietly on stderr. */
async function peek(s: TestServer, anchor: string): Promise<Record<string, unknown> | null> {
  const r = await cli(s, "peek", anchor);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  return JSON.parse(r.stdout);
}

async function lsNames(s: TestServer, anchor: string): Promise<string[]> {
  const r = await cli(s, "ls", anchor);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "");
}

/** Live processes whose argv ends with `sleep <arg>`, the way the scenarios name their sleeps. */
function sleeps(arg: string): ProcInfo[] {
  return allProcs().filter((p) =>
    p.state !== "Z" && p.argv.length === 2 && p.argv[0].endsWith("sleep") && p.argv[1] === arg
  );
}

function killQuietly(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

Deno.test("A11 — process output is readable and wait reports the command while stdin stays open", async (t) => {
  await withServer(async (s) => {
    const XA = s.serverAnchor;
    await t.step("mkproc exits 0 and prints nothing", async () => {
      assertQuiet(await mkproc(s, `${XA}/p`, { Path: "/bin/echo", Args: ["hi"] }));
    });
    await t.step("stdout prints the process's output and exits 0", async () => {
      assert.deepEqual(await cli(s, "stdout", `${XA}/p`), { code: 0, stdout: "hi\n", stderr: "" });
    });
    await t.step("wait prints Phase exited, Exit null and the Cmd as given", async () => {
      const r = await cli(s, "wait", `${XA}/p`);
      assert.equal(r.code, 0, r.stderr);
      const w = JSON.parse(r.stdout);
      assert.equal(w.Phase, "exited");
      assert.equal(w.Exit, null);
      assert.equal(w.Cmd.Path, "/bin/echo");
      assert.deepEqual(w.Cmd.Args, ["hi"]);
      assert.equal(w.Cmd.Env, null);
      assert.equal(w.Cmd.Dir, "");
    });
  });
});

Deno.test("A12 — a failing process reports its exit status, stdout and stderr separately", async (t) => {
  await withServer(async (s) => {
    const XA = s.serverAnchor;
    const script = "echo out; echo err >&2; exit 3";
    assertQuiet(await mkproc(s, `${XA}/p`, { Path: "/bin/sh", Args: ["-c", script] }));
    await t.step("stdout prints out\\n", async () => {
      assert.deepEqual(await cli(s, "stdout", `${XA}/p`), { code: 0, stdout: "out\n", stderr: "" });
    });
    await t.step("stderr prints err\\n on the tool's stdout", async () => {
      assert.deepEqual(await cli(s, "stderr", `${XA}/p`), { code: 0, stdout: "err\n", stderr: "" });
    });
    await t.step("within 1 s peek shows Phase exited and Exit exit status 3", async () => {
      await eventually("peek shows exited", 1000, async () => (await peek(s, `${XA}/p`))?.Phase === "exited");
      const p = await peek(s, `${XA}/p`);
      assert.deepEqual(p?.Exit, { Body: "exit status 3", Code: 3, Signal: null });
    });
    await t.step("wait exits 0, echoes the script and prints >&2 unescaped", async () => {
      const r = await cli(s, "wait", `${XA}/p`);
      assert.equal(r.code, 0, r.stderr);
      const w = JSON.parse(r.stdout);
      assert.equal(w.Cmd.Args[1], script);
      assert.ok(r.stdout.includes(">&2"), r.stdout);
      assert.deepEqual(w.Exit, { Body: "exit status 3", Code: 3, Signal: null });
    });
  });
});

Deno.test("A13 — exec failures create an element in Phase unknown and fail mkproc", async (t) => {
  await withServer(async (s, dir) => {
    const XA = s.serverAnchor;
    await t.step("a missing executable gives ERR(exec error … no such file or directory)", async () => {
      const r = await mkproc(s, `${XA}/e`, { Path: "/no/such" });
      assertErr(r, "exec error");
      assert.ok(r.stderr.includes("no such file or directory"), r.stderr);
    });
    await t.step("peek shows Phase unknown and an exec error Exit without Code", async () => {
      const p = await peek(s, `${XA}/e`) as { Phase: string; Exit: { Body: string; Code: number | null } };
      assert.equal(p.Phase, "unknown");
      assert.ok(p.Exit.Body.startsWith("exec error"), p.Exit.Body);
      assert.equal(p.Exit.Code, null);
    });
    await t.step("a path without / is not searched in PATH", async () => {
      assertErr(await mkproc(s, `${XA}/sh`, { Path: "sh", Args: ["-c", "true"], Dir: dir }), "exec error");
    });
    await t.step("input that is not JSON gives ERR(command json not parsing)", async () => {
      assertErr(await mkproc(s, `${XA}/b`, "not json"), "command json not parsing");
    });
  });
});

Deno.test("A14 — signals are delivered, named, recorded and refused once the process ended", async (t) => {
  await withServer(async (s) => {
    const XA = s.serverAnchor;
    let sleepPid = 0;
    try {
      assertQuiet(await mkproc(s, `${XA}/s`, { Path: "/bin/sleep", Args: ["100"] }));
      sleepPid = sleeps("100").find((p) => p.ppid === s.pid)?.pid ?? 0;
      await t.step("peek shows Phase running", async () => {
        assert.equal((await peek(s, `${XA}/s`))?.Phase, "running");
      });
      await t.step("an unknown signal name gives ERR(signal name not recognized)", async () => {
        assertErr(await cli(s, "signal", "bogus", `${XA}/s`), "signal name not recognized");
      });
      await t.step(
        "signal term exits 0 and within 1 s the process shows as signaled by SIGTERM",
        async () => {
          assertQuiet(await cli(s, "signal", "term", `${XA}/s`));
          await eventually(
            "peek shows signaled",
            1000,
            async () => (await peek(s, `${XA}/s`))?.Phase === "signaled",
          );
          const p = await peek(s, `${XA}/s`);
          assert.deepEqual(p?.Exit, { Body: "signal: terminated", Code: null, Signal: "SIGTERM" });
        },
      );
      await t.step("a signal to a finished process gives ERR(process already finished)", async () => {
        assertErr(await cli(s, "signal", "KILL", `${XA}/s`), "process already finished");
      });
      await t.step("ops.log records the signal", async () => {
        const lines = await s.opsLog();
        assert.ok(
          lines.some((l) => l.Op === "signal" && l.Signal === "SIGTERM" && l.Path === `${XA}/s`),
          JSON.stringify(lines),
        );
      });
      await t.step("signal with only an anchor is a usage error (exit 2)", async () => {
        assertUsage(await cli(s, "signal", `${XA}/s`), "signal needs a signal name and an anchor arguments");
      });
    } finally {
      if (sleepPid) killQuietly(sleepPid);
    }
  });
});

Deno.test("A15 — scrub aborts waiters but does not kill the process", async (t) => {
  await withServer(async (s) => {
    const XA = s.serverAnchor;
    const leftovers: number[] = [];
    try {
      assertQuiet(await mkproc(s, `${XA}/w`, { Path: "/bin/sleep", Args: ["101"] }));
      const mine = sleeps("101").filter((p) => p.ppid === s.pid);
      assert.equal(mine.length, 1, "the server runs one sleep 101");
      leftovers.push(mine[0].pid);
      const waiter = spawnCircuit(["wait", "-d", s.url, `${XA}/w`]);
      const waited = new Response(waiter.stderr).text();
      const waitOut = new Response(waiter.stdout).text();
      // The waiter needs a moment to start and reach the server; nothing observable says it has.
      await sleep(1500);
      await t.step("scrub makes the pending wait fail with ERR(aborted)", async () => {
        assertQuiet(await cli(s, "scrub", `${XA}/w`));
        const status = await waiter.status;
        assertErr({ code: status.code, stdout: await waitOut, stderr: await waited }, "aborted");
      });
      await t.step("peek of the scrubbed anchor prints null", async () => {
        assert.equal(await peek(s, `${XA}/w`), null);
      });
      await t.step("the sleep 101 process is still alive", () => {
        assert.ok(alive(mine[0].pid), "sleep 101 was killed by scrub");
      });
    } finally {
      leftovers.forEach(killQuietly);
    }
  });
});

Deno.test("A16 — scrub-on-exit detaches the finished process, but only its own element", async (t) => {
  await withServer(async (s) => {
    const XA = s.serverAnchor;
    await t.step("mkproc -scrub /bin/true disappears within 2 s", async () => {
      assertQuiet(await mkproc(s, `${XA}/t`, { Path: "/bin/true" }, ["-scrub"]));
      await eventually("peek $XA/t is null", 2000, async () => (await peek(s, `${XA}/t`)) === null);
      assert.ok(!(await lsNames(s, XA)).includes(`${XA}/t`));
    });
    await t.step("a newer element on the same anchor survives the old process's exit", async () => {
      assertQuiet(await mkproc(s, `${XA}/r`, { Path: "/bin/sleep", Args: ["1"] }, ["-scrub"]));
      assertQuiet(await cli(s, "scrub", `${XA}/r`));
      assertQuiet(await cli(s, "mkchan", `${XA}/r`, "1"));
      await sleep(3000);
      assert.deepEqual(await peek(s, `${XA}/r`), {
        Cap: 1,
        Closed: false,
        Aborted: false,
        NumSend: 0,
        NumRecv: 0,
      });
    });
  });
});

Deno.test("A17 — processes get the requested environment and directory, or inherit the server's", async (t) => {
  await withServer(async (s) => {
    const XA = s.serverAnchor;
    await t.step("Dir and Env are applied and Dir is reported by peek", async () => {
      assertQuiet(
        await mkproc(s, `${XA}/e1`, {
          Path: "/bin/sh",
          Args: ["-c", "pwd; echo FOO=$FOO"],
          Dir: "/usr",
          Env: ["FOO=bar"],
        }),
      );
      assert.deepEqual(await cli(s, "stdout", `${XA}/e1`), {
        code: 0,
        stdout: "/usr\nFOO=bar\n",
        stderr: "",
      });
      assert.equal((await peek(s, `${XA}/e1`) as { Cmd: { Dir: string } }).Cmd.Dir, "/usr");
    });
    await t.step("without Env the process inherits the server's environment", async () => {
      assertQuiet(await mkproc(s, `${XA}/e2`, { Path: "/bin/sh", Args: ["-c", "echo $FOO2"] }));
      assert.deepEqual(await cli(s, "stdout", `${XA}/e2`), { code: 0, stdout: "inherited\n", stderr: "" });
    });
    await t.step("Env [] gives an empty environment", async () => {
      assertQuiet(await mkproc(s, `${XA}/e3`, { Path: "/usr/bin/env", Env: [] }));
      assert.deepEqual(await cli(s, "stdout", `${XA}/e3`), { code: 0, stdout: "", stderr: "" });
      const r = await cli(s, "wait", `${XA}/e3`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).Exit, null);
    });
  }, { env: { FOO2: "inherited" } });
});

Deno.test("A25 — waitall waits for every listed process concurrently", async (t) => {
  await withServer(async (s) => {
    const XA = s.serverAnchor;
    const twoSleeps = async (a: string, b: string): Promise<number> => {
      assertQuiet(await mkproc(s, `${XA}/${a}`, { Path: "/bin/sleep", Args: ["1"] }));
      assertQuiet(await mkproc(s, `${XA}/${b}`, { Path: "/bin/sleep", Args: ["2"] }));
      return Date.now();
    };
    await t.step("two processes: returns after about 2 s, exit 0, prints nothing", async () => {
      const started = await twoSleeps("p1", "p2");
      const r = await circuit(["waitall", "-d", s.url], { stdin: `${XA}/p1\n${XA}/p2\n` });
      const took = Date.now() - started;
      assertQuiet(r);
      assert.ok(took >= 1800 && took < 5000, `took ${took} ms`);
    });
    await t.step("a line naming no process prints one error line and exits 1 after the others", async () => {
      const started = await twoSleeps("p3", "p4");
      const r = await circuit(["waitall", "-d", s.url], { stdin: `${XA}/p3\n${XA}/p4\n${XA}/nothing\n` });
      const took = Date.now() - started;
      assertErr(r, `${XA}/nothing`);
      assert.ok(r.stderr.includes("anchor is not a process or a docker container"), r.stderr);
      assert.equal(r.stdout, "");
      assert.ok(took >= 1800 && took < 5000, `took ${took} ms`);
    });
  });
});

Deno.test("A26 — processes lead their own group; scrub -kill and shutdown end whole groups", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-acc-proc-" });
  const s = await TestServer.start(dir);
  const leftovers = new Set<number>();
  try {
    const XA = s.serverAnchor;
    let leader = 0;
    await t.step("the started process is a group leader and both sleeps are in its group", async () => {
      assertQuiet(await mkproc(s, `${XA}/k`, { Path: "/bin/sh", Args: ["-c", "sleep 301 & sleep 302"] }));
      let sh: ProcInfo | undefined;
      await eventually("both sleeps run", 2000, () => {
        sh = allProcs().find((p) => p.ppid === s.pid && p.argv[0] === "/bin/sh");
        return !!sh && sleeps("301").length === 1 && sleeps("302").length === 1;
      });
      leader = sh!.pid;
      const group = [...sleeps("301"), ...sleeps("302")];
      group.forEach((p) => leftovers.add(p.pid));
      leftovers.add(leader);
      assert.equal(sh!.pgid, leader, "PGID = PID of the process circuit started");
      for (const p of group) assert.equal(p.pgid, leader, `sleep ${p.argv[1]} is in the group`);
    });
    await t.step("scrub -kill exits 0 and within 2 s no process of the group remains", async () => {
      assert.ok(leader > 0, "the group leader was found");
      assertQuiet(await cli(s, "scrub", "-kill", `${XA}/k`));
      await eventually("the group is gone", 2000, () => liveGroup(leader).length === 0);
    });
    await t.step("peek prints null and ops.log records the scrub with Kill true", async () => {
      assert.equal(await peek(s, `${XA}/k`), null);
      const scrub = (await s.opsLog()).filter((l) => l.Op === "scrub" && l.Path === `${XA}/k`);
      assert.equal(scrub.length, 1);
      assert.equal(scrub[0].Kill, true);
      assert.equal(scrub[0].Auto, false);
    });

    await t.step(
      "SIGTERM of the server ends both sleeps, even the TERM-ignoring one, and exits 0 within 7 s",
      async () => {
        assertQuiet(await mkproc(s, `${XA}/a`, { Path: "/bin/sleep", Args: ["303"] }));
        assertQuiet(await mkproc(s, `${XA}/b`, { Path: "/bin/sh", Args: ["-c", "trap '' TERM; sleep 304"] }));
        // The trap must be in place before the server sends SIGTERM: wait for sleep 304 to run.
        await eventually(
          "both sleeps run",
          2000,
          () => sleeps("303").length === 1 && sleeps("304").length === 1,
        );
        const victims = [...sleeps("303"), ...sleeps("304")];
        victims.forEach((p) => leftovers.add(p.pid));
        const began = Date.now();
        s.kill("SIGTERM");
        const status = await s.child.status;
        const took = Date.now() - began;
        assert.equal(status.code, 0);
        assert.ok(took < 7000, `server took ${took} ms to exit`);
        await eventually("the sleeps are gone", 500, () => victims.every((p) => !alive(p.pid)));
      },
    );
  } finally {
    leftovers.forEach(killQuietly);
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
