/**
 * `circuit run` (SPEC §15.2, selectors §15.1) on a real cluster of three servers with different
 * tags, through the real CLI: output, stdin and exit codes, selectors, Ctrl-C and -timeout, a
 * killed client and -detach.
 *
 * @module
 */
import assert from "node:assert/strict";
import { alive, circuit, CLIENT_TIMEOUT_MS, eventually, follow, spawnCircuit } from "./_harness.ts";
import { HOST, sleepers, withCluster } from "./_tagged_cluster.ts";

Deno.test("run passes output, stdin and exit codes through, and scrubs after reading the output", async (t) => {
  await withCluster(async (c) => {
    const [a] = c.servers;
    await t.step("exit 0 and the output of a program that exits at once", async () => {
      for (let i = 0; i < 5; i++) {
        const r = await c.run(["--", "/bin/echo", "quick"]);
        assert.deepEqual(r, { code: 0, stdout: "quick\n", stderr: "" });
      }
    });
    await t.step("exit code 7 passes through, stderr goes to stderr", async () => {
      const r = await c.run(["--", "/bin/sh", "-c", "echo out; echo err >&2; exit 7"]);
      assert.deepEqual(r, { code: 7, stdout: "out\n", stderr: "err\n" });
    });
    await t.step("a signal: 128+n and one summary line", async () => {
      const r = await c.run(["--", "/bin/sh", "-c", "kill -KILL $$"]);
      assert.equal(r.code, 137);
      assert.match(r.stderr, new RegExp(`^${HOST} \\(${a.serverAnchor}/run/[0-9a-f]+\\): signal KILL\\n$`));
    });
    await t.step("stdin goes to a single target", async () => {
      const r = await c.run(["--", "/bin/cat"], { stdin: "line one\nline two\n" });
      assert.deepEqual(r, { code: 0, stdout: "line one\nline two\n", stderr: "" });
    });
    await t.step("a bare program name is found in the target's PATH", async () => {
      const r = await c.run(["--", "printf", "%s", "x"]);
      assert.deepEqual(r, { code: 0, stdout: "x", stderr: "" });
    });
    await t.step("-env adds to the server's environment, -dir sets the working directory", async () => {
      const r = await c.run([
        "-env",
        "GREETING=hi there",
        "-dir",
        "/tmp",
        "--",
        "/bin/sh",
        "-c",
        'echo "$GREETING $(pwd) ${PATH:+path}"',
      ]);
      assert.deepEqual(r, { code: 0, stdout: "hi there /tmp path\n", stderr: "" });
    });
    await t.step("10 MB of output, byte-exact", async () => {
      const r = await circuit([
        "run",
        "-d",
        a.url,
        "--",
        "/bin/sh",
        "-c",
        "head -c 10485760 /dev/zero | tr '\\0' x",
      ], {
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, 10 * 1024 * 1024);
      assert.ok(/^x+$/.test(r.stdout));
    });
    await t.step("a program that cannot start: one line, exit 127", async () => {
      const r = await c.run(["--", "/no/such/program"]);
      assert.equal(r.code, 127);
      assert.match(r.stderr, /exec error: \/no\/such\/program/);
    });
    await t.step("nothing is left behind under /X…/run", async () => {
      for (const s of c.servers) {
        const r = await circuit(["ls", "-d", a.url, `${s.serverAnchor}/...`]);
        assert.equal(r.stdout, "", `left: ${r.stdout}`);
      }
    });
    await t.step("no program: usage error", async () => {
      const r = await c.run([]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /run needs a program after --/);
    });
  });
});

Deno.test("run by selector prefixes lines by host and summarizes failures", async (t) => {
  await withCluster(async (c) => {
    const [a, b, cc] = c.servers;
    await t.step("role=web runs on the two web servers only", async () => {
      const r = await c.run(["-on", "role=web", "--", "/bin/sh", "-c", "echo one; printf two"]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n").filter((l) => l !== "").sort();
      const labels = [a, b].map((s) => `${HOST}/${s.serverAnchor.slice(1)}`).sort();
      assert.deepEqual(lines, [...labels.map((l) => `${l}: one`), ...labels.map((l) => `${l}: two`)].sort());
    });
    await t.step("host= selects by host name, id= by server", async () => {
      const r = await c.run(["-on", `id=${cc.serverAnchor.slice(1)}`, "--", "/bin/echo", "db"]);
      assert.deepEqual(r, { code: 0, stdout: "db\n", stderr: "" });
      const all = await c.run(["-on", `host=${HOST}`, "--", "/bin/echo", "x"]);
      assert.equal(all.stdout.split("\n").filter((l) => l !== "").length, 3);
    });
    await t.step("one failing host: exit 1 and its summary line", async () => {
      const r = await c.run([
        "-on",
        "dc=ams",
        "--",
        "/bin/sh",
        "-c",
        'test "$(cat /dev/null)" = x || exit 3',
      ]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.split("\n").filter((l) => l.endsWith("exit status 3")).length, 2, r.stderr);
    });
    await t.step("a hung server is one failed host; the others run", async () => {
      cc.kill("SIGSTOP");
      try {
        const r = await c.run(["-on", "dc=ams", "--", "/bin/echo", "up"]);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, `${HOST}/${a.serverAnchor.slice(1)}: up\n`);
        assert.match(
          r.stderr,
          new RegExp(
            `^${HOST}/${cc.serverAnchor.slice(1)} \\(${cc.serverAnchor}/run/[0-9a-f]+\\): not started: `,
          ),
        );
      } finally {
        cc.kill("SIGCONT");
      }
    });
    await t.step("a selector nobody matches is one error line", async () => {
      const r = await c.run(["-on", "role=none", "--", "/bin/true"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^circuit: run: no server matches role=none\n$/);
    });
  });
});

Deno.test("Ctrl-C, a second Ctrl-C and -timeout end the run with 130 and 124", async (t) => {
  await withCluster(async (c) => {
    const [a] = c.servers;
    await t.step("-timeout kills and exits 124", async () => {
      const started = Date.now();
      const r = await c.run(["-timeout", "500ms", "--", "/bin/sleep", "77701"]);
      assert.equal(r.code, 124);
      assert.ok(Date.now() - started < 10_000);
      await eventually("the sleep is gone", 3_000, () => sleepers("77701").length === 0);
    });
    await t.step("SIGINT reaches the process group, exit 130", async () => {
      const f = follow(
        spawnCircuit(["run", "-d", a.url, "--", "/bin/sh", "-c", "/bin/sleep 77702; echo after"]),
      );
      await eventually("the sleep runs", 10_000, () => sleepers("77702").length === 1);
      Deno.kill(f.child.pid, "SIGINT");
      const r = await f.done;
      assert.equal(r.code, 130);
      await eventually("the sleep is gone", 3_000, () => sleepers("77702").length === 0);
    });
    await t.step("a program that ignores SIGINT dies at the second Ctrl-C", async () => {
      const f = follow(
        spawnCircuit(["run", "-d", a.url, "--", "/bin/sh", "-c", "trap '' INT; /bin/sleep 77703"]),
      );
      await eventually("the sleep runs", 10_000, () => sleepers("77703").length === 1);
      Deno.kill(f.child.pid, "SIGINT");
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(f.exited, false, "one Ctrl-C must not kill a program that ignores SIGINT");
      Deno.kill(f.child.pid, "SIGINT");
      assert.equal((await f.done).code, 130);
      await eventually("the sleep is gone", 3_000, () => sleepers("77703").length === 0);
    });
  });
});

Deno.test("a SIGKILLed run client leaves no process behind, through forwarding too; -detach does", async (t) => {
  await withCluster(async (c) => {
    const [a, b] = c.servers;
    await t.step("the dialed server ends its run within 6 s", async () => {
      const f = follow(spawnCircuit(["run", "-d", a.url, "--", "/bin/sleep", "77704"]));
      await eventually("the sleep runs", 10_000, () => sleepers("77704").length === 1);
      const [pid] = sleepers("77704");
      f.kill();
      await f.done;
      const killedAt = Date.now();
      await eventually("the sleep is gone", 6_000, () => !alive(pid));
      assert.ok(Date.now() - killedAt < 6_000);
    });
    await t.step("a forwarded run on another server ends too, even if it ignores SIGTERM", async () => {
      const f = follow(spawnCircuit([
        "run",
        "-d",
        a.url,
        "-on",
        `id=${b.serverAnchor.slice(1)}`,
        "--",
        "/bin/sh",
        "-c",
        "trap '' TERM; /bin/sleep 77705",
      ]));
      await eventually("the sleep runs", 10_000, () => sleepers("77705").length === 1);
      const [pid] = sleepers("77705");
      f.kill();
      await f.done;
      await eventually("the sleep is gone (SIGKILL after 5 s)", 6_500, () => !alive(pid));
      await eventually("scrubbed", 2_000, async () => {
        return (await circuit(["ls", "-d", a.url, `${b.serverAnchor}/...`])).stdout === "";
      });
    });
    await t.step("-detach prints the anchors and returns; the program keeps running", async () => {
      const r = await c.run(["-detach", "-on", "role=web", "--", "/bin/sleep", "77706"]);
      assert.equal(r.code, 0, r.stderr);
      const anchors = r.stdout.split("\n").filter((l) => l !== "");
      assert.equal(anchors.length, 2);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(sleepers("77706").length, 2);
      for (const anchor of anchors) {
        assert.equal((await circuit(["scrub", "-d", a.url, "-kill", anchor])).code, 0);
      }
      await eventually("the sleeps are gone", 3_000, () => sleepers("77706").length === 0);
    });
  });
});
