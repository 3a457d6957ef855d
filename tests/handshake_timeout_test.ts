/**
 * SPEC §4.5, §4.6, §6.4: a peer that accepts the TCP connection but never answers the handshake
 * is reported as `timed out after 5s` (the dial deadline), not as `connection lost`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertFails, circuit } from "./_harness.ts";

Deno.test("a server that accepts but never answers times out the dial after 5s", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const { port } = listener.addr as Deno.NetAddr;
    const url = `circuit://127.0.0.1:${port}/1/Q0de74570a61e9688`;
    const keyFile = await Deno.makeTempFile({ prefix: "circuit-hs-key-" });
    await Deno.writeTextFile(keyFile, (await circuit(["keygen"])).stdout);
    try {
      // Unkeyed (the hello leaves with the first call) and keyed (the whole handshake first).
      // Side by side: each waits out the same deadline.
      const cases = [["ls", "/"], ["peek", "/X0de74570a61e9688"], ["ls", "-hmac", keyFile, "/"]];
      await Promise.all(cases.map(async (args) => {
        const began = Date.now();
        const r = await circuit([args[0], "-d", url, ...args.slice(1)], { timeoutMs: 20_000 });
        const took = Date.now() - began;
        assertFails(r, 1, `dial ${url}: timed out after 5s`);
        assert.ok(took >= 5000 && took < 9000, `${args.join(" ")} took ${took} ms`);
      }));
    } finally {
      await Deno.remove(keyFile);
    }
  } finally {
    listener.close();
    await accepting.catch(() => {});
    held.forEach((c) => c.close());
  }
});
