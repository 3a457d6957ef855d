/**
 * The keyed cluster's TLS (SPEC §10.1) from outside: a foreign TLS client (openssl s_client) gets
 * TLS 1.3 with the cluster's certificate and nothing else, and a dialer refuses a server leaf of the
 * right CA that has expired or is not yet valid.
 *
 * @module
 */
import assert from "node:assert/strict";
import { eventually, TestServer } from "./_harness.ts";
import { keygen, portOf, servers, sleep, withDir } from "./_security.ts";

/** `openssl s_client` against `port`: writes `input`, then closes its stdin; its output and exit code. */
async function sClient(dir: string, port: number, args: string[], input = new Uint8Array(0)) {
  const child = new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${port}`, "-verify_ip", "127.0.0.1", ...args],
    cwd: dir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  // A moment for the handshake and the server's answer before s_client sees the end of its input.
  await sleep(500);
  await w.close();
  const out = await child.output();
  return {
    code: out.code,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

Deno.test("a foreign TLS client (openssl s_client) gets TLS 1.3 with the cluster's certificate and nothing else", async (t) => {
  await withDir(async (dir) => {
    const { k1, k2 } = await keygen(dir);
    const { deriveClusterCa, issueLeaf } = await import("../wire/crypto/ca.ts");
    const { parseKeyText } = await import("../wire/crypto/keys.ts");
    const ca = await deriveClusterCa(parseKeyText(await Deno.readTextFile(k1), k1));
    const otherCa = await deriveClusterCa(parseKeyText(await Deno.readTextFile(k2), k2));
    const foreign = await issueLeaf(otherCa, { role: "client", name: "admin" });
    await Deno.writeTextFile(`${dir}/ca.pem`, ca.certPem);
    await Deno.writeTextFile(`${dir}/other-ca.pem`, otherCa.certPem);
    await Deno.writeTextFile(`${dir}/foreign.pem`, foreign.certPem);
    await Deno.writeTextFile(`${dir}/foreign.key`, foreign.keyPem);
    const h = await TestServer.start(dir, ["-hmac", k1]);
    const port = portOf(h.url);
    const worker = h.url.split("/").pop()!;
    try {
      await t.step("TLS 1.3 completes and the server's leaf verifies against the key's CA", async () => {
        const r = await sClient(dir, port, ["-tls1_3", "-CAfile", "ca.pem", "-verify_return_error"]);
        assert.match(r.text, /TLSv1\.3/, r.text);
        assert.match(r.text, /Verify return code: 0 \(ok\)/, r.text);
        assert.ok(r.text.includes(`CN = server:${worker}`), r.text);
        assert.ok(r.text.includes("OU = role:server"), r.text);
      });
      await t.step("the server's leaf does not verify against another key's CA", async () => {
        const r = await sClient(dir, port, ["-tls1_3", "-CAfile", "other-ca.pem", "-verify_return_error"]);
        assert.notEqual(r.code, 0, r.text);
        assert.match(r.text, /certificate signature failure|verify error/, r.text);
      });
      await t.step("TLS 1.2 is refused with a protocol_version alert", async () => {
        const r = await sClient(dir, port, ["-tls1_2", "-CAfile", "ca.pem"]);
        assert.notEqual(r.code, 0, r.text);
        assert.match(r.text, /alert protocol version/, r.text);
        assert.match(r.text, /Cipher is \(NONE\)/, r.text);
      });
      await t.step(
        "a client certificate of another CA gets it nothing: without the key's proof the hello is refused",
        async () => {
          const { encode } = await import("@msgpack/msgpack");
          const [, pid] = h.url.split("/").slice(-3);
          const body = encode({
            V: 1,
            Role: "client",
            Keyed: true,
            Target: `${worker}/${pid}`,
            From: "",
            Id: "",
            Nonce: new Uint8Array(32),
          });
          const frame = new Uint8Array(4 + body.length);
          new DataView(frame.buffer).setUint32(0, body.length);
          frame.set(body, 4);
          // The proof the server then asks for: 32 bytes that are not the HMAC of the key.
          const proof = encode({ Proof: new Uint8Array(32) });
          const frame2 = new Uint8Array(4 + proof.length);
          new DataView(frame2.buffer).setUint32(0, proof.length);
          frame2.set(proof, 4);
          const r = await sClient(dir, port, [
            "-tls1_3",
            "-CAfile",
            "ca.pem",
            "-cert",
            "foreign.pem",
            "-key",
            "foreign.key",
            "-quiet",
          ], new Uint8Array([...frame, ...frame2]));
          assert.ok(r.text.includes("authentication failed: key mismatch"), r.text);
          await eventually(
            "the rejection logged",
            2000,
            () => /rejected peer 127\.0\.0\.1:\d+: authentication failed: key mismatch/.test(h.log()),
          );
        },
      );
      await t.step("the server still serves keyed clients", async () => {
        assert.deepEqual(await servers(h.url, k1), [h.serverAnchor]);
      });
    } finally {
      await h.stop();
    }
  });
});

Deno.test("a dialer refuses a server leaf of the right CA that has expired or is not yet valid", async (t) => {
  const { deriveClusterCa, issueLeaf } = await import("../wire/crypto/ca.ts");
  const { TlsListener } = await import("../server/tls_listener.ts");
  const { connect } = await import("../wire/dial.ts");
  const key = crypto.getRandomValues(new Uint8Array(64));
  const ca = await deriveClusterCa(key);
  const hour = 3600_000;
  const cases = {
    "expired an hour ago": {
      notBefore: new Date(Date.now() - 3 * hour),
      notAfter: new Date(Date.now() - hour),
    },
    "valid only from tomorrow": { notBefore: new Date(Date.now() + 24 * hour) },
  };
  for (const [name, validity] of Object.entries(cases)) {
    await t.step(name, async () => {
      const leaf = await issueLeaf(ca, {
        role: "server",
        name: "server:Q0123456789abcdef",
        hosts: ["127.0.0.1"],
      }, validity);
      const listener = await TlsListener.listen("127.0.0.1", 0, leaf.certPem, leaf.keyPem);
      const accepted: Promise<unknown>[] = [];
      const serving = (async () => {
        for await (const conn of listener) {
          accepted.push(conn.handshake().catch((e) => e).finally(() => conn.close()));
        }
      })();
      try {
        await assert.rejects(
          connect(`circuit://127.0.0.1:${listener.addr.port}/42/Q0123456789abcdef`, { key }),
          (e: Error) => /^authentication failed: server certificate (expired|not yet valid)$/.test(e.message),
        );
      } finally {
        listener.close();
        await serving;
        await Promise.all(accepted);
      }
    });
  }
});
