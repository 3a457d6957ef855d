/**
 * Client credentials on real servers (SPEC §10.5, §10.3): `-cred`, `CIRCUIT_CRED`, a context's
 * `cred` and `dial(url, { credential })`, judged by a real `-policy`; expired, not-yet-valid,
 * revoked and other-key credentials refused with their reasons; a credential never acting as a
 * server; the credential's signature over the handshake nonces.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dial } from "../mod.ts";
import { connect } from "../wire/dial.ts";
import { parseKeyText } from "../wire/crypto/keys.ts";
import { deriveClusterCa } from "../wire/crypto/ca.ts";
import {
  issueCredential,
  parseCredential,
  proveCredential,
  verifyCredentialProof,
  verifyLeaf,
} from "../wire/crypto/credential.ts";
import { newNonce } from "../wire/crypto/handshake.ts";
import { assertErr, assertUsage, circuit, eventually, TestServer } from "./_harness.ts";
import { issue, ls, ok, withKeyedServer } from "./_credential.ts";

Deno.test("a credential dials instead of the key: the policy judges its name and groups, Who is its name", async () => {
  await withKeyedServer(async ({ dir, k1, server }) => {
    const alice = await issue(dir, k1, "alice");
    const bob = await issue(dir, k1, "bob", ["-group", "viewers"]);
    const carol = await issue(dir, k1, "carol");
    assert.equal(ok(await ls(server, alice), "ls alice").stdout, server.serverAnchor + "\n");
    const job = `${server.serverAnchor}/job`;
    ok(
      await circuit(["mkproc", "-d", server.url, "-cred", alice, job], {
        stdin: JSON.stringify({ Path: "/bin/true" }) + "\n",
      }),
      "mkproc alice",
    );
    // bob may read through his group, not start processes; carol is named by no rule.
    assert.equal(ok(await ls(server, bob), "ls bob").stdout, server.serverAnchor + "\n");
    assertErr(
      await circuit(["mkproc", "-d", server.url, "-cred", bob, `${server.serverAnchor}/b`], {
        stdin: JSON.stringify({ Path: "/bin/true" }) + "\n",
      }),
      `permission denied: bob may not proc ${server.serverAnchor}/b`,
    );
    // What no rule lets carol read is not shown to her; alice sees the job she made.
    const lsIn = (cred: string) => circuit(["ls", "-d", server.url, "-cred", cred, server.serverAnchor]);
    assert.equal(ok(await lsIn(alice), "ls alice").stdout, job + "\n");
    assert.equal(ok(await lsIn(carol), "ls carol").stdout, "");
    const log = await server.opsLog();
    const make = log.find((l) => l.Op === "make" && l.Path === job);
    assert.equal(make?.Who, "alice");
    assert.ok(log.some((l) => l.Op === "deny" && l.Who === "bob"), JSON.stringify(log));

    // CIRCUIT_CRED and a context's cred work the same; a key and a credential together do not.
    assert.equal(
      ok(await ls(server, "", { CIRCUIT_CRED: alice }), "CIRCUIT_CRED").stdout,
      server.serverAnchor + "\n",
    );
    const config = `${dir}/xdg/circuit/config.json`;
    await Deno.mkdir(`${dir}/xdg/circuit`, { recursive: true });
    await Deno.writeTextFile(
      config,
      JSON.stringify({ current: "c", contexts: { c: { url: server.url, cred: alice } } }),
    );
    const viaContext = await circuit(["ls", "/"], {
      timeoutMs: 10_000,
      env: { XDG_CONFIG_HOME: `${dir}/xdg` },
    });
    assert.equal(ok(viaContext, "context cred").stdout, server.serverAnchor + "\n");
    assertUsage(
      await circuit(["ls", "-d", server.url, "-hmac", k1, "-cred", alice, "/"]),
      "a key and a credential cannot be used together",
    );
  });
});

Deno.test("expired, not yet valid, revoked and other-key credentials are refused with their reasons, logged and recorded", async () => {
  await withKeyedServer(async ({ dir, k1, k2, server }) => {
    const expired = await issue(dir, k1, "alice", ["-ttl", "1ms"]);
    // Certificate times have whole seconds: past the next second boundary it is surely expired.
    await new Promise((r) => setTimeout(r, 1100));
    const early = `${dir}/early.cred`;
    const ca = await deriveClusterCa(parseKeyText(await Deno.readTextFile(k1), k1));
    await Deno.writeTextFile(
      early,
      await issueCredential(ca, "alice", [], 3600_000, Date.now() + 2 * 3600_000),
    );
    const mallory = await issue(dir, k1, "mallory");
    const other = await issue(dir, k2, "alice");
    // Another CA's leaf with this cluster's CA certificate: TLS passes, the server's own check refuses it.
    const forged = `${dir}/forged.cred`;
    const [otherLeaf, , otherKey] = (await Deno.readTextFile(other)).match(
      /-----BEGIN [^-]+-----[^-]+-----END [^-]+-----\n/g,
    )!;
    await Deno.writeTextFile(forged, otherLeaf + ca.certPem + otherKey);
    const cases: [string, string][] = [
      [expired, "authentication failed: credential expired"],
      [early, "authentication failed: credential expired"],
      [mallory, "authentication failed: credential revoked"],
      [other, "authentication failed: key mismatch"],
      [forged, "authentication failed: key mismatch"],
    ];
    for (const [cred, reason] of cases) {
      const t0 = performance.now();
      const r = await ls(server, cred);
      assertErr(r, reason);
      assert.ok(performance.now() - t0 < 5_000, `${reason}: ${performance.now() - t0} ms`);
    }
    await eventually(
      "every rejection logged",
      5000,
      () =>
        (server.log().match(/rejected peer 127\.0\.0\.1:\d+: authentication failed: /g) ?? []).length >=
          cases.length,
    );
    let reasons: unknown[] = [];
    await eventually("every rejection recorded", 5000, async () => {
      reasons = (await server.opsLog()).filter((l) => l.Op === "reject").map((l) => l.Reason).sort();
      return reasons.length >= cases.length;
    });
    assert.deepEqual(reasons, cases.map(([, reason]) => reason).sort());
    // The server keeps serving.
    ok(await circuit(["ls", "-d", server.url, "-hmac", k1, "/"]), "ls with the key");
  });
});

Deno.test("a credential can never act as a server", async (t) => {
  await withKeyedServer(async ({ dir, k1, server }) => {
    const alice = await issue(dir, k1, "alice");
    await t.step("start -cred, or CIRCUIT_CRED without a key, is a usage error", async () => {
      for (
        const [args, env] of [
          [["-cred", alice], {}],
          [["-hmac", k1, "-cred", alice, "-j", server.url], {}],
          [[], { CIRCUIT_CRED: alice }],
        ] as [string[], Record<string, string>][]
      ) {
        const r = await circuit(["start", "-a", "127.0.0.1:0", "-var", `${dir}/v`, ...args], {
          env,
          timeoutMs: 10_000,
        });
        assertUsage(r, "a credential cannot run a server; start needs the cluster key (-hmac)");
      }
    });
    await t.step("dialing as a server with a client credential is refused at the handshake", async () => {
      const credential = await parseCredential(await Deno.readTextFile(alice));
      await assert.rejects(
        connect(server.url, {
          credential,
          asServer: {
            url: "circuit://127.0.0.1:1/1/Q0123456789abcdef",
            id: "X0123456789abcdef",
            onCall: () => {},
          },
        }),
        /authentication failed: a credential cannot act as a server/,
      );
      await eventually(
        "logged",
        3000,
        () =>
          /rejected peer .*: authentication failed: a credential cannot act as a server/.test(server.log()),
      );
    });
  });
});

Deno.test("library: dial(url, { credential }) is known by the credential's name", async () => {
  await withKeyedServer(async ({ dir, k1, server }) => {
    const credential = await Deno.readTextFile(await issue(dir, k1, "alice"));
    const client = await dial(server.url, { credential });
    try {
      const view = await client.view();
      assert.deepEqual([...view.keys()], [server.serverAnchor.slice(1)]);
      const proc = await client.walk(`${server.serverAnchor}/lib`).makeProc({ path: "/bin/true" });
      await proc.wait();
    } finally {
      await client.close();
    }
    const make = (await server.opsLog()).find((l) =>
      l.Op === "make" && l.Path === `${server.serverAnchor}/lib`
    );
    assert.equal(make?.Who, "alice");
    await assert.rejects(
      dial(server.url, { credential, key: await Deno.readTextFile(k1) }),
      /cannot be used together/,
    );
    await assert.rejects(dial(server.url, { credential: "garbage" }), /credential: not a credential/);
  });
});

Deno.test("a credential's signature is good for its own nonces and server only", async () => {
  const ca = await deriveClusterCa(crypto.getRandomValues(new Uint8Array(64)));
  const cred = await parseCredential(await issueCredential(ca, "alice", ["ops"], 3600_000));
  const leaf = await verifyLeaf(ca, cred.certDer);
  assert.deepEqual([leaf.role, leaf.name, leaf.groups], ["client", "alice", ["ops"]]);
  const [dn, an] = [newNonce(), newNonce()];
  const sig = await proveCredential(cred, dn, an, "Q0123456789abcdef/42");
  assert.equal(await verifyCredentialProof(leaf, dn, an, "Q0123456789abcdef/42", sig), true);
  assert.equal(await verifyCredentialProof(leaf, dn, an, "Q0123456789abcdef/43", sig), false);
  // The signed bytes exactly as docs/PROTOCOL.md lays them out: label, dialer nonce, acceptor nonce, identity.
  const enc = new TextEncoder();
  const input = new Uint8Array([
    ...enc.encode("circuit v1 credential"),
    ...dn,
    ...an,
    ...enc.encode("Q0123456789abcdef/42"),
  ]);
  assert.equal(input.length, 21 + 32 + 32 + 20);
  assert.equal(
    await crypto.subtle.verify("Ed25519", leaf.publicKey, sig as Uint8Array<ArrayBuffer>, input),
    true,
  );
  assert.equal(await verifyCredentialProof(leaf, an, dn, "Q0123456789abcdef/42", sig), false);
  assert.equal(await verifyCredentialProof(leaf, dn, newNonce(), "Q0123456789abcdef/42", sig), false);
  const otherCa = await deriveClusterCa(crypto.getRandomValues(new Uint8Array(64)));
  await assert.rejects(verifyLeaf(otherCa, cred.certDer), /authentication failed: key mismatch/);
  const tampered = cred.certDer.slice();
  tampered[tampered.length - 70] ^= 1; // inside the signed part, before the 64-byte signature
  await assert.rejects(verifyLeaf(ca, tampered), /key mismatch|not an Ed25519 certificate/);
});

Deno.test("a credential against an unkeyed server: server does not use a key; 32 long groups fit the hello", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "circuit-cred-" }));
  let plain: TestServer | undefined, keyed: TestServer | undefined;
  try {
    const key = `${dir}/k`;
    await Deno.writeTextFile(key, ok(await circuit(["keygen"]), "keygen").stdout);
    const groups = Array.from({ length: 32 }, (_, i) => ["-group", `${i}`.padStart(64, "g")]).flat();
    const cred = await issue(dir, key, "x".repeat(64), groups);
    plain = await TestServer.start(dir);
    assertErr(await ls(plain, cred), "authentication failed: server does not use a key");
    keyed = await TestServer.start(dir, ["-hmac", key]);
    assert.equal(ok(await ls(keyed, cred), "ls with 32 groups").stdout, keyed.serverAnchor + "\n");
  } finally {
    await plain?.stop();
    await keyed?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
