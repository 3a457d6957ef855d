/**
 * Credentials through forwarding (SPEC §10.5): a credential's name and groups travel with calls a
 * server forwards, and the hosting server judges, revokes and records them by its own policy.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertErr, circuit, eventually, TestServer } from "./_harness.ts";
import { issue, ok, withKeyedServer } from "./_credential.ts";

Deno.test("a credential's name and groups travel with forwarded calls: the hosting server judges and records them", async () => {
  await withKeyedServer(async ({ dir, k1, server: b }) => {
    // A lets bob's group nothing of its own; B (the fixture) lets group:viewers read.
    await Deno.writeTextFile(`${dir}/closed.json`, JSON.stringify({ rules: [] }));
    const a = await TestServer.start(dir, ["-hmac", k1, "-policy", `${dir}/closed.json`, "-j", b.url]);
    try {
      const alice = await issue(dir, k1, "alice");
      const bob = await issue(dir, k1, "bob", ["-group", "viewers"]);
      await eventually("both servers in A's view", 15_000, async () => {
        const r = await circuit(["ls", "-d", a.url, "-hmac", k1, "/"]);
        return r.stdout.includes(b.serverAnchor) && r.stdout.includes(a.serverAnchor);
      });
      const job = `${b.serverAnchor}/fwd`;
      ok(
        await circuit(["mkproc", "-d", a.url, "-cred", alice, job], {
          stdin: JSON.stringify({ Path: "/bin/true" }) + "\n",
        }),
        "mkproc on B through A",
      );
      // bob reads B's anchors through A by his group, and is denied A's own.
      const lsB = await circuit(["ls", "-d", a.url, "-cred", bob, b.serverAnchor]);
      assert.equal(ok(lsB, "ls B as bob").stdout, job + "\n");
      assertErr(
        await circuit(["mkchan", "-d", a.url, "-cred", bob, `${a.serverAnchor}/c`, "0"]),
        `permission denied: bob may not chan ${a.serverAnchor}/c`,
      );
      const make = (await b.opsLog()).find((l) => l.Op === "make" && l.Path === job);
      assert.equal(make?.Who, "alice");
    } finally {
      await a.stop();
    }
  });
});

Deno.test("a name revoked on the hosting server may do nothing there, even forwarded by a server that does not revoke it", async () => {
  await withKeyedServer(async ({ dir, k1, server: b }) => {
    // A's policy lets mallory everything and does not revoke her; B (the fixture) revokes her.
    await Deno.writeTextFile(
      `${dir}/open.json`,
      JSON.stringify({ rules: [{ who: ["mallory"], allow: ["read", "chan"] }] }),
    );
    const a = await TestServer.start(dir, ["-hmac", k1, "-policy", `${dir}/open.json`, "-j", b.url]);
    try {
      const mallory = await issue(dir, k1, "mallory");
      await eventually("B in A's view", 15_000, async () => {
        const r = await circuit(["ls", "-d", a.url, "-hmac", k1, "/"]);
        return r.stdout.includes(b.serverAnchor);
      });
      ok(await circuit(["mkchan", "-d", a.url, "-cred", mallory, `${a.serverAnchor}/c`, "0"]), "mkchan on A");
      assertErr(
        await circuit(["mkchan", "-d", a.url, "-cred", mallory, `${b.serverAnchor}/c`, "0"]),
        `permission denied: mallory may not chan ${b.serverAnchor}/c`,
      );
      assert.equal(
        ok(await circuit(["ls", "-d", a.url, "-cred", mallory, b.serverAnchor]), "ls B").stdout,
        "",
      );
    } finally {
      await a.stop();
    }
  });
});
