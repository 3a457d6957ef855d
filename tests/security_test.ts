/**
 * Keys and the keyed handshake (SPEC §10, acceptance A24 and A28), driven through the real CLI
 * against real keyed servers: a missing, wrong or unexpected key refused at once and recorded,
 * keyed servers joining and serving many commands, a wrongly keyed server kept out, and a peer
 * that stalls in the handshake dropped.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertErr, circuit, eventually, TestServer } from "./_harness.ts";
import { keygen, portOf, servers, sleep, timed, withDir } from "./_security.ts";

Deno.test("A24: keys from keygen authenticate clients; a missing, wrong or unexpected key fails at once", async (t) => {
  await withDir(async (dir) => {
    const { k1, k2 } = await keygen(dir);
    const h = await TestServer.start(dir, ["-hmac", k1]);
    const a = await TestServer.start(dir);
    try {
      await t.step("the keyed server logs that it uses TLS 1.3 with the cluster CA", async () => {
        await eventually(
          "the key log line",
          2000,
          () => h.log().includes("Using mutual TLS 1.3 with the cluster CA of the key."),
        );
        assert.ok(!a.log().includes("Using mutual TLS"), "an unkeyed server does not claim it");
      });

      await t.step("no key against the keyed server: `server requires a key` within 1 s", async () => {
        const [r, ms] = await timed(["ls", "-d", h.url, "/"]);
        assertErr(r, "authentication failed: server requires a key");
        assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
      });

      await t.step("another key against the keyed server: `key mismatch` within 1 s", async () => {
        const [r, ms] = await timed(["ls", "-hmac", k2, "-d", h.url, "/"]);
        assertErr(r, "authentication failed: key mismatch");
        assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
      });

      await t.step("a key against an unkeyed server: `server does not use a key` within 1 s", async () => {
        const [r, ms] = await timed(["ls", "-d", a.url, "-hmac", k1, "/"]);
        assertErr(r, "authentication failed: server does not use a key");
        assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
      });

      await t.step("the right key, by flag or by CIRCUIT_HMAC, lists the server", async () => {
        const byFlag = await circuit(["ls", "-hmac", k1, "-d", h.url, "/"]);
        assert.deepEqual(byFlag, { code: 0, stdout: `${h.serverAnchor}\n`, stderr: "" });
        const byEnv = await circuit(["ls", "-d", h.url, "/"], { env: { CIRCUIT_HMAC: k1 } });
        assert.deepEqual(byEnv, { code: 0, stdout: `${h.serverAnchor}\n`, stderr: "" });
        assertErr(
          await circuit(["ls", "-hmac", "", "-d", h.url, "/"], { env: { CIRCUIT_HMAC: k1 } }),
          "authentication failed: server requires a key",
        );
      });

      await t.step("the servers log and record every rejected peer with its reason", async () => {
        await eventually(
          "three rejections logged",
          2000,
          () =>
            (h.log().match(/rejected peer 127\.0\.0\.1:\d+: authentication failed: /g) ?? []).length >= 3 &&
            /rejected peer 127\.0\.0\.1:\d+: authentication failed: server does not use a key/.test(a.log()),
        );
        const rejects = (await h.opsLog()).filter((l) => l.Op === "reject");
        assert.deepEqual(
          rejects.map((l) => l.Reason).sort(),
          [
            "authentication failed: key mismatch",
            "authentication failed: server requires a key",
            "authentication failed: server requires a key",
          ],
        );
        for (const l of rejects) assert.match(l.Peer as string, /^127\.0\.0\.1:\d+$/);
      });

      await t.step("unreadable and empty key files fail before dialing", async () => {
        assertErr(
          await circuit(["ls", "-hmac", `${dir}/none`, "-d", h.url, "/"]),
          `problem reading private key file (${dir}/none)`,
        );
        await Deno.writeTextFile(`${dir}/empty`, "\n");
        assertErr(await circuit(["ls", "-hmac", `${dir}/empty`, "-d", h.url, "/"]), "is empty");
      });
    } finally {
      await Promise.all([h.stop(), a.stop()]);
    }
  });
});

Deno.test("A28: keyed servers join, serve 100 consecutive and 20 concurrent keyed commands, and keep a wrongly keyed server out", async (t) => {
  await withDir(async (dir) => {
    const { k1, k2 } = await keygen(dir);
    const h = await TestServer.start(dir, ["-hmac", k1]);
    const started: TestServer[] = [h];
    try {
      const g = await TestServer.start(dir, ["-hmac", k1, "-j", h.url]);
      started.push(g);
      const both = [h.serverAnchor, g.serverAnchor].sort();

      await t.step("a keyed server joined with -j enters the keyed server's view", async () => {
        await eventually(
          "both servers in H's view",
          5000,
          async () => (await servers(h.url, k1)).join() === both.join(),
        );
      });

      await t.step(
        "100 consecutive keyed ls runs each succeed within 5 s and list both servers",
        async () => {
          for (let i = 0; i < 100; i++) {
            const [r, ms] = await timed(["ls", "-hmac", k1, "-d", h.url, "/"]);
            assert.equal(r.code, 0, `run ${i}: ${r.stderr}`);
            assert.deepEqual(r.stdout.trim().split("\n").sort(), both, `run ${i}`);
            assert.ok(ms < 5000, `run ${i} took ${ms.toFixed(0)} ms`);
          }
        },
      );

      await t.step("20 concurrent keyed ls runs all succeed", async () => {
        const runs = await Promise.all(
          Array.from(
            { length: 20 },
            () => circuit(["ls", "-hmac", k1, "-d", h.url, "/"], { timeoutMs: 30_000 }),
          ),
        );
        for (const [i, r] of runs.entries()) {
          assert.equal(r.code, 0, `run ${i}: ${r.stderr}`);
          assert.deepEqual(r.stdout.trim().split("\n").sort(), both, `run ${i}`);
        }
      });

      await t.step(
        "a server joining with another key logs the failure and never enters the view",
        async () => {
          const w = await TestServer.start(dir, ["-hmac", k2, "-j", h.url]);
          started.push(w);
          await eventually(
            "the joiner's authentication failure",
            5000,
            () => w.log().includes(`join ${h.url} failed: authentication failed: key mismatch`),
          );
          await eventually(
            "H's rejection of the joiner",
            2000,
            () => /rejected peer 127\.0\.0\.1:\d+: authentication failed: key mismatch/.test(h.log()),
          );
          // Membership would have spread within a couple of seconds; it never does.
          for (let i = 0; i < 3; i++) {
            assert.deepEqual(await servers(h.url, k1), both);
            assert.deepEqual(await servers(g.url, k1), both);
            await sleep(1000);
          }
          assert.ok(!h.log().includes(w.serverAnchor), "H never logs the wrongly keyed server as a member");
        },
      );
    } finally {
      await Promise.all(started.map((s) => s.stop()));
    }
  });
});

Deno.test("a peer that stalls in the handshake is dropped after 5 s and logged", async (t) => {
  await withDir(async (dir) => {
    const { k1 } = await keygen(dir);
    const h = await TestServer.start(dir, ["-hmac", k1]);
    try {
      const stall = async (send: Uint8Array) => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(h.url) });
        const local = (conn.localAddr as Deno.NetAddr).port;
        try {
          await conn.write(send);
          const t0 = performance.now();
          const n = await conn.read(new Uint8Array(16)).catch(() => null);
          const ms = performance.now() - t0;
          assert.equal(n, null, "the server closes without answering");
          assert.ok(ms >= 4500 && ms < 8000, `dropped after ${ms.toFixed(0)} ms`);
        } finally {
          conn.close();
        }
        await eventually(
          "the timeout logged",
          2000,
          () => h.log().includes(`rejected peer 127.0.0.1:${local}: handshake timed out after 5s`),
        );
      };

      // The three wait out the same deadline side by side.
      await t.step(
        "a silent connection, half a TLS record header and part of a ClientHello are each dropped",
        () =>
          Promise.all([
            stall(new Uint8Array(0)),
            stall(new Uint8Array([0x16, 0x03])),
            stall(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00])),
          ]).then(() => {}),
      );
      await t.step("the server still serves keyed clients afterwards", async () => {
        assert.deepEqual(await servers(h.url, k1), [h.serverAnchor]);
      });
    } finally {
      await h.stop();
    }
  });
});
