/**
 * Keys, the keyed handshake and encrypted traffic (SPEC §10, acceptance A24 and A28), driven
 * through the real CLI against real keyed servers, with a recording TCP proxy of our own on
 * loopback to look at what crosses the wire.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertErr, circuit, eventually, type RunResult, TestServer } from "./_harness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  assert.equal(r.stderr, "", what);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-security-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes two fresh keys from `circuit keygen` to `<dir>/k1` and `<dir>/k2`. */
async function keygen(dir: string): Promise<{ k1: string; k2: string }> {
  const [r1, r2] = await Promise.all([circuit(["keygen"]), circuit(["keygen"])]);
  ok(r1, "keygen");
  ok(r2, "keygen");
  await Deno.writeTextFile(`${dir}/k1`, r1.stdout);
  await Deno.writeTextFile(`${dir}/k2`, r2.stdout);
  return { k1: `${dir}/k1`, k2: `${dir}/k2` };
}

/** Runs a CLI command and returns its result with its wall time in ms. */
async function timed(args: string[], env?: Record<string, string>): Promise<[RunResult, number]> {
  const t0 = performance.now();
  const r = await circuit(args, { env, timeoutMs: 10_000 });
  return [r, performance.now() - t0];
}

/** The server anchors `ls /` prints through `url`. */
async function servers(url: string, key: string): Promise<string[]> {
  const r = await circuit(["ls", "-hmac", key, "-d", url, "/"], { timeoutMs: 10_000 });
  ok(r, "ls /");
  return r.stdout.trim().split("\n").sort();
}

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

/** The port of a circuit URL. */
function portOf(url: string): number {
  return Number(/:(\d+)\//.exec(url)![1]);
}

Deno.test("A24: keys from keygen authenticate clients; a missing, wrong or unexpected key fails at once", async (t) => {
  await withDir(async (dir) => {
    const { k1, k2 } = await keygen(dir);
    const h = await TestServer.start(dir, ["-hmac", k1]);
    const a = await TestServer.start(dir);
    try {
      await t.step("the keyed server logs that it uses TLS 1.3 with the cluster CA", async () => {
        await eventually(
          "the key log line",
          2000,
          () => h.log().includes("Using mutual TLS 1.3 with the cluster CA of the key."),
        );
        assert.ok(!a.log().includes("Using mutual TLS"), "an unkeyed server does not claim it");
      });

      await t.step("no key against the keyed server: `server requires a key` within 1 s", async () => {
        const [r, ms] = await timed(["ls", "-d", h.url, "/"]);
        assertErr(r, "authentication failed: server requires a key");
        assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
      });

      await t.step("another key against the keyed server: `key mismatch` within 1 s", async () => {
        const [r, ms] = await timed(["ls", "-hmac", k2, "-d", h.url, "/"]);
        assertErr(r, "authentication failed: key mismatch");
        assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
      });

      await t.step("a key against an unkeyed server: `server does not use a key` within 1 s", async () => {
        const [r, ms] = await timed(["ls", "-d", a.url, "-hmac", k1, "/"]);
        assertErr(r, "authentication failed: server does not use a key");
        assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
      });

      await t.step("the right key, by flag or by CIRCUIT_HMAC, lists the server", async () => {
        const byFlag = await circuit(["ls", "-hmac", k1, "-d", h.url, "/"]);
        assert.deepEqual(byFlag, { code: 0, stdout: `${h.serverAnchor}\n`, stderr: "" });
        const byEnv = await circuit(["ls", "-d", h.url, "/"], { env: { CIRCUIT_HMAC: k1 } });
        assert.deepEqual(byEnv, { code: 0, stdout: `${h.serverAnchor}\n`, stderr: "" });
        assertErr(
          await circuit(["ls", "-hmac", "", "-d", h.url, "/"], { env: { CIRCUIT_HMAC: k1 } }),
          "authentication failed: server requires a key",
        );
      });

      await t.step("the servers log and record every rejected peer with its reason", async () => {
        await eventually(
          "three rejections logged",
          2000,
          () =>
            (h.log().match(/rejected peer 127\.0\.0\.1:\d+: authentication failed: /g) ?? []).length >= 3 &&
            /rejected peer 127\.0\.0\.1:\d+: authentication failed: server does not use a key/.test(a.log()),
        );
        const rejects = (await h.opsLog()).filter((l) => l.Op === "reject");
        assert.deepEqual(
          rejects.map((l) => l.Reason).sort(),
          [
            "authentication failed: key mismatch",
            "authentication failed: server requires a key",
            "authentication failed: server requires a key",
          ],
        );
        for (const l of rejects) assert.match(l.Peer as string, /^127\.0\.0\.1:\d+$/);
      });

      await t.step("unreadable and empty key files fail before dialing", async () => {
        assertErr(
          await circuit(["ls", "-hmac", `${dir}/none`, "-d", h.url, "/"]),
          `problem reading private key file (${dir}/none)`,
        );
        await Deno.writeTextFile(`${dir}/empty`, "\n");
        assertErr(await circuit(["ls", "-hmac", `${dir}/empty`, "-d", h.url, "/"]), "is empty");
      });
    } finally {
      await Promise.all([h.stop(), a.stop()]);
    }
  });
});

Deno.test("A28: keyed servers join, serve 100 consecutive and 20 concurrent keyed commands, and keep a wrongly keyed server out", async (t) => {
  await withDir(async (dir) => {
    const { k1, k2 } = await keygen(dir);
    const h = await TestServer.start(dir, ["-hmac", k1]);
    const started: TestServer[] = [h];
    try {
      const g = await TestServer.start(dir, ["-hmac", k1, "-j", h.url]);
      started.push(g);
      const both = [h.serverAnchor, g.serverAnchor].sort();

      await t.step("a keyed server joined with -j enters the keyed server's view", async () => {
        await eventually(
          "both servers in H's view",
          5000,
          async () => (await servers(h.url, k1)).join() === both.join(),
        );
      });

      await t.step(
        "100 consecutive keyed ls runs each succeed within 5 s and list both servers",
        async () => {
          for (let i = 0; i < 100; i++) {
            const [r, ms] = await timed(["ls", "-hmac", k1, "-d", h.url, "/"]);
            assert.equal(r.code, 0, `run ${i}: ${r.stderr}`);
            assert.deepEqual(r.stdout.trim().split("\n").sort(), both, `run ${i}`);
            assert.ok(ms < 5000, `run ${i} took ${ms.toFixed(0)} ms`);
          }
        },
      );

      await t.step("20 concurrent keyed ls runs all succeed", async () => {
        const runs = await Promise.all(
          Array.from(
            { length: 20 },
            () => circuit(["ls", "-hmac", k1, "-d", h.url, "/"], { timeoutMs: 30_000 }),
          ),
        );
        for (const [i, r] of runs.entries()) {
          assert.equal(r.code, 0, `run ${i}: ${r.stderr}`);
          assert.deepEqual(r.stdout.trim().split("\n").sort(), both, `run ${i}`);
        }
      });

      await t.step(
        "a server joining with another key logs the failure and never enters the view",
        async () => {
          const w = await TestServer.start(dir, ["-hmac", k2, "-j", h.url]);
          started.push(w);
          await eventually(
            "the joiner's authentication failure",
            5000,
            () => w.log().includes(`join ${h.url} failed: authentication failed: key mismatch`),
          );
          await eventually(
            "H's rejection of the joiner",
            2000,
            () => /rejected peer 127\.0\.0\.1:\d+: authentication failed: key mismatch/.test(h.log()),
          );
          // Membership would have spread within a couple of seconds; it never does.
          for (let i = 0; i < 3; i++) {
            assert.deepEqual(await servers(h.url, k1), both);
            assert.deepEqual(await servers(g.url, k1), both);
            await sleep(1000);
          }
          assert.ok(!h.log().includes(w.serverAnchor), "H never logs the wrongly keyed server as a member");
        },
      );
    } finally {
      await Promise.all(started.map((s) => s.stop()));
    }
  });
});

Deno.test("a peer that stalls in the handshake is dropped after 5 s and logged", async (t) => {
  await withDir(async (dir) => {
    const { k1 } = await keygen(dir);
    const h = await TestServer.start(dir, ["-hmac", k1]);
    try {
      const stall = async (send: Uint8Array) => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(h.url) });
        const local = (conn.localAddr as Deno.NetAddr).port;
        try {
          await conn.write(send);
          const t0 = performance.now();
          const n = await conn.read(new Uint8Array(16)).catch(() => null);
          const ms = performance.now() - t0;
          assert.equal(n, null, "the server closes without answering");
          assert.ok(ms >= 4500 && ms < 8000, `dropped after ${ms.toFixed(0)} ms`);
        } finally {
          conn.close();
        }
        await eventually(
          "the timeout logged",
          2000,
          () => h.log().includes(`rejected peer 127.0.0.1:${local}: handshake timed out after 5s`),
        );
      };

      await t.step("a silent connection", () => stall(new Uint8Array(0)));
      await t.step(
        "a connection that sends half a TLS record header",
        () => stall(new Uint8Array([0x16, 0x03])),
      );
      await t.step(
        "a connection that promises a ClientHello and sends only part of it",
        () => stall(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00])),
      );
      await t.step("the server still serves keyed clients afterwards", async () => {
        assert.deepEqual(await servers(h.url, k1), [h.serverAnchor]);
      });
    } finally {
      await h.stop();
    }
  });
});

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
