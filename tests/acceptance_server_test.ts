/**
 * Acceptance scenarios A3, A4, A18 and A19 of SPEC §12: `ls` on a fresh server, the server element
 * (peek, stk, suicide), anchors that exist only while they hold something, and unknown or hung
 * servers. The real CLI against real servers, each a separate OS process.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertErr, eventually, ok, TestServer } from "./_harness.ts";
import { on, timed, withServers } from "./_acceptance.ts";

Deno.test("A3: ls / and ls /... on a fresh server list just its server anchor", async (t) => {
  await withServers(async (dir, servers) => {
    const a = await TestServer.start(dir);
    servers.push(a);
    const c = on(a);
    const xa = a.serverAnchor;

    await t.step("ls / prints the server anchor", async () => {
      assert.equal(ok(await c("ls", ["/"]), "ls /").stdout, `${xa}\n`);
    });
    await t.step("ls /... prints the server anchor", async () => {
      assert.equal(ok(await c("ls", ["/..."]), "ls /...").stdout, `${xa}\n`);
    });
    await t.step("ls -l / prints the kind padded to 15 columns, a space and the anchor", async () => {
      assert.equal(ok(await c("ls", ["-l", "/"]), "ls -l /").stdout, `server${" ".repeat(10)}${xa}\n`);
    });
    await t.step("ls --json / prints a tab-indented array of Path and Kind", async () => {
      const out = ok(await c("ls", ["--json", "/"]), "ls --json /").stdout;
      assert.equal(out, `[\n\t{\n\t\t"Path": "${xa}",\n\t\t"Kind": "server"\n\t}\n]\n`);
    });
  });
});

Deno.test("A4: the server element shows Addr and Joined, dumps its stack and shuts down on suicide", async (t) => {
  await withServers(async (dir, servers) => {
    const a = await TestServer.start(dir);
    servers.push(a);
    const c = on(a);
    const xa = a.serverAnchor;

    await t.step(
      "peek of the server anchor has exactly Addr (its URL), Joined (the last minute), Host and Tags",
      async () => {
        const v = JSON.parse(ok(await c("peek", [xa]), "peek").stdout);
        assert.deepEqual(Object.keys(v), ["Addr", "Joined", "Host", "Tags"]);
        assert.equal(v.Host, Deno.hostname());
        assert.deepEqual(v.Tags, {});
        assert.equal(v.Addr, a.url);
        assert.match(v.Joined, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        const joined = Date.parse(v.Joined);
        assert.ok(joined <= Date.now(), `Joined ${v.Joined} is in the future`);
        assert.ok(joined > Date.now() - 60_000, `Joined ${v.Joined} is more than a minute ago`);
      },
    );

    await t.step("peek / prints null", async () => {
      assert.equal(JSON.parse(ok(await c("peek", ["/"]), "peek /").stdout), null);
    });

    await t.step("stk ends with the line •••", async () => {
      const out = ok(await c("stk", [xa]), "stk").stdout;
      const lines = out.split("\n").filter((l) => l !== "");
      assert.equal(lines[lines.length - 1], "•••");
    });

    await t.step("stk of a non-server anchor fails: not a server", async () => {
      assertErr(await c("stk", [`${xa}/none`]), "not a server");
    });

    await t.step("suicide exits 0, the server exits 0 within 2 s and records stop last", async () => {
      ok(await c("suicide", [xa]), "suicide");
      const t0 = Date.now();
      const status = await Promise.race([
        a.child.status,
        new Promise<null>((r) => setTimeout(() => r(null), 2000)),
      ]);
      assert.ok(status !== null, `server still running ${Date.now() - t0} ms after suicide`);
      assert.equal(status.code, 0);
      const log = await a.opsLog();
      assert.equal(log[log.length - 1].Op, "stop");
    });
  });
});

Deno.test("A18: anchors exist only while they hold an element or have a descendant that does", async (t) => {
  await withServers(async (dir, servers) => {
    const a = await TestServer.start(dir);
    servers.push(a);
    const c = on(a);
    const xa = a.serverAnchor;

    await t.step("peek of a missing path prints null and leaves nothing behind", async () => {
      assert.equal(JSON.parse(ok(await c("peek", [`${xa}/ephemeral/deep`]), "peek").stdout), null);
      assert.equal(ok(await c("ls", [xa]), "ls").stdout, "");
    });

    await t.step("an anchor can hold an element and have children", async () => {
      ok(await c("mkchan", [`${xa}/nest`, "1"]), "mkchan nest");
      ok(await c("mkchan", [`${xa}/nest/child`, "1"]), "mkchan nest/child");
    });

    await t.step("scrubbing the parent keeps it as an empty anchor above its child", async () => {
      ok(await c("scrub", [`${xa}/nest`]), "scrub nest");
      assert.equal(
        ok(await c("ls", ["-l", `${xa}/...`]), "ls -l").stdout,
        `·${" ".repeat(15)}${xa}/nest\nchan${" ".repeat(12)}${xa}/nest/child\n`,
      );
    });

    await t.step("scrubbing the last element removes the empty branch", async () => {
      ok(await c("scrub", [`${xa}/nest/child`]), "scrub nest/child");
      assert.equal(ok(await c("ls", [`${xa}/...`]), "ls").stdout, "");
    });
  });
});

Deno.test("A19: unknown servers are errors; a hung member makes calls on it fail, not the view", async (t) => {
  await withServers(async (dir, servers) => {
    const a = await TestServer.start(dir);
    servers.push(a);
    const c = on(a);
    const xa = a.serverAnchor;

    await t.step("peek, ls, close and mkchan on an unknown server fail: unknown server X…", async () => {
      const results = await Promise.all([
        c("peek", ["/X0000000000000001"]),
        c("ls", ["/X0000000000000001"]),
        c("close", ["/X0000000000000001/c"]),
        c("mkchan", ["/X0000000000000001/c", "1"]),
      ]);
      for (const r of results) assertErr(r, "unknown server X0000000000000001");
    });

    await t.step("scrub of the server anchor is a no-op", async () => {
      ok(await c("scrub", [xa]), "scrub");
      assert.equal(JSON.parse(ok(await c("peek", [xa]), "peek").stdout).Addr, a.url);
    });

    const b = await TestServer.start(dir, ["-j", a.url]);
    servers.push(b);
    await t.step("B joined to A is in A's view", async () => {
      await eventually(
        "B in A's view",
        5000,
        async () => (await c("ls", ["/"])).stdout.includes(b.serverAnchor),
      );
    });

    try {
      b.kill("SIGSTOP");
      await t.step("with B stopped, ls / via A returns within 1 s", async () => {
        const [r, ms] = await timed(() => c("ls", ["/"]));
        ok(r, "ls /");
        assert.ok(ms < 1000, `took ${ms} ms`);
      });

      // Started together, while B is still in A's view (membership removes it within seconds).
      const listing = timed(() => c("ls", ["/..."]));
      await t.step("with B stopped, peek of an anchor on B fails within 11 s: unreachable", async () => {
        const [r, ms] = await timed(() => c("peek", [`${b.serverAnchor}/x`]));
        assertErr(r, "unreachable");
        assert.ok(r.stderr.includes(`server ${b.serverAnchor.slice(1)} unreachable`), r.stderr);
        assert.ok(ms < 11_000, `took ${ms} ms`);
      });

      await t.step(
        "with B stopped, ls /... prints what it could and one error line for B, exit 1",
        async () => {
          const [r, ms] = await listing;
          assert.equal(r.code, 1, `exit ${r.code}, stdout ${JSON.stringify(r.stdout)}`);
          assert.deepEqual(r.stdout.split("\n").filter((l) => l !== "").sort(), [xa, b.serverAnchor].sort());
          const errors = r.stderr.split("\n").filter((l) => l !== "");
          assert.equal(errors.length, 1, r.stderr);
          assert.match(
            errors[0],
            new RegExp(`^circuit: ls: server ${b.serverAnchor.slice(1)} unreachable: `),
          );
          assert.ok(ms < 11_000, `took ${ms} ms`);
        },
      );
    } finally {
      b.kill("SIGCONT");
    }
  });
});
