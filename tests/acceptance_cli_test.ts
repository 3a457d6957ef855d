/**
 * Acceptance scenarios A5 and A25 of SPEC §12: `circuit keygen`, and dial resolution, usage errors
 * and help, through the real CLI against a real server.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertErr, assertUsage, circuit, CLIENT_TIMEOUT_MS, COMMANDS, ok, TestServer } from "./_harness.ts";
import { parts, withServers } from "./_acceptance.ts";

Deno.test("A5: keygen prints a fresh 64-byte base64 key each run and takes no arguments", async (t) => {
  await t.step("two runs print two different 88-character lines decoding to 64 bytes", async () => {
    const [r1, r2] = await Promise.all([circuit(["keygen"]), circuit(["keygen"])]);
    for (const r of [r1, r2]) {
      ok(r, "keygen");
      assert.match(r.stdout, /^[A-Za-z0-9+/]{86}==\n$/);
      assert.equal(atob(r.stdout.trim()).length, 64);
    }
    assert.notEqual(r1.stdout, r2.stdout);
  });
  await t.step("keygen x is a usage error", async () => {
    assert.equal((await circuit(["keygen", "x"])).code, 2);
  });
});

Deno.test("A25: dial resolution, usage errors and help", async (t) => {
  await withServers(async (dir, servers) => {
    const a = await TestServer.start(dir);
    servers.push(a);
    const xa = a.serverAnchor;
    const opts = { timeoutMs: CLIENT_TIMEOUT_MS };

    await t.step("a malformed -d URL fails: is not a valid circuit address", async () => {
      assertErr(await circuit(["ls", "-d", "circuit://bad", "/"], opts), "is not a valid circuit address");
    });

    await t.step("a URL nobody listens on fails: connection refused", async () => {
      assertErr(
        await circuit(["ls", "-d", "circuit://127.0.0.1:1/1/Q0000000000000001", "/"], opts),
        "connection refused",
      );
    });

    await t.step("A's address with another worker ID fails: server identity mismatch", async () => {
      const { workerId } = parts(a.url);
      const other = workerId === "Q0000000000000001" ? "Q0000000000000002" : "Q0000000000000001";
      assertErr(
        await circuit(["ls", "-d", a.url.replace(workerId, other), "/"], opts),
        "server identity mismatch",
      );
    });

    await t.step(
      "with neither CIRCUIT nor CIRCUIT_DISCOVER set, ls / fails: no dial or discovery addresses",
      async () => {
        assertErr(
          await circuit(["ls", "/"], { ...opts, clearEnv: true }),
          "no dial or discovery addresses available; use -dial or -discover",
        );
      },
    );

    await t.step(
      'CIRCUIT naming a file with the URL (blanks around it) is dialed, also with -discover ""',
      async () => {
        const file = `${dir}/circuit-url`;
        await Deno.writeTextFile(file, `  ${a.url}\n`);
        const env = { CIRCUIT: file };
        const [r1, r2] = await Promise.all([
          circuit(["ls", "/"], { ...opts, clearEnv: true, env }),
          circuit(["ls", "-discover", "", "/"], { ...opts, clearEnv: true, env }),
        ]);
        assert.equal(ok(r1, "ls /").stdout, `${xa}\n`);
        assert.equal(ok(r2, "ls -discover '' /").stdout, `${xa}\n`);
      },
    );

    await t.step("ls without a path is a usage error: ls needs a glob argument", async () => {
      assertUsage(await circuit(["ls", "-d", a.url], opts), "ls needs a glob argument");
    });

    await t.step("an unknown command is a usage error: unknown command", async () => {
      assertUsage(await circuit(["bogus"], opts), "unknown command");
    });

    await t.step("circuit help names every command; circuit help mkproc exits 0", async () => {
      const [help, mkproc] = await Promise.all([circuit(["help"], opts), circuit(["help", "mkproc"], opts)]);
      ok(help, "help");
      ok(mkproc, "help mkproc");
      const words = new Set(help.stdout.split(/\s+/));
      for (const cmd of COMMANDS) assert.ok(words.has(cmd), `help does not name ${cmd}:\n${help.stdout}`);
    });
  });
});
