import assert from "node:assert/strict";
import { CircuitError, ConnectionError } from "../wire/errors.ts";
import { generateKey, parseKeyText } from "../wire/crypto/keys.ts";
import { HandshakeKeys, newNonce, NONCE_BYTES } from "../wire/crypto/handshake.ts";
import { FrameOpener, FrameSealer, SEAL_OVERHEAD } from "../wire/crypto/sealer.ts";
import { discoveryKey, macPayload, verifyPayload } from "../wire/crypto/discovery_mac.ts";
import { FrameTransport } from "../wire/transport.ts";

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

async function aesKey(): Promise<CryptoKey> {
  return await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

async function rejectsAuth(p: Promise<unknown>): Promise<void> {
  await assert.rejects(
    p,
    (e: unknown) => e instanceof ConnectionError && e.message === "frame authentication failed",
  );
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

Deno.test("HandshakeKeys traffic keys carry frames each way and differ per connection", async (t) => {
  const key = keyBytes();
  const { dialer, acceptor } = await pair(key);
  await t.step("dialer→acceptor and acceptor→dialer frames open on the other side", async () => {
    const w1 = await dialer.sealerFor("dialer").seal(enc.encode("to acceptor"));
    assert.deepEqual(
      await acceptor.openerFor("acceptor").open(w1.subarray(0, 4), w1.subarray(4)),
      enc.encode("to acceptor"),
    );
    const w2 = await acceptor.sealerFor("acceptor").seal(enc.encode("to dialer"));
    assert.deepEqual(
      await dialer.openerFor("dialer").open(w2.subarray(0, 4), w2.subarray(4)),
      enc.encode("to dialer"),
    );
  });
  await t.step("asking again for a sealer continues its counter instead of reusing nonces", async () => {
    const w0 = await dialer.sealerFor("dialer").seal(enc.encode("same"));
    const w1 = await dialer.sealerFor("dialer").seal(enc.encode("same"));
    assert.notDeepEqual(w0, w1);
    for (const w of [w0, w1]) await acceptor.openerFor("acceptor").open(w.subarray(0, 4), w.subarray(4));
  });
  // Each check below uses the first frame of fresh connections, so only the key can make it fail.
  await t.step("a frame reflected back to its sender does not open", async () => {
    const c = await pair(key);
    const w = await c.dialer.sealerFor("dialer").seal(enc.encode("x"));
    await rejectsAuth(c.dialer.openerFor("dialer").open(w.subarray(0, 4), w.subarray(4)));
  });
  await t.step("a frame of another connection with the same key does not open", async () => {
    const [c1, c2] = [await pair(key), await pair(key)];
    const w = await c1.dialer.sealerFor("dialer").seal(enc.encode("x"));
    await rejectsAuth(c2.acceptor.openerFor("acceptor").open(w.subarray(0, 4), w.subarray(4)));
  });
  await t.step("a frame sealed under a different key does not open", async () => {
    const wrong = await pair(key, keyBytes());
    const w = await wrong.dialer.sealerFor("dialer").seal(enc.encode("x"));
    await rejectsAuth(wrong.acceptor.openerFor("acceptor").open(w.subarray(0, 4), w.subarray(4)));
  });
});

Deno.test("FrameSealer and FrameOpener authenticate every frame, its length and its position", async (t) => {
  const key = await aesKey();
  await t.step("seal returns [u32 BE length][ciphertext+tag] and open returns the plaintext", async () => {
    const sealer = new FrameSealer(key);
    const opener = new FrameOpener(key);
    for (const n of [0, 1, 17, 65536]) {
      const plain = crypto.getRandomValues(new Uint8Array(n));
      const wire = await sealer.seal(plain);
      assert.equal(wire.length, 4 + n + SEAL_OVERHEAD);
      assert.equal(new DataView(wire.buffer).getUint32(0), n + SEAL_OVERHEAD);
      if (n >= 16) assert.notDeepEqual(wire.subarray(4, 4 + n), plain);
      assert.deepEqual(await opener.open(wire.subarray(0, 4), wire.subarray(4)), plain);
    }
  });
  await t.step("the same plaintext sealed twice gives different bytes", async () => {
    const sealer = new FrameSealer(key);
    const a = await sealer.seal(enc.encode("same"));
    const b = await sealer.seal(enc.encode("same"));
    assert.notDeepEqual(a, b);
  });
  await t.step("changing any single byte of prefix or body makes the frame fail", async () => {
    const plain = enc.encode("a frame body of some length");
    const wire = await new FrameSealer(key).seal(plain);
    for (let i = 0; i < wire.length; i++) {
      const bad = wire.slice();
      bad[i] ^= 0x01;
      await rejectsAuth(new FrameOpener(key).open(bad.subarray(0, 4), bad.subarray(4)));
    }
  });
  await t.step("a truncated body fails, even with a prefix rewritten to match", async () => {
    const wire = await new FrameSealer(key).seal(enc.encode("truncate me"));
    const body = wire.subarray(4, wire.length - 1);
    await rejectsAuth(new FrameOpener(key).open(wire.subarray(0, 4), body));
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, body.length);
    await rejectsAuth(new FrameOpener(key).open(prefix, body));
    await rejectsAuth(new FrameOpener(key).open(wire.subarray(0, 4), new Uint8Array(0)));
  });
  await t.step("a replayed frame fails", async () => {
    const sealer = new FrameSealer(key);
    const opener = new FrameOpener(key);
    const w = await sealer.seal(enc.encode("once"));
    await opener.open(w.subarray(0, 4), w.subarray(4));
    await rejectsAuth(opener.open(w.subarray(0, 4), w.subarray(4)));
  });
  await t.step("reordered frames fail, as does a frame after a dropped one", async () => {
    const sealer = new FrameSealer(key);
    const [w0, w1, w2] = [
      await sealer.seal(enc.encode("0")),
      await sealer.seal(enc.encode("1")),
      await sealer.seal(enc.encode("2")),
    ];
    await rejectsAuth(new FrameOpener(key).open(w1.subarray(0, 4), w1.subarray(4)));
    const opener = new FrameOpener(key);
    await opener.open(w0.subarray(0, 4), w0.subarray(4));
    await rejectsAuth(opener.open(w2.subarray(0, 4), w2.subarray(4)));
  });
  await t.step("after one failure the opener refuses even the genuine next frame", async () => {
    const sealer = new FrameSealer(key);
    const opener = new FrameOpener(key);
    const w0 = await sealer.seal(enc.encode("0"));
    const w1 = await sealer.seal(enc.encode("1"));
    const bad = w0.slice();
    bad[5] ^= 0x80;
    await rejectsAuth(opener.open(bad.subarray(0, 4), bad.subarray(4)));
    await rejectsAuth(opener.open(w1.subarray(0, 4), w1.subarray(4)));
  });
  await t.step("overlapping seal calls resolve in call order and open in that order", async () => {
    const sealer = new FrameSealer(key);
    const opener = new FrameOpener(key);
    const plains = Array.from({ length: 50 }, (_, i) => crypto.getRandomValues(new Uint8Array(i * 997)));
    const order: number[] = [];
    const wires = await Promise.all(plains.map((p, i) => sealer.seal(p).then((w) => (order.push(i), w))));
    assert.deepEqual(order, plains.map((_, i) => i));
    for (let i = 0; i < wires.length; i++) {
      assert.deepEqual(await opener.open(wires[i].subarray(0, 4), wires[i].subarray(4)), plains[i]);
    }
  });
  await t.step("both ends refuse once the frame counter reaches its bound", async () => {
    const sealer = new FrameSealer(key, 2);
    const opener = new FrameOpener(key, 2);
    for (let i = 0; i < 2; i++) {
      const w = await sealer.seal(enc.encode("x"));
      await opener.open(w.subarray(0, 4), w.subarray(4));
    }
    const exhausted = new ConnectionError("frame counter exhausted");
    await assert.rejects(sealer.seal(enc.encode("x")), exhausted);
    const w = await new FrameSealer(key).seal(enc.encode("x"));
    await assert.rejects(opener.open(w.subarray(0, 4), w.subarray(4)), exhausted);
  });
});

// Throughput, not correctness: run with `deno bench tests/crypto_test.ts` (`deno test` skips benches).
const benchKeys = await pair(keyBytes());
const benchSealer = benchKeys.dialer.sealerFor("dialer");
const benchOpener = benchKeys.acceptor.openerFor("acceptor");
for (const kib of [1, 16, 64, 1024]) {
  const plain = new Uint8Array(kib * 1024);
  Deno.bench(`seal+open of one ${kib} KiB frame`, { n: 2000 }, async () => {
    const w = await benchSealer.seal(plain);
    await benchOpener.open(w.subarray(0, 4), w.subarray(4));
  });
}

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

Deno.test("the derivation, proofs, sealed frames and discovery MAC match golden bytes", async (t) => {
  // Expected values were computed independently with Python's hmac/hashlib (RFC 5869 HKDF by hand)
  // and the `cryptography` package's AESGCM, from the layout documented in handshake.ts and sealer.ts.
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
  await t.step("the first two dialer frames and the first acceptor frame", async () => {
    const d = keys.sealerFor("dialer");
    assert.equal(
      hex(await d.seal(new Uint8Array([0x91, 0x07]))),
      "000000128e594a17c8211a4121060fd5fae7e6225ffc",
    );
    assert.equal(
      hex(await d.seal(new Uint8Array([0x91, 0x08]))),
      "000000120bc1ea83ffcf84b3adcfa31f2a935454c220",
    );
    const a = keys.sealerFor("acceptor");
    assert.equal(
      hex(await a.seal(new Uint8Array([0x91, 0x07]))),
      "00000012cf04f031cdf70182053625e7987e91fd63aa",
    );
  });
  await t.step("the discovery MAC of a probe", async () => {
    const mac = await macPayload(await discoveryKey(key), enc.encode('{"Origin":"client","Addr":""}'));
    assert.equal(hex(mac), "3101a2d7ddd0f040f2acedb7f3bd7749b3e2f96e363a61fe17adfd3668b935b9");
  });
});

Deno.test("a keyed FrameTransport hands out the frames of records in order and stops at the first forged one", async () => {
  const key = await aesKey();
  const sealer = new FrameSealer(key);
  // Sixty records of one frame each (`[u32 BE length][body]` sealed), sent in one write so the
  // reader opens many at once; record 40 is altered on the wire.
  const wires: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    const body = enc.encode(`frame ${i}`);
    const record = new Uint8Array(4 + body.length);
    new DataView(record.buffer).setUint32(0, body.length);
    record.set(body, 4);
    const wire = await sealer.seal(record);
    if (i === 40) wire[wire.length - 1] ^= 0x01;
    wires.push(wire);
  }
  const all = new Uint8Array(wires.reduce((n, w) => n + w.length, 0));
  wires.reduce((off, w) => (all.set(w, off), off + w.length), 0);

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const dialed = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await accepted;
  const reader = new FrameTransport(dialed);
  reader.encrypt(sealer, new FrameOpener(key));
  await server.write(all);

  const got: string[] = [];
  await assert.rejects(async () => {
    for (;;) {
      const batch = await reader.readBatch();
      if (batch === null) break;
      for (const body of batch) got.push(new TextDecoder().decode(body));
    }
  }, ConnectionError);
  assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => `frame ${i}`));
  reader.close();
  server.close();
  listener.close();
});
