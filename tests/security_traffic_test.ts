/**
 * Encrypted traffic (SPEC §10.1): a recording TCP proxy of our own on loopback shows that a
 * process's output crosses a keyed cluster, client to server and server to server, never in clear.
 *
 * @module
 */
import assert from "node:assert/strict";
import { circuit, eventually, TestServer } from "./_harness.ts";
import { keygen, ok, portOf, withDir } from "./_security.ts";

/**
 * A TCP proxy on loopback that forwards to `target` and records every byte it forwards, in
 * both directions, over all its connections.
 */
class RecordingProxy {
  readonly port: number;
  #listener: Deno.TcpListener;
  #conns = new Set<Deno.TcpConn>();
  #pumps: Promise<void>[] = [];
  #chunks: Uint8Array[] = [];
  #serving: Promise<void>;

  constructor(targetPort: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#serving = this.#serve(targetPort);
  }

  /** `url` with its port replaced by the proxy's: the identity check still names the real server. */
  urlFor(url: string): string {
    return url.replace(/:\d+\//, `:${this.port}/`);
  }

  /** Every byte forwarded so far, both directions. */
  get captured(): Uint8Array {
    const all = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of this.#chunks) {
      all.set(c, off);
      off += c.length;
    }
    return all;
  }

  async #serve(targetPort: number): Promise<void> {
    try {
      for await (const inbound of this.#listener) {
        const outbound = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        this.#conns.add(inbound);
        this.#conns.add(outbound);
        this.#pumps.push(this.#pump(inbound, outbound), this.#pump(outbound, inbound));
      }
    } catch {
      // listener closed
    }
  }

  async #pump(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        this.#chunks.push(buf.slice(0, n));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // one side went away
    }
    for (const c of [from, to]) {
      if (this.#conns.delete(c)) c.close();
    }
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#serving;
    for (const c of this.#conns) c.close();
    this.#conns.clear();
    await Promise.all(this.#pumps);
  }
}

/** Whether `needle` occurs in `hay` (as bytes). */
function contains(hay: Uint8Array, needle: string): boolean {
  return new TextDecoder("latin1").decode(hay).includes(needle);
}

Deno.test("captured traffic of a keyed cluster never shows a process's output in clear", async (t) => {
  await withDir(async (dir) => {
    const { k1 } = await keygen(dir);
    const marker = `MARKER-${crypto.randomUUID()}`;
    const dash = marker.indexOf("-");
    // The marker is assembled by the shell, so it is not in the command that travels to the server.
    const script = `x='${marker.slice(0, dash - 2)}'; y='${marker.slice(dash - 2)}'; i=0; ` +
      `while [ $i -lt 1000 ]; do echo "$x$y"; i=$((i+1)); done`;
    const cmd = JSON.stringify({ Path: "/bin/sh", Args: ["-c", script] });
    const outputBytes = 1000 * (marker.length + 1);
    assert.ok(!cmd.includes(marker));

    /**
     * Runs the process on A and reads its stdout through the proxied connection: the client's own
     * (`clientVia`) or B's peer connection to A (`peerVia`). Returns the proxy's capture.
     */
    const scenario = async (keyed: boolean, via: "client" | "peer"): Promise<Uint8Array> => {
      const hmac = keyed ? ["-hmac", k1] : [];
      const a = await TestServer.start(dir, hmac);
      const proxy = new RecordingProxy(portOf(a.url));
      const started = [a];
      try {
        let dialed = proxy.urlFor(a.url);
        if (via === "peer") {
          const b = await TestServer.start(dir, [...hmac, "-j", proxy.urlFor(a.url)]);
          started.push(b);
          await eventually("B in A's view", 5000, async () => {
            const r = await circuit(["ls", ...hmac, "-d", a.url, "/"]);
            return r.stdout.includes(b.serverAnchor);
          });
          dialed = b.url;
        }
        const path = `${a.serverAnchor}/p`;
        ok(await circuit(["mkproc", ...hmac, "-d", dialed, path], { stdin: cmd }), "mkproc");
        const out = await circuit(["stdout", ...hmac, "-d", dialed, path], { timeoutMs: 10_000 });
        ok(out, "stdout");
        assert.equal(out.stdout, `${marker}\n`.repeat(1000));
        const captured = proxy.captured;
        // The output really crossed the proxy (so its absence below means something).
        assert.ok(captured.length >= outputBytes, `captured ${captured.length} bytes`);
        return captured;
      } finally {
        await Promise.all(started.map((s) => s.stop()));
        await proxy.close();
      }
    };

    await t.step("client to server: in clear without a key, absent with one", async () => {
      assert.ok(contains(await scenario(false, "client"), marker), "unkeyed traffic shows the marker");
      assert.ok(!contains(await scenario(true, "client"), marker), "keyed traffic hides the marker");
    });

    await t.step("server to server: in clear without a key, absent with one", async () => {
      assert.ok(contains(await scenario(false, "peer"), marker), "unkeyed traffic shows the marker");
      assert.ok(!contains(await scenario(true, "peer"), marker), "keyed traffic hides the marker");
    });
  });
});
