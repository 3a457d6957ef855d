import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import { generateKey, parseKeyText } from "../wire/crypto/keys.ts";
import { HandshakeKeys, newNonce, NONCE_BYTES } from "../wire/crypto/handshake.ts";
import { deriveClusterCa, issueLeaf } from "../wire/crypto/ca.ts";
import { discoveryKey, macPayload, verifyPayload } from "../wire/crypto/discovery_mac.ts";

const enc = new TextEncoder();
const ID = "Q0123456789abcdef/4242";

function keyBytes(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(64));
}

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** Both ends of one connection, each deriving its own keys as a real pair of processes would. */
async function pair(dialerKey: Uint8Array, acceptorKey = dialerKey) {
  const dn = newNonce();
  const an = newNonce();
  return {
    dialer: await HandshakeKeys.derive(dialerKey, dn, an),
    acceptor: await HandshakeKeys.derive(acceptorKey, dn, an),
  };
}

Deno.test("generateKey returns 88 characters of base64 for 64 fresh random bytes", async (t) => {
  await t.step("the text is padded standard base64 of 64 bytes with no newline", () => {
    const k = generateKey();
    assert.equal(k.length, 88);
    assert.match(k, /^[A-Za-z0-9+/]{86}==$/);
    assert.equal(parseKeyText(k, "k").length, 64);
  });
  await t.step("no two of 1000 generated keys are equal", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(generateKey());
    assert.equal(seen.size, 1000);
  });
});

Deno.test("parseKeyText decodes padded base64 and rejects bad key files with the spec's texts", async (t) => {
  const bytes = keyBytes();
  const text = b64(bytes);
  await t.step("whitespace anywhere is ignored", () => {
    const spaced = ` ${text.slice(0, 10)}\n\t${text.slice(10, 50)}\r\n ${text.slice(50)}\n\n`;
    assert.deepEqual(parseKeyText(spaced, "k"), bytes);
  });
  await t.step("a 16-byte key is accepted", () => {
    assert.equal(parseKeyText(b64(new Uint8Array(16)), "k").length, 16);
  });
  await t.step("an empty or whitespace-only file is `key file <path> is empty`", () => {
    for (const t of ["", " \n\t\r\n"]) {
      assert.throws(
        () => parseKeyText(t, "/etc/circuit.hmac"),
        new CircuitError("key file /etc/circuit.hmac is empty"),
      );
    }
  });
  await t.step("a key under 16 bytes is `key too short (<n> bytes; at least 16)`", () => {
    assert.throws(() => parseKeyText(b64(new Uint8Array(15)), "k"), {
      name: "CircuitError",
      message: "key too short (15 bytes; at least 16)",
    });
    assert.throws(() => parseKeyText("AA==", "k"), new CircuitError("key too short (1 bytes; at least 16)"));
  });
  await t.step("malformed base64 is `problem decoding base64 private key: <cause>` at the bad byte", () => {
    const cases: [string, number][] = [
      [text.slice(0, 86), 86], // padding missing
      [text.slice(0, 10) + "*" + text.slice(11), 10], // not in the alphabet
      [text.slice(0, 10) + "-" + text.slice(11), 10], // URL-safe alphabet is not standard
      [text + "AAAA", 86], // data after padding
      ["A===" + text, 1], // padding leaving one character in its group
      [text.slice(0, 84) + "=", 84], // padding starting a group
    ];
    for (const [bad, at] of cases) {
      assert.throws(() => parseKeyText(bad, "k"), {
        name: "CircuitError",
        message: `problem decoding base64 private key: illegal base64 data at input byte ${at}`,
      }, bad);
    }
  });
});

Deno.test("HandshakeKeys proofs verify only for the same key, role, identity and nonces", async (t) => {
  const key = keyBytes();
  const { dialer, acceptor } = await pair(key);
  await t.step("each side verifies the other's proof", async () => {
    assert.ok(await acceptor.verify("dialer", ID, await dialer.prove("dialer", ID)));
    assert.ok(await dialer.verify("acceptor", ID, await acceptor.prove("acceptor", ID)));
  });
  await t.step("a proof made with a different key fails", async () => {
    const wrong = await pair(key, keyBytes());
    assert.equal(await wrong.acceptor.verify("dialer", ID, await wrong.dialer.prove("dialer", ID)), false);
  });
  await t.step("a proof reflected back to its sender fails", async () => {
    const mine = await dialer.prove("dialer", ID);
    assert.equal(await dialer.verify("acceptor", ID, mine), false);
    assert.notDeepEqual(mine, await dialer.prove("acceptor", ID));
  });
  await t.step("a proof for a different identity fails", async () => {
    const proof = await dialer.prove("dialer", ID);
    assert.equal(await acceptor.verify("dialer", "Q0123456789abcdef/4243", proof), false);
  });
  await t.step("a proof from another connection (other nonces) fails", async () => {
    const other = await pair(key);
    assert.equal(await acceptor.verify("dialer", ID, await other.dialer.prove("dialer", ID)), false);
  });
  await t.step("a proof with one bit flipped, truncated or empty fails", async () => {
    const proof = await dialer.prove("dialer", ID);
    const flipped = proof.slice();
    flipped[31] ^= 1;
    assert.equal(await acceptor.verify("dialer", ID, flipped), false);
    assert.equal(await acceptor.verify("dialer", ID, proof.subarray(0, 31)), false);
    assert.equal(await acceptor.verify("dialer", ID, new Uint8Array(0)), false);
  });
  await t.step("nonces that are not 32 bytes are refused", async () => {
    await assert.rejects(HandshakeKeys.derive(key, new Uint8Array(31), newNonce()), RangeError);
    await assert.rejects(HandshakeKeys.derive(key, newNonce(), new Uint8Array(NONCE_BYTES + 1)), RangeError);
  });
});

Deno.test("discovery MACs verify only for the same cluster key and payload", async (t) => {
  const key = keyBytes();
  const dk = await discoveryKey(key);
  const payload = enc.encode('{"Origin":"server","Addr":"circuit://127.0.0.1:4000/812/Q0123456789abcdef"}');
  const mac = await macPayload(dk, payload);
  await t.step(
    "a MAC of the payload verifies, also under a key derived again from a copy of the cluster key",
    async () => {
      assert.equal(mac.length, 32);
      assert.ok(await verifyPayload(dk, payload, mac));
      assert.ok(await verifyPayload(await discoveryKey(key.slice()), payload, mac));
    },
  );
  await t.step("a changed payload, a changed or truncated MAC, or another key fails", async () => {
    const changed = payload.slice();
    changed[10] ^= 1;
    assert.equal(await verifyPayload(dk, changed, mac), false);
    const badMac = mac.slice();
    badMac[0] ^= 1;
    assert.equal(await verifyPayload(dk, payload, badMac), false);
    assert.equal(await verifyPayload(dk, payload, mac.subarray(0, 16)), false);
    assert.equal(await verifyPayload(await discoveryKey(keyBytes()), payload, mac), false);
  });
  await t.step("the discovery MAC is not the handshake auth key's MAC", async () => {
    const { dialer } = await pair(key);
    assert.notDeepEqual(await dialer.prove("dialer", ""), mac);
    const hmacOfRawKey = await crypto.subtle.importKey(
      "raw",
      key as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    assert.notDeepEqual(new Uint8Array(await crypto.subtle.sign("HMAC", hmacOfRawKey, payload)), mac);
  });
});

Deno.test("the derivation, proofs and discovery MAC match golden bytes", async (t) => {
  // Expected values were computed independently with Python's hmac/hashlib (RFC 5869 HKDF by hand)
  // from the layout documented in handshake.ts.
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const key = Uint8Array.from({ length: 64 }, (_, i) => i);
  const dn = new Uint8Array(32).fill(0x11);
  const an = new Uint8Array(32).fill(0x22);
  const keys = await HandshakeKeys.derive(key, dn, an);
  await t.step("proofs of both roles", async () => {
    assert.equal(
      hex(await keys.prove("dialer", ID)),
      "a4ea495e5227270c1044c44f75ba14acce89d2c0e33d3c5fef859ba1cb2fe303",
    );
    assert.equal(
      hex(await keys.prove("acceptor", ID)),
      "dea534849714b373bd54e5aae7339dac69439e2e692e72f2a35e1e6dbfde4806",
    );
  });
  await t.step("the discovery MAC of a probe", async () => {
    const mac = await macPayload(await discoveryKey(key), enc.encode('{"Origin":"client","Addr":""}'));
    assert.equal(hex(mac), "3101a2d7ddd0f040f2acedb7f3bd7749b3e2f96e363a61fe17adfd3668b935b9");
  });
});

/** `openssl <args>` on files in `dir`; its stdout and exit code. */
async function openssl(dir: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("openssl", { args, cwd: dir, stdout: "piped", stderr: "piped" }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

Deno.test("the cluster CA is the same for every holder of a key and differs between keys", async () => {
  const key = keyBytes();
  const [a, b, other] = [
    await deriveClusterCa(key),
    await deriveClusterCa(key.slice()),
    await deriveClusterCa(keyBytes()),
  ];
  assert.equal(a.certPem, b.certPem);
  assert.notEqual(a.certPem, other.certPem);
});

Deno.test("OpenSSL reads the CA and leaf certificates as SPEC §10.1 describes them and verifies the chain", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-ca-" });
  try {
    const ca = await deriveClusterCa(keyBytes());
    const otherCa = await deriveClusterCa(keyBytes());
    const leaf = await issueLeaf(ca, {
      role: "server",
      name: "server:Q0123456789abcdef",
      hosts: ["127.0.0.1", "::1", "h.example"],
    });
    const cred = await issueLeaf(ca, { role: "client", name: "alice", groups: ["ops", "dev"] });
    const hourAgo = new Date(Date.now() - 3600_000);
    const expired = await issueLeaf(ca, { role: "client", name: "admin" }, {
      notBefore: new Date(Date.now() - 7200_000),
      notAfter: hourAgo,
    });
    const future = await issueLeaf(ca, { role: "client", name: "admin" }, {
      notBefore: new Date(Date.now() + 3600_000),
    });
    for (
      const [f, pem] of Object.entries({
        ca: ca.certPem,
        other: otherCa.certPem,
        leaf: leaf.certPem,
        cred: cred.certPem,
        expired: expired.certPem,
        future: future.certPem,
      })
    ) {
      await Deno.writeTextFile(`${dir}/${f}.pem`, pem);
    }
    await t.step(
      "the CA: v3, Ed25519, fixed subject and serial, CA:TRUE, may sign certificates",
      async () => {
        const { code, out } = await openssl(dir, "x509", "-in", "ca.pem", "-noout", "-text");
        assert.equal(code, 0, out);
        for (
          const want of [
            "Version: 3 (0x2)",
            "Serial Number: 1 (0x1)",
            "Signature Algorithm: ED25519",
            "Issuer: O = circuit, CN = circuit cluster CA",
            "Subject: O = circuit, CN = circuit cluster CA",
            "CA:TRUE",
            "Certificate Sign, CRL Sign",
            "Not Before: Jan  1 00:00:00 2024 GMT",
            "Not After : Dec 31 23:59:59 9999 GMT",
          ]
        ) {
          assert.ok(out.includes(want), `${want} in\n${out}`);
        }
      },
    );
    await t.step(
      "a server leaf: its role and identity in the subject, its addresses as SANs, CA:FALSE",
      async () => {
        const { code, out } = await openssl(dir, "x509", "-in", "leaf.pem", "-noout", "-text");
        assert.equal(code, 0, out);
        for (
          const want of [
            "Subject: O = circuit, OU = role:server, CN = server:Q0123456789abcdef",
            "CA:FALSE",
            "Digital Signature",
            "TLS Web Server Authentication, TLS Web Client Authentication",
            "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:h.example",
          ]
        ) {
          assert.ok(out.includes(want), `${want} in\n${out}`);
        }
      },
    );
    await t.step("a credential leaf carries its name and groups", async () => {
      const { out } = await openssl(dir, "x509", "-in", "cred.pem", "-noout", "-subject");
      assert.equal(
        out.trim(),
        "subject=O = circuit, OU = role:client, OU = group:ops, OU = group:dev, CN = alice",
      );
    });
    await t.step("a leaf is valid from an hour ago for 30 days", async () => {
      const { out } = await openssl(dir, "x509", "-in", "leaf.pem", "-noout", "-startdate", "-enddate");
      const [start, end] = out.trim().split("\n").map((l) => Date.parse(l.split("=")[1]));
      assert.ok(Math.abs(start - (Date.now() - 3600_000)) < 60_000, out);
      assert.ok(Math.abs(end - start - 30 * 86400_000 - 3600_000) < 60_000, out);
    });
    await t.step(
      "the chain verifies against its CA, not against another CA, and not when out of date",
      async () => {
        assert.equal((await openssl(dir, "verify", "-CAfile", "ca.pem", "leaf.pem")).code, 0);
        assert.equal((await openssl(dir, "verify", "-CAfile", "ca.pem", "cred.pem")).code, 0);
        assert.notEqual((await openssl(dir, "verify", "-CAfile", "other.pem", "leaf.pem")).code, 0);
        const exp = await openssl(dir, "verify", "-CAfile", "ca.pem", "expired.pem");
        assert.ok(exp.code !== 0 && /expired/.test(exp.out), exp.out);
        const fut = await openssl(dir, "verify", "-CAfile", "ca.pem", "future.pem");
        assert.ok(fut.code !== 0 && /not yet valid/.test(fut.out), fut.out);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
