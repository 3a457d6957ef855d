/**
 * The cost of `-metrics` (SPEC §13.4) on the hot paths: two identical three-server clusters, one
 * with metrics on every server and one without, measured in alternating rounds in the same run
 * (this machine is shared, so only same-run ratios mean anything): the remote process round trip
 * and channel messages/s. Also the observer's own cost per call, in-process.
 *
 * @module
 */
import { type Chan, dial } from "../mod.ts";
import { ServerMetrics } from "../server/metrics/server_metrics.ts";
import { TestServer } from "../tests/_harness.ts";
import { channelSeconds } from "./bench_channel.ts";

/**
 * Rounds per configuration. Each round measures both clusters back to back, in alternating order,
 * and the ratio reported is the median of the rounds' ratios: a burst of load from elsewhere then
 * skews one round, not the result.
 */
const _ROUNDS = 7;

function _median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface _Cluster {
  servers: TestServer[];
  client: Awaited<ReturnType<typeof dial>>;
}

async function _cluster(dir: string, extra: string[]): Promise<_Cluster> {
  const a = await TestServer.start(dir, extra);
  const b = await TestServer.start(dir, ["-j", a.url, ...extra]);
  const c = await TestServer.start(dir, ["-j", a.url, ...extra]);
  const client = await dial(a.url);
  while ((await client.view()).size < 3) await new Promise((r) => setTimeout(r, 100));
  return { servers: [a, b, c], client };
}

/** Median ms of `n` mkproc /bin/true on B through A, then wait. */
async function _roundTrip(k: _Cluster, n: number, tag: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const p = await k.client.walk(`${k.servers[1].serverAnchor}/bm/${tag}${i}`).makeProc({
      path: "/bin/true",
      scrub: true,
    });
    await p.wait();
    times.push(performance.now() - t0);
  }
  return _median(times);
}

/** Messages/s of `n` 1 KiB messages through a channel on C, sent via A, received via B, 32 in flight. */
async function _chanRate(k: _Cluster, n: number, tag: string): Promise<number> {
  const [a, b, c] = k.servers;
  const path = `${c.serverAnchor}/bm/${tag}`;
  await k.client.walk(path).makeChan(1024);
  await using s = await dial(a.url);
  await using r = await dial(b.url);
  const sendChan = await s.walk(path).get() as Chan;
  const recvChan = await r.walk(path).get() as Chan;
  return n / await channelSeconds(sendChan, recvChan, n);
}

/** ns per `callEnded` + `streamBytes` pair: what metrics add per served call, besides one clock read per batch. */
function _observerNs(): number {
  const m = new ServerMetrics({
    members: () => ({ alive: 1, suspect: 0 }),
    probes: () => ({}),
    health: () => 0,
    connections: () => ({ client: 0, peer: 0 }),
    elementKinds: () => [],
    security: () => ({ deniedTotal: new Map(), rejectedPeersTotal: 0 }),
  });
  const ops = ["peek", "mk", "wait", "send", "recv"];
  const n = 2_000_000;
  // A call's start is read once per batch of frames, not per call: the loop passes one too.
  const arrived = performance.now();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    m.callEnded(ops[i % 5], "ok", arrived);
    m.streamBytes("out", 1024);
  }
  return ((performance.now() - t0) * 1e6) / n;
}

/**
 * Rows: round trip and messages/s with metrics off and on, their ratio, and the observer's cost.
 *
 * @example
 * ```ts ignore
 * import { benchMetrics } from "./bench_metrics.ts";
 * for (const [what, value] of await benchMetrics(1)) console.log(what, value);
 * ```
 */
export async function benchMetrics(scale: number): Promise<[string, string, string][]> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-bench-metrics-" });
  const off = await _cluster(dir, []);
  const on = await _cluster(dir, ["-metrics", "127.0.0.1:0"]);
  try {
    const rtN = Math.max(20, Math.round(150 * scale));
    const msgN = Math.max(1000, Math.round(10_000 * scale));
    // Warm-up (JIT of all six servers), not reported.
    for (const k of [off, on]) {
      await _roundTrip(k, rtN, "w");
      await _chanRate(k, msgN * 2, "w");
    }
    const rt = { off: [] as number[], on: [] as number[] };
    const rate = { off: [] as number[], on: [] as number[] };
    for (let i = 0; i < _ROUNDS; i++) {
      const order = i % 2 === 0 ? [["off", off], ["on", on]] as const : [["on", on], ["off", off]] as const;
      for (const [name, k] of order) rt[name].push(await _roundTrip(k, rtN, `r${i}`));
      for (const [name, k] of order) rate[name].push(await _chanRate(k, msgN, `c${i}`));
    }
    const [rtOff, rtOn] = [_median(rt.off), _median(rt.on)];
    const [rateOff, rateOn] = [_median(rate.off), _median(rate.on)];
    const rtRatio = _median(rt.on.map((v, i) => v / rt.off[i]));
    const rateRatio = _median(rate.on.map((v, i) => v / rate.off[i]));
    return [
      ["remote process round trip, metrics off (median of rounds)", `${rtOff.toFixed(3)} ms`, "reference"],
      ["remote process round trip, -metrics on every server", `${rtOn.toFixed(3)} ms`, "reference"],
      [
        "round trip with/without metrics",
        `${rtRatio.toFixed(3)} (median of ${_ROUNDS} paired rounds)`,
        "≈ 1 (within noise)",
      ],
      ["channel messages/s (32 in flight), metrics off", `${Math.round(rateOff)}`, "reference"],
      ["channel messages/s (32 in flight), -metrics on every server", `${Math.round(rateOn)}`, "reference"],
      [
        "messages/s with/without metrics",
        `${rateRatio.toFixed(3)} (median of ${_ROUNDS} paired rounds)`,
        "≈ 1 (within noise)",
      ],
      [
        "metrics cost per served call (callEnded + streamBytes, in-process)",
        `${_observerNs().toFixed(0)} ns`,
        "< 1 µs",
      ],
    ];
  } finally {
    for (const k of [off, on]) {
      await k.client.close();
      await Promise.all(k.servers.map((s) => s.stop()));
    }
    await Deno.remove(dir, { recursive: true });
  }
}
