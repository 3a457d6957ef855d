/**
 * Byte-level tests: raw frames to a real server, well-formed and malformed (docs/PROTOCOL.md).
 */
import assert from "node:assert/strict";
import { decode, encode } from "@msgpack/msgpack";
import { TestServer } from "./_harness.ts";

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

class RawConn {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(url: string): Promise<RawConn> {
    const m = /^circuit:\/\/([^:]+):(\d+)\//.exec(url)!;
    return new RawConn(await Deno.connect({ hostname: m[1], port: Number(m[2]) }));
  }

  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /** The next frame's decoded body, or null when the server closed the connection. */
  async read(): Promise<unknown> {
    for (;;) {
      if (this.#buf.length >= 4) {
        const len = new DataView(this.#buf.buffer, this.#buf.byteOffset).getUint32(0);
        if (this.#buf.length >= 4 + len) {
          const body = this.#buf.slice(4, 4 + len);
          this.#buf = this.#buf.slice(4 + len);
          return decode(body);
        }
      }
      const chunk = new Uint8Array(65536);
      let n: number | null;
      try {
        n = await this.#conn.read(chunk);
      } catch {
        n = null;
      }
      if (n === null) return null;
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

function target(url: string): string {
  const [pid, worker] = url.split("/").slice(-2);
  return `${worker}/${pid}`;
}

async function handshake(c: RawConn, url: string): Promise<Record<string, unknown>> {
  await c.write(frame(encode({ V: 1, Role: "client", Keyed: false, Target: target(url), From: "", Id: "" })));
  return await c.read() as Record<string, unknown>;
}

Deno.test("raw frames against a real server", async (t) => {
  const dir = await Deno.makeTempDir();
  const server = await TestServer.start(dir);
  try {
    await t.step("a ping frame has the documented golden bytes", () => {
      assert.deepEqual([...frame(encode([7]))], [0, 0, 0, 2, 0x91, 0x07]);
      assert.deepEqual(
        [...frame(encode([0, 2, "view", {}]))],
        [0, 0, 0, 9, 0x94, 0x00, 0x02, 0xa4, 0x76, 0x69, 0x65, 0x77, 0x80],
      );
    });

    await t.step("handshake then a view call returns this server", async () => {
      const c = await RawConn.open(server.url);
      const welcome = await handshake(c, server.url);
      assert.equal(welcome.V, 1);
      assert.equal("/" + welcome.Id, server.serverAnchor);
      assert.equal(welcome.Url, server.url);
      await c.write(frame(encode([0, 2, "view", {}])));
      const result = await c.read() as unknown[];
      assert.deepEqual(result, [1, 2, [{
        Id: server.serverAnchor.slice(1),
        Url: server.url,
        Host: Deno.hostname(),
        Tags: {},
        State: "alive",
      }]]);
      await c.write(frame(encode([7])));
      assert.deepEqual(await c.read(), [8]);
      c.close();
    });

    await t.step("an application error comes back as an error frame of kind 0", async () => {
      const c = await RawConn.open(server.url);
      await handshake(c, server.url);
      await c.write(frame(encode([0, 4, "peek", { Path: "/X0000000000000001/a" }])));
      assert.deepEqual(await c.read(), [2, 4, 0, "unknown server X0000000000000001"]);
      c.close();
    });

    await t.step("a wrong worker ID is refused with server identity mismatch", async () => {
      const c = await RawConn.open(server.url);
      await c.write(
        frame(
          encode({ V: 1, Role: "client", Keyed: false, Target: "Q0000000000000001/1", From: "", Id: "" }),
        ),
      );
      assert.deepEqual(await c.read(), { Error: "server identity mismatch" });
      assert.equal(await c.read(), null);
      c.close();
    });

    await t.step("a call sent in the same write as the hello is answered after the welcome", async () => {
      const c = await RawConn.open(server.url);
      const hello = frame(
        encode({ V: 1, Role: "client", Keyed: false, Target: target(server.url), From: "", Id: "" }),
      );
      await c.write(new Uint8Array([...hello, ...frame(encode([0, 2, "view", {}]))]));
      assert.equal("/" + (await c.read() as Record<string, unknown>).Id, server.serverAnchor);
      assert.deepEqual(await c.read(), [1, 2, [{
        Id: server.serverAnchor.slice(1),
        Url: server.url,
        Host: Deno.hostname(),
        Tags: {},
        State: "alive",
      }]]);
      c.close();
    });

    await t.step("a call sent behind a refused hello is never read", async () => {
      const c = await RawConn.open(server.url);
      const hello = frame(
        encode({ V: 1, Role: "client", Keyed: false, Target: "Q0000000000000001/1", From: "", Id: "" }),
      );
      const mk = frame(encode([0, 2, "mk", { Path: `${server.serverAnchor}/early`, Kind: "chan", Arg: 1 }]));
      await c.write(new Uint8Array([...hello, ...mk]));
      assert.deepEqual(await c.read(), { Error: "server identity mismatch" });
      assert.equal(await c.read(), null);
      c.close();
      const check = await RawConn.open(server.url);
      await handshake(check, server.url);
      await check.write(frame(encode([0, 2, "peek", { Path: `${server.serverAnchor}/early` }])));
      assert.deepEqual(await check.read(), [1, 2, null], "no channel was made");
      check.close();
    });

    await t.step("another protocol version is refused", async () => {
      const c = await RawConn.open(server.url);
      await c.write(
        frame(encode({ V: 2, Role: "client", Keyed: false, Target: target(server.url), From: "", Id: "" })),
      );
      assert.deepEqual(await c.read(), { Error: "protocol version mismatch" });
      c.close();
    });

    const malformed: [string, Uint8Array][] = [
      ["an oversized length prefix", new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])],
      ["a length just over 1 MiB", new Uint8Array([0x00, 0x10, 0x00, 0x01])],
      ["an undecodable body", frame(new Uint8Array([0xc1, 0xc1]))],
      ["a frame of unknown type", frame(encode([99, 1]))],
      ["a call with a non-string op", frame(encode([0, 2, 5, {}]))],
      ["a data frame without bytes", frame(encode([4, 2, "text"]))],
      ["a map where a frame array belongs", frame(encode({ a: 1 }))],
    ];
    for (const [what, bytes] of malformed) {
      await t.step(`${what} closes that connection while the server keeps serving others`, async () => {
        const good = await RawConn.open(server.url);
        await handshake(good, server.url);
        const bad = await RawConn.open(server.url);
        await handshake(bad, server.url);
        await bad.write(bytes);
        assert.equal(await bad.read(), null);
        bad.close();
        await good.write(frame(encode([0, 2, "view", {}])));
        const result = await good.read() as unknown[];
        assert.equal(result[0], 1);
        good.close();
      });
    }

    await t.step("garbage instead of a handshake is dropped and logged as a rejected peer", async () => {
      const c = await RawConn.open(server.url);
      await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
      assert.equal(await c.read(), null);
      c.close();
      const ops = await server.opsLog();
      assert.ok(ops.some((o) => o.Op === "reject" && String(o.Peer).startsWith("127.0.0.1:")));
    });
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
