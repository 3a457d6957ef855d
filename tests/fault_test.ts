/**
 * Faults (SPEC §3.5, §6.4, §11.6): a server killed while clients wait on it, a server stopped with
 * SIGTERM while its children run, and a client killed mid-stream while others read, on a keyed
 * cluster so the encrypted path is the one under test.
 *
 * @module
 */
import assert from "node:assert/strict";
import { alive, assertErr, circuit, eventually, follow, ok, spawnCircuit, TestServer } from "./_harness.ts";
import { childrenOf, groupMembers } from "./_proc.ts";

Deno.test("faults on a keyed cluster give clear errors and lose nothing", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-fault-" });
  const keyText = (await circuit(["keygen"])).stdout;
  const k = `${dir}/k`;
  await Deno.writeTextFile(k, keyText);
  const started: TestServer[] = [];
  const start = async (extra: string[] = []) => {
    const s = await TestServer.start(dir, ["-hmac", k, ...extra]);
    started.push(s);
    return s;
  };
  const run = (args: string[], stdin?: string) => circuit([args[0], "-hmac", k, ...args.slice(1)], { stdin });
  /** Waits until `s` has `n` client connections besides the one asking. */
  const connected = (s: TestServer, n: number) =>
    eventually(`${n} clients connected`, 10_000, async () => {
      const stk = (await run(["stk", "-d", s.url, s.serverAnchor])).stdout;
      return Number(/client connections (\d+)/.exec(stk)?.[1]) >= n + 1;
    });
  const spawn = (args: string[]) => follow(spawnCircuit([args[0], "-hmac", k, ...args.slice(1)]));
  try {
    await t.step("a killed dialed server fails its waiting clients with `connection lost`", async () => {
      const a = await start();
      ok(await run(["mkchan", "-d", a.url, `${a.serverAnchor}/c`, "0"]), "mkchan");
      const waiters = [
        spawn(["recv", "-d", a.url, `${a.serverAnchor}/c`]),
        spawn(["recv", "-d", a.url, `${a.serverAnchor}/c`]),
      ];
      await connected(a, 2);
      assert.ok(waiters.every((w) => !w.exited), "the receivers wait");
      await a.stop("SIGKILL");
      for (const w of waiters) assertErr(await w.done, "connection lost");
    });

    await t.step(
      "a killed hosting server fails clients waiting through another server with `unreachable`",
      async () => {
        const a = await start();
        const b = await start(["-j", a.url]);
        await eventually(
          "B in A's view",
          5000,
          async () => (await run(["ls", "-d", b.url, "/"])).stdout.includes(a.serverAnchor),
        );
        ok(await run(["mkchan", "-d", b.url, `${a.serverAnchor}/c`, "0"]), "mkchan through B");
        const waiter = spawn(["recv", "-d", b.url, `${a.serverAnchor}/c`]);
        await connected(b, 1);
        assert.ok(!waiter.exited, "the receiver waits");
        const t0 = performance.now();
        await a.stop("SIGKILL");
        const r = await waiter.done;
        assertErr(r, `server ${a.serverAnchor.slice(1)} unreachable: connection lost`);
        // A dead TCP peer is seen at once; the failure detector is not needed for it.
        assert.ok(performance.now() - t0 < 5000, "failed promptly");
        ok(await run(["ls", "-d", b.url, "/"]), "B still serves");
      },
    );

    await t.step(
      "SIGTERM ends the server and every child process group, even one ignoring TERM",
      async () => {
        const a = await start();
        const cmds = [
          { Path: "/bin/sleep", Args: ["311"] },
          { Path: "/bin/sh", Args: ["-c", "sleep 312 & sleep 313"] },
          { Path: "/bin/sh", Args: ["-c", "trap '' TERM; sleep 314 & sleep 315"] },
        ];
        for (const [i, cmd] of cmds.entries()) {
          ok(await run(["mkproc", "-d", a.url, `${a.serverAnchor}/p${i}`], JSON.stringify(cmd)), "mkproc");
        }
        // Each child of the server leads its own process group (PGID = PID).
        const leaders = childrenOf(a.pid);
        assert.equal(leaders.length, cmds.length);
        await eventually(
          "the shells started their sleeps",
          2000,
          () => leaders.reduce((n, g) => n + groupMembers(g).length, 0) >= 5,
        );
        const members = leaders.flatMap(groupMembers);
        const t0 = performance.now();
        a.kill("SIGTERM");
        const status = await a.child.status;
        assert.equal(status.code, 0);
        assert.ok(performance.now() - t0 < 7000, "exited within 7 s");
        await eventually("no process of any group left", 1000, () => members.every((p) => !alive(p)));
      },
    );

    await t.step("a client killed mid-stream costs the other readers nothing", async () => {
      const a = await start();
      const lines = 400;
      const slow = `i=0; while [ $i -lt ${lines} ]; do echo line$i; i=$((i+1)); sleep 0.02; done`;
      const fast = `i=0; while [ $i -lt 20000 ]; do echo fast$i; i=$((i+1)); done`;
      ok(
        await run(
          ["mkproc", "-d", a.url, `${a.serverAnchor}/slow`],
          JSON.stringify({ Path: "/bin/sh", Args: ["-c", slow] }),
        ),
        "mkproc",
      );
      ok(
        await run(
          ["mkproc", "-d", a.url, `${a.serverAnchor}/fast`],
          JSON.stringify({ Path: "/bin/sh", Args: ["-c", fast] }),
        ),
        "mkproc",
      );
      ok(await run(["mkchan", "-d", a.url, `${a.serverAnchor}/c`, "100"]), "mkchan");
      const victim = spawn(["stdout", "-d", a.url, `${a.serverAnchor}/slow`]);
      const other = spawn(["stdout", "-d", a.url, `${a.serverAnchor}/fast`]);
      const sends = Array.from(
        { length: 20 },
        (_, i) => run(["send", "-d", a.url, `${a.serverAnchor}/c`], `m${i}\n`),
      );
      await eventually("the victim has read some lines", 15_000, () => victim.stdout.includes("line10\n"));
      victim.kill();
      const killed = await victim.done;
      const rest = await run(["stdout", "-d", a.url, `${a.serverAnchor}/slow`]);
      ok(rest, "stdout after the kill");
      const all = Array.from({ length: lines }, (_, i) => `line${i}\n`).join("");
      // The killed reader saw a prefix, the next one a suffix; together they cover everything.
      assert.ok(all.startsWith(killed.stdout.slice(0, killed.stdout.lastIndexOf("\n") + 1)));
      assert.ok(all.endsWith(rest.stdout), "the next reader gets a suffix");
      assert.ok(killed.stdout.length + rest.stdout.length >= all.length, "nothing lost");
      const o = await other.done;
      ok(o, "the other reader");
      assert.equal(o.stdout, Array.from({ length: 20000 }, (_, i) => `fast${i}\n`).join(""));
      for (const s of await Promise.all(sends)) ok(s, "send");
      const got: string[] = [];
      for (let i = 0; i < 20; i++) got.push((await run(["recv", "-d", a.url, `${a.serverAnchor}/c`])).stdout);
      assert.deepEqual(got.sort(), Array.from({ length: 20 }, (_, i) => `m${i}\n`).sort());
    });
  } finally {
    await Promise.all(started.map((s) => s.stop()));
    await Deno.remove(dir, { recursive: true });
  }
});
