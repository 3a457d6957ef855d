/**
 * A msgpack bomb (SPEC §11): nested container headers claiming billions of elements, as a hello and
 * as a frame, are refused without allocating, and the server stays small and answers.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dialHandshake } from "../wire/handshake.ts";
import { FrameTransport } from "../wire/transport.ts";
import { circuit, TestServer } from "./_harness.ts";
import { drainUntilClosed, framed, RSS_SETTLED_MIB, rssMiB } from "./_fuzz.ts";
import { portOf } from "./_util.ts";

Deno.test("nested container headers claiming billions of elements are refused without allocating", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-fuzz-bomb-" });
  const a = await TestServer.start(dir);
  // 200 nested `array32` headers of 2^24 elements each: under 1 KiB, gigabytes if preallocated.
  const bomb = new Uint8Array(5 * 200);
  for (let i = 0; i < 200; i++) {
    bomb[5 * i] = 0xdd;
    new DataView(bomb.buffer).setUint32(5 * i + 1, 1 << 24);
  }
  try {
    await t.step("as a hello: the server rejects it and stays small", async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(a.url) });
      await conn.write(framed([bomb]));
      assert.equal(await drainUntilClosed(conn, 5000), true, "the server closes the connection");
    });
    await t.step("as a frame after the handshake: the server closes it and stays small", async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(a.url) });
      const [, pid, worker] = a.url.split("/").slice(-3);
      await dialHandshake(new FrameTransport(conn), `${worker}/${pid}`, { role: "client", from: "", id: "" });
      await conn.write(framed([bomb]));
      assert.equal(await drainUntilClosed(conn, 5000), true, "the server closes the connection");
    });
    await t.step("the server is alive, answers, and its RSS stayed under the settled bound", async () => {
      assert.ok(rssMiB(a.pid) < RSS_SETTLED_MIB, `RSS ${rssMiB(a.pid).toFixed(0)} MiB`);
      const ls = await circuit(["ls", "-d", a.url, "/"]);
      assert.deepEqual(ls, { code: 0, stdout: `${a.serverAnchor}\n`, stderr: "" });
    });
  } finally {
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
