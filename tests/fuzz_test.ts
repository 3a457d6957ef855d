/**
 * Fuzzing a running server over real sockets (SPEC §10, §11): random and mutated frames, random
 * and mutated handshakes (unkeyed and keyed), and random and mutated `mk` arguments (process and
 * container JSON), while a well-behaved client keeps calling and the server's RSS is watched
 * from /proc.
 *
 * `CIRCUIT_FUZZ_N` sets the number of fuzzed frames (default 100000, which keeps this file
 * around a minute on two cores); `CIRCUIT_FUZZ_SEED` replays a run (the seed is printed).
 *
 * @module
 */
import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { decodeFrame, T } from "../wire/frame.ts";
import { connect } from "../wire/dial.ts";
import { dialHandshake, PROTOCOL_VERSION } from "../wire/handshake.ts";
import { FrameTransport } from "../wire/transport.ts";
import { parseKeyText } from "../wire/crypto/keys.ts";
import { clusterCa } from "../wire/tls/cluster.ts";
import { circuit, TestServer } from "./_harness.ts";
import {
  bytes,
  drainUntilClosed,
  framed,
  FRAMES,
  int,
  mutate,
  pick,
  rand,
  randomCmd,
  randomString,
  randomValue,
  RSS_PEAK_MIB,
  RSS_SETTLED_MIB,
  rssMiB,
  SEED,
} from "./_fuzz.ts";
import { portOf } from "./_util.ts";

/**
 * Handshakes to fuzz per server (500 at the CI default): each one is a connection, a log line and
 * an ops-log line, and a keyed one a TLS handshake of ~9 ms here, so they cost more than frames;
 * 500 draw each of the four kinds of hello body with every role many times over.
 */
const HANDSHAKES = Math.max(200, Math.round(FRAMES / 200));

/** Frames per fuzzing connection, at most: long enough for calls to interact, short enough for many connections. */
const _FRAMES_PER_CONN = 1000;

/** Connections fuzzing at once: enough to keep both cores busy, few enough to leave room for the good client. */
const WORKERS = 6;

/** The good client's calls must each be answered within this (SPEC §4.6's call timeout). */
const GOOD_CALL_LIMIT_MS = 10_000;

/** Operations the fuzz calls. `suicide` and `join` are left out: they are allowed to end or move the server. */
const OPS = [
  "view",
  "ls",
  "peek",
  "get",
  "mk",
  "mk",
  "mk",
  "scrub",
  "close",
  "send",
  "recv",
  "stdin",
  "read",
  "discard",
  "wait",
  "signal",
  "set",
  "unset",
  "stk",
  "release",
  "pushpull",
];

/** A frame body the server should mostly accept, built from `anchor` and the next call ID. */
function plausibleFrame(anchor: string, nextId: () => number): Uint8Array {
  const path = () =>
    pick([
      "/",
      anchor,
      `${anchor}/f${int(16)}`,
      `${anchor}/f${int(16)}/g${int(4)}`,
      "/X0000000000000001/x",
      randomString(),
    ]);
  const id = () => (rand() < 0.9 ? 2 * (1 + int(5000)) : int(2 ** 32));
  switch (int(10)) {
    case 0:
    case 1:
    case 2:
      return encode([T.Credit, 2 * (1 + int(50)), int(1000)]);
    case 9: {
      const op = rand() < 0.95 ? pick(OPS) : randomString();
      const args: Record<string, unknown> = rand() < 0.1 ? { X: randomValue() } : { Path: path() };
      if (op === "mk") {
        args.Kind = pick([
          "chan",
          "proc",
          "proc",
          "docker",
          "docker",
          "dns",
          "@join",
          "@leave",
          randomString(),
        ]);
        args.Arg = args.Kind === "chan"
          ? pick([0, 1, 3, -1, 1.5, "2", null])
          : args.Kind === "dns"
          ? pick(["", "127.0.0.1:0", "nonsense", 7])
          : randomCmd();
        if (args.Kind === "proc" && args.Arg && typeof args.Arg === "object") {
          (args.Arg as Record<string, unknown>).Scrub = true;
        }
      } else if (op === "signal") args.Signal = pick(["TERM", "KILL", "bogus", 9]);
      else if (op === "read" || op === "discard") args.Stream = pick(["stdout", "stderr", "stdin", 1]);
      else if (op === "set") args.Record = pick(["a.b. IN A 127.0.0.1", "garbage", ""]);
      else if (op === "ls") args.Recursive = rand() < 0.5;
      if (rand() < 0.2) args.Eid = int(50);
      return encode([T.Call, nextId(), op, rand() < 0.02 ? randomValue() : args]);
    }
    case 3:
      return encode([T.Data, id(), bytes(int(2000))]);
    case 4:
      return encode([T.Credit, id(), pick([0, 1, 65536, 2 ** 40, int(1e6)])]);
    case 5:
      return encode([pick([T.End, T.Cancel]), id()]);
    case 6:
      return encode([pick([T.Result, T.Error]), id(), ...(rand() < 0.5 ? [randomValue()] : [1, "x"])]);
    case 7:
      return encode([pick([T.Ping, T.Pong])]);
    default:
      return encode(randomValue(3));
  }
}

/** Whether the server will drop the connection at this body (its own decoder says so). */
function fatal(body: Uint8Array, seenCalls: Set<number>): boolean {
  let f;
  try {
    f = decodeFrame(body);
  } catch {
    return true;
  }
  if (f[0] !== T.Call) return false;
  // Odd IDs are the server's own, and an ID may not start two calls.
  if (f[1] % 2 === 1 || seenCalls.has(f[1])) return true;
  seenCalls.add(f[1]);
  return false;
}

/**
 * One fuzzing connection: an honest unkeyed handshake, then up to {@linkcode _FRAMES_PER_CONN}
 * random and mutated frames the server's decoder takes (the ones that exercise its handlers),
 * usually ended by one it refuses (which must close the connection). Returns frames sent.
 */
async function fuzzConnection(server: TestServer): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(server.url) });
  const [, pid, worker] = server.url.split("/").slice(-3);
  const t = new FrameTransport(conn);
  await dialHandshake(t, `${worker}/${pid}`, { role: "client", from: "", id: "" });
  let callId = 0;
  const nextId = () => (callId += 2);
  const seen = new Set<number>();
  const reading = drainUntilClosed(conn, 60_000);
  const bodies: Uint8Array[] = [];
  let killer: Uint8Array | null = null;
  for (let n = int(_FRAMES_PER_CONN); n > 0 && !killer; n--) {
    const r = rand();
    const body = r < 0.85
      ? plausibleFrame(server.serverAnchor, nextId)
      : r < 0.995
      ? mutate(plausibleFrame(server.serverAnchor, nextId))
      : bytes(int(100));
    // A refused frame ends the connection, so it only comes last (and most connections get one).
    if (!fatal(body, seen)) bodies.push(body);
    else if (rand() < 0.002) killer = body;
  }
  if (!killer && rand() < 0.7) killer = mutate(encode([T.Call, 1, "view", {}]));
  let wire = framed(killer ? [...bodies, killer] : bodies);
  // Sometimes the framing itself is broken: an oversized length prefix.
  if (rand() < 0.1) {
    const bad = new Uint8Array(4);
    new DataView(bad.buffer).setUint32(0, pick([(1 << 20) + 1, 0xffffffff, 2 ** 31]));
    wire = Uint8Array.from([...wire, ...bad, ...bytes(int(64))]);
  }
  try {
    for (let off = 0; off < wire.length;) off += await conn.write(wire.subarray(off));
  } catch {
    // the server closed it early: a frame it refused (e.g. credit for a stream it no longer has)
  }
  // A refused frame makes the server close; otherwise close after a moment with calls pending.
  if (!await Promise.race([reading, new Promise<boolean>((r) => setTimeout(() => r(false), 200))])) {
    try {
      conn.close();
    } catch {
      // closed by the server meanwhile
    }
  }
  await reading;
  return bodies.length + (killer ? 1 : 0);
}

/** One fuzzed handshake: a mutated or random hello (and, on a keyed server, proof). */
async function fuzzHandshake(server: TestServer, key?: Uint8Array): Promise<void> {
  const at = { hostname: "127.0.0.1", port: portOf(server.url) };
  // A keyed server's hello travels inside TLS; now and then it gets random bytes where TLS belongs.
  const plainToKeyed = key !== undefined && rand() < 0.1;
  const conn: Deno.Conn = key && !plainToKeyed
    ? await Deno.connectTls({ ...at, caCerts: [(await clusterCa(key)).certPem] })
    : await Deno.connect(at);
  const [, pid, worker] = server.url.split("/").slice(-3);
  const hello: Record<string, unknown> = {
    V: PROTOCOL_VERSION,
    Role: pick(["client", "client", "server", "admin"]),
    Keyed: key !== undefined || rand() < 0.2,
    Target: rand() < 0.8 ? `${worker}/${pid}` : randomString(),
    From: rand() < 0.5 ? "" : pick([server.url, randomString()]),
    Id: pick(["", "X0123456789abcdef", randomString()]),
    Nonce: rand() < 0.8 ? bytes(32) : bytes(int(64)),
  };
  let body: Uint8Array;
  switch (int(4)) {
    case 0:
      hello[pick(Object.keys(hello))] = randomValue(1);
      body = encode(hello);
      break;
    case 1:
      body = mutate(encode(hello));
      break;
    case 2:
      body = bytes(int(200));
      break;
    default:
      body = encode(hello);
  }
  try {
    await conn.write(
      plainToKeyed
        ? pick([bytes(int(300)), Uint8Array.from([0x16, 0x03, 0x01, ...bytes(int(300))])])
        : framed([body]),
    );
    if (key && hello.Keyed === true && int(2) === 0) {
      // Past the hello: a forged or mangled proof.
      await conn.write(framed([pick([encode({ Proof: bytes(32) }), encode({ Proof: "x" }), bytes(40)])]));
    }
  } catch {
    // closed already
  }
  await drainUntilClosed(conn, 300);
}

Deno.test(`fuzzing a running server with ${FRAMES} frames never crashes it, leaks, or starves a good client`, async (t) => {
  console.log(`fuzz seed ${SEED} (CIRCUIT_FUZZ_SEED replays it)`);
  const dir = await Deno.makeTempDir({ prefix: "circuit-fuzz-" });
  const keyText = (await circuit(["keygen"])).stdout;
  await Deno.writeTextFile(`${dir}/k`, keyText);
  const key = parseKeyText(keyText, `${dir}/k`);
  const a = await TestServer.start(dir);
  const h = await TestServer.start(dir, ["-hmac", `${dir}/k`]);
  const good = await connect(a.url);
  let fuzzing = true;
  let peakRss = 0;
  const goodLatencies: number[] = [];
  const goodErrors: string[] = [];
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMiB(a.pid), rssMiB(h.pid));
  }, 100);
  // The well-behaved client: a call every 20 ms, each of which must be answered correctly.
  const goodClient = (async () => {
    const path = `${a.serverAnchor}/good/c`;
    await good.call("mk", { Path: path, Kind: "chan", Arg: 1 }, { timeoutMs: GOOD_CALL_LIMIT_MS });
    while (fuzzing) {
      const t0 = performance.now();
      try {
        const peek = await good.call("peek", { Path: path }, { timeoutMs: GOOD_CALL_LIMIT_MS });
        const view = await good.call("view", {}, { timeoutMs: GOOD_CALL_LIMIT_MS });
        assert.equal((peek as { Cap: number }).Cap, 1);
        assert.equal(view.length, 1);
      } catch (err) {
        goodErrors.push(String(err));
      }
      goodLatencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await t.step(`${HANDSHAKES} random and mutated handshakes on an unkeyed and a keyed server`, async () => {
      let left = HANDSHAKES;
      await Promise.all(Array.from({ length: WORKERS }, async () => {
        while (left-- > 0) {
          await fuzzHandshake(a);
          await fuzzHandshake(h, key);
        }
      }));
    });

    await t.step(`${FRAMES} random and mutated frames, calls and mk process/docker arguments`, async () => {
      let sent = 0;
      let conns = 0;
      await Promise.all(Array.from({ length: WORKERS }, async () => {
        while (sent < FRAMES) {
          sent += await fuzzConnection(a);
          conns++;
        }
      }));
      // What the fuzz did to the servers is judged by the steps that follow (alive, answering, RSS).
      console.log(`sent ${sent} fuzz frames over ${conns} connections; peak RSS ${peakRss.toFixed(0)} MiB`);
    });

    await t.step("both servers are alive and answer correctly afterwards", async () => {
      const status = await Promise.race([
        a.child.status,
        h.child.status,
        new Promise((r) => setTimeout(r, 200)),
      ]);
      assert.equal(status, undefined, "no server exited");
      const ls = await circuit(["ls", "-d", a.url, "/"]);
      assert.deepEqual(ls, { code: 0, stdout: `${a.serverAnchor}\n`, stderr: "" });
      const lsKeyed = await circuit(["ls", "-hmac", `${dir}/k`, "-d", h.url, "/"]);
      assert.deepEqual(lsKeyed, { code: 0, stdout: `${h.serverAnchor}\n`, stderr: "" });
    });

    await t.step(
      `the servers' RSS peaked under ${RSS_PEAK_MIB} MiB and settles under ${RSS_SETTLED_MIB} MiB`,
      async () => {
        assert.ok(peakRss > 0 && peakRss < RSS_PEAK_MIB, `peak RSS ${peakRss.toFixed(0)} MiB`);
        // The smallest of a few samples: a collection may run at any moment in between.
        let settled = Infinity;
        for (let i = 0; i < 20; i++) {
          settled = Math.min(settled, Math.max(rssMiB(a.pid), rssMiB(h.pid)));
          await new Promise((r) => setTimeout(r, 100));
        }
        console.log(`RSS peak ${peakRss.toFixed(0)} MiB, settled ${settled.toFixed(0)} MiB`);
        assert.ok(settled < RSS_SETTLED_MIB, `settled RSS ${settled.toFixed(0)} MiB`);
      },
    );

    await t.step("the well-behaved client got every answer, each within 10 s", async () => {
      fuzzing = false;
      await goodClient;
      assert.deepEqual(goodErrors, []);
      assert.ok(goodLatencies.length > 50, `${goodLatencies.length} calls`);
      const worst = Math.max(...goodLatencies);
      console.log(`good client: ${goodLatencies.length} call pairs, worst ${worst.toFixed(0)} ms`);
      assert.ok(worst < GOOD_CALL_LIMIT_MS);
    });
  } finally {
    fuzzing = false;
    clearInterval(sampler);
    await goodClient.catch(() => {});
    good.close();
    // SIGTERM: a graceful shutdown ends every process group the fuzz started.
    await Promise.all([a.stop("SIGTERM"), h.stop("SIGTERM")]);
    await Deno.remove(dir, { recursive: true });
  }
});
