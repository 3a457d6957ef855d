/**
 * Fuzzing a keyed server's TLS (SPEC §10.1, §11): garbage and truncated TLS records, and a broken
 * frame inside TLS, close only their own connection; a bystander and new keyed clients are still
 * served.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../wire/dial.ts";
import { dialHandshake } from "../wire/handshake.ts";
import { FrameTransport } from "../wire/transport.ts";
import { parseKeyText } from "../wire/crypto/keys.ts";
import { clusterCa } from "../wire/tls/cluster.ts";
import { circuit, TestServer } from "./_harness.ts";
import { bytes, drainUntilClosed } from "./_fuzz.ts";
import { portOf } from "./_util.ts";

/** A raw TCP connection to `server` that writes `bytes` and reports whether the server then closed it. */
async function closesAfter(server: TestServer, bytes: Uint8Array, end: boolean): Promise<boolean> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(server.url) });
  await conn.write(bytes).catch(() => {});
  if (end) await conn.closeWrite().catch(() => {});
  return await drainUntilClosed(conn, 7_000);
}

Deno.test("garbage and truncated TLS records, and a broken frame inside TLS, close only their connection", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-fuzz-keyed-" });
  const keyText = (await circuit(["keygen"])).stdout;
  await Deno.writeTextFile(`${dir}/k`, keyText);
  const key = parseKeyText(keyText, `${dir}/k`);
  const h = await TestServer.start(dir, ["-hmac", `${dir}/k`]);
  // A connection that stays open meanwhile, to show the others' ends do not touch it.
  const bystander = await connect(h.url, { key });
  try {
    const hello = Uint8Array.from([
      0x16,
      0x03,
      0x01,
      0x00,
      0xc8,
      0x01,
      0x00,
      0x00,
      0xc4,
      0x03,
      0x03,
      ...bytes(64),
    ]);
    await t.step("random bytes", async () => assert.ok(await closesAfter(h, bytes(4096), false)));
    await t.step("a TLS record header claiming 16 MiB", async () => {
      assert.ok(await closesAfter(h, Uint8Array.from([0x16, 0x03, 0x01, 0xff, 0xff, ...bytes(100)]), false));
    });
    await t.step("a ClientHello cut short, then the end of the stream", async () => {
      assert.ok(await closesAfter(h, hello, true));
    });
    await t.step("an application-data record before any handshake", async () => {
      assert.ok(await closesAfter(h, Uint8Array.from([0x17, 0x03, 0x03, 0x00, 0x20, ...bytes(32)]), false));
    });
    await t.step("inside TLS: a frame longer than the limit after an honest handshake", async () => {
      const tls = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: portOf(h.url),
        caCerts: [(await clusterCa(key)).certPem],
      });
      const [, pid, worker] = h.url.split("/").slice(-3);
      const tr = new FrameTransport(tls);
      await dialHandshake(tr, `${worker}/${pid}`, { role: "client", from: "", id: "", key });
      await tls.write(Uint8Array.from([0xff, 0xff, 0xff, 0xff, ...bytes(64)]));
      // The server drops the socket without a TLS close_notify, which rustls reports as an error:
      // what matters is that it ends long before the drain gives up.
      const t0 = performance.now();
      await drainUntilClosed(tls, 5_000);
      assert.ok(performance.now() - t0 < 4_000, "the server closes the connection");
    });
    await t.step("the bystander and new keyed clients are still served", async () => {
      assert.ok(await bystander.call("view", {}), "the bystander's call is answered");
      const ls = await circuit(["ls", "-hmac", `${dir}/k`, "-d", h.url, "/"]);
      assert.equal(ls.code, 0, ls.stderr);
      assert.equal(ls.stdout.trim(), h.serverAnchor);
    });
  } finally {
    bystander.close();
    await h.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
