/**
 * `circuit run`, `circuit ps`, tags and selectors (SPEC §15.1–§15.3) on a real cluster of three
 * servers with different tags, through the real CLI and the library.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dial } from "../mod.ts";
import {
  alive,
  circuit,
  CLIENT_TIMEOUT_MS,
  eventually,
  follow,
  spawnCircuit,
  TestServer,
} from "./_harness.ts";
import { allProcs } from "./_proc.ts";

const HOST = Deno.hostname();

interface Cluster {
  servers: TestServer[];
  dir: string;
  run(args: string[], opts?: { stdin?: string | Uint8Array }): ReturnType<typeof circuit>;
}

/** Three joined servers: role=web,dc=ams / role=web,dc=fra / role=db,dc=ams. */
async function withCluster(fn: (c: Cluster) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-run-" });
  const a = await TestServer.start(dir, ["-tag", "role=web", "-tag", "dc=ams"]);
  const b = await TestServer.start(dir, ["-tag", "role=web", "-tag", "dc=fra", "-j", a.url]);
  const c = await TestServer.start(dir, ["-tag", "role=db", "-tag", "dc=ams", "-j", a.url]);
  const servers = [a, b, c];
  try {
    await eventually("all three in a's view", 5_000, async () => {
      const r = await circuit(["ls", "-d", a.url, "/"]);
      return r.stdout.split("\n").filter((l) => l !== "").length === 3;
    });
    await fn({
      servers,
      dir,
      run: (args, opts = {}) =>
        circuit(["run", "-d", a.url, ...args], { timeoutMs: CLIENT_TIMEOUT_MS, ...opts }),
    });
  } finally {
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function sleepers(arg: string): number[] {
  return allProcs().filter((p) =>
    p.state !== "Z" && p.argv.at(-1) === arg && p.argv.some((w) => w.endsWith("sleep"))
  )
    .map((p) => p.pid);
}

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

Deno.test("ps lists processes with host, phase, exit, pid and command, as text and JSON", async (t) => {
  await withCluster(async (c) => {
    const [a, b] = c.servers;
    const X = a.serverAnchor;
    for (const [s, name, cmd] of [[a, "p1", "/bin/sleep 77707"], [b, "p2", "/bin/sh -c exit\\ 3"]] as const) {
      const [Path, ...Args] = name === "p1" ? cmd.split(" ") : ["/bin/sh", "-c", "exit 3"];
      const r = await circuit(["mkproc", "-d", a.url, `${s.serverAnchor}/${name}`], {
        stdin: JSON.stringify({ Path, Args }),
      });
      assert.equal(r.code, 0, r.stderr);
    }
    await circuit(["wait", "-d", a.url, `${b.serverAnchor}/p2`]);
    await t.step("JSON: one object per element, sorted by anchor", async () => {
      const r = await circuit(["ps", "-d", a.url, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
      const byAnchor = new Map(rows.map((row) => [row.Anchor, row]));
      const p1 = byAnchor.get(`${X}/p1`)!;
      assert.deepEqual(Object.keys(p1), ["Anchor", "Host", "Phase", "Exit", "Pid", "Started", "Command"]);
      assert.equal(p1.Host, HOST);
      assert.equal(p1.Phase, "running");
      assert.equal(p1.Exit, "-");
      assert.equal(p1.Command, "/bin/sleep 77707");
      assert.ok(sleepers("77707").includes(p1.Pid as number));
      const p2 = byAnchor.get(`${b.serverAnchor}/p2`)!;
      assert.equal(p2.Phase, "exited");
      assert.equal(p2.Exit, "exit 3");
      const anchors = rows.map((row) => row.Anchor as string);
      assert.deepEqual(anchors, [...anchors].sort());
    });
    await t.step("text: aligned columns", async () => {
      const r = await circuit(["ps", "-d", a.url]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 2);
      // Every column starts at the same offset on both lines.
      const starts = (l: string) => [...l.matchAll(/(?<= {2})\S/g)].map((m) => m.index).slice(0, 5);
      assert.deepEqual(starts(lines[0]), starts(lines[1]));
      assert.match(r.stdout, /running {2}- {2,}\d+ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}\/bin\/sleep 77707/);
    });
    await t.step("-on and a path narrow the list", async () => {
      const r = await circuit(["ps", "-d", a.url, "--json", "-on", "dc=fra"]);
      assert.deepEqual((JSON.parse(r.stdout) as { Anchor: string }[]).map((x) => x.Anchor), [
        `${b.serverAnchor}/p2`,
      ]);
      const r2 = await circuit(["ps", "-d", a.url, "--json", `${X}/...`]);
      assert.deepEqual((JSON.parse(r2.stdout) as { Anchor: string }[]).map((x) => x.Anchor), [`${X}/p1`]);
    });
    await circuit(["scrub", "-d", a.url, "-kill", `${X}/p1`]);
  });
});

Deno.test("tags: peek shows Host and Tags, every member sees a joiner's tags within a second", async (t) => {
  await withCluster(async (c) => {
    const [a, b, cc] = c.servers;
    await t.step("peek of a remote server anchor", async () => {
      const r = await circuit(["peek", "-d", a.url, b.serverAnchor]);
      const p = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(p), ["Addr", "Joined", "Host", "Tags"]);
      assert.equal(p.Host, HOST);
      assert.deepEqual(p.Tags, { role: "web", dc: "fra" });
    });
    await t.step("a joiner's tags reach every member within a second", async () => {
      const d = await TestServer.start(c.dir, ["-tag", "role=cache", "-j", cc.url]);
      c.servers.push(d);
      const joined = Date.now();
      for (const s of [a, b, cc]) {
        await using client = await dial(s.url);
        await eventually(
          `${s.serverAnchor} sees the cache tag`,
          1_000 - (Date.now() - joined) + 200,
          async () => {
            const found = await client.servers({ select: "role=cache" });
            return found.length === 1 && found[0].anchor === d.serverAnchor;
          },
        );
      }
      assert.ok(Date.now() - joined < 1_500, "tags must spread within about a second");
    });
    await t.step("client.servers with and without a selector", async () => {
      await using client = await dial(a.url);
      const all = await client.servers();
      assert.equal(all.length, 4);
      assert.deepEqual(Object.keys(all[0]), ["anchor", "addr", "host", "tags", "state"]);
      const web = await client.servers({ select: "role=web,dc=ams" });
      assert.deepEqual(web.map((s) => s.anchor), [a.serverAnchor]);
    });
    await t.step("client.run returns per-target exits and output", async () => {
      await using client = await dial(a.url);
      const runs = await client.run(["/bin/sh", "-c", "echo hi; exit 5"], { select: "role=web" });
      assert.equal(runs.length, 2);
      for (const r of runs) {
        const [out, , exit] = await Promise.all([new Response(r.stdout).text(), r.stderr.cancel(), r.done]);
        assert.equal(out, "hi\n");
        assert.equal(exit.code, 5);
      }
    });
    await t.step(
      "client.run: aborting the signal kills the program group; stdin feeds one target",
      async () => {
        await using client = await dial(a.url);
        const ctl = new AbortController();
        const [r] = await client.run(["/bin/sleep", "77708"], { signal: ctl.signal });
        await eventually("the sleep runs", 5_000, () => sleepers("77708").length === 1);
        ctl.abort();
        const [, , exit] = await Promise.all([r.stdout.cancel(), r.stderr.cancel(), r.done]);
        assert.equal(exit.signal, "SIGKILL");
        const [cat] = await client.run(["/bin/cat"], {
          stdin: ReadableStream.from([new TextEncoder().encode("fed")]),
        });
        const [out] = await Promise.all([new Response(cat.stdout).text(), cat.stderr.cancel(), cat.done]);
        assert.equal(out, "fed");
      },
    );
    await t.step("a start-up that fails to listen leaves no var dir", async () => {
      const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      try {
        const port = (busy.addr as Deno.NetAddr).port;
        const r = await circuit(["start", "-a", `127.0.0.1:${port}`, "-var", `${c.dir}/busy`]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /address already in use/);
        assert.throws(() => Deno.statSync(`${c.dir}/busy`));
      } finally {
        busy.close();
      }
    });
    await t.step("a bad -tag is one error line and no var dir is left", async () => {
      const r = await circuit(["start", "-a", "127.0.0.1:0", "-var", `${c.dir}/badtag`, "-tag", "Role=x"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /tag "Role=x" is not KEY=VALUE/);
      assert.throws(() => Deno.statSync(`${c.dir}/badtag`));
    });
  });
});
