/**
 * `circuit issue` (SPEC §10.5): bad names, groups, ttl and a missing key refused in one line, and
 * the certificate it prints (identity, groups, role:client, validity) checked by openssl.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertErr, circuit } from "./_harness.ts";
import { issue, ok } from "./_credential.ts";

Deno.test("issue: bad names, groups, ttl and a missing key are one line, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-cred-" });
  try {
    const key = `${dir}/k`;
    await Deno.writeTextFile(key, (await circuit(["keygen"])).stdout);
    const cases: [string[], string][] = [
      [["-hmac", key, "-name", "Alice"], `name "Alice": must be 1-64 of [a-z0-9._-]`],
      [["-hmac", key, "-name", "a".repeat(65)], "must be 1-64 of [a-z0-9._-]"],
      [["-hmac", key, "-name", "alice", "-group", "o p"], `group "o p": must be 1-64 of [a-z0-9._-]`],
      [["-hmac", key, "-name", "admin"], `name "admin" is reserved`],
      [["-hmac", key, "-name", "alice", "-ttl", "3 days"], `invalid -ttl "3 days"`],
      [["-name", "alice"], "issue needs the cluster key: -hmac FILE or CIRCUIT_HMAC"],
      [["-hmac", key], "issue needs -name"],
      [
        ["-hmac", key, "-name", "a", ...Array.from({ length: 33 }, (_, i) => ["-group", `g${i}`]).flat()],
        "at most 32 groups",
      ],
    ];
    for (const [args, text] of cases) assertErr(await circuit(["issue", ...args], { clearEnv: true }), text);
    const pem =
      ok(await circuit(["issue", "-hmac", key, "-name", "a.b_c-9", "-group", "ops"]), "issue").stdout;
    assert.equal(pem.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
    assert.equal(pem.match(/-----BEGIN PRIVATE KEY-----/g)?.length, 1);
    // A credential is not a key: issuing needs the key itself.
    await Deno.writeTextFile(`${dir}/c`, pem);
    assertErr(
      await circuit(["issue", "-hmac", `${dir}/c`, "-name", "eve"]),
      "a credential cannot issue credentials, only the key can",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("issue: the certificate names the identity and its groups, role:client, signed by the CA (openssl)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-cred-" });
  try {
    const key = `${dir}/k`;
    await Deno.writeTextFile(key, (await circuit(["keygen"])).stdout);
    const path = await issue(dir, key, "alice", ["-group", "ops", "-group", "dev", "-ttl", "2h"]);
    const pem = await Deno.readTextFile(path);
    const [leaf, ca] = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g)!;
    await Deno.writeTextFile(`${dir}/ca.pem`, ca);
    await Deno.writeTextFile(`${dir}/leaf.pem`, leaf);
    const run = async (args: string[]) => {
      const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" }).output();
      return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    };
    assert.match(await run(["verify", "-CAfile", `${dir}/ca.pem`, `${dir}/leaf.pem`]), /leaf.pem: OK/);
    const text = await run(["x509", "-in", `${dir}/leaf.pem`, "-noout", "-subject", "-enddate"]);
    assert.match(
      text,
      /subject=O ?= ?circuit, OU ?= ?role:client, OU ?= ?group:ops, OU ?= ?group:dev, CN ?= ?alice/,
    );
    const end = new Date(text.match(/notAfter=(.*)/)![1]).getTime();
    assert.ok(Math.abs(end - (Date.now() + 2 * 3600_000)) < 60_000, text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
