/**
 * The cost of authorization (SPEC §10.5): the remote process round trip and channel messages per
 * second on a cluster whose servers enforce a policy of 50 rules, beside the same figures on a
 * cluster without a policy, measured as scripts/bench.ts measures them and interleaved in the
 * same run. Run alone with `deno run --allow-all --unstable-net scripts/bench_authz.ts`;
 * BENCH_SCALE lowers the sizes.
 *
 * @module
 */
import { type Chan, type Client, dial } from "../mod.ts";
import { circuit, TestServer } from "../tests/_harness.ts";
import { Authorizer } from "../server/policy/enforce.ts";
import { Policy } from "../server/policy/policy.ts";
import { channelSeconds } from "./bench_channel.ts";

const SCALE = Number(Deno.env.get("BENCH_SCALE") ?? "1");

/** Authorization may cost at most this share of the figures without a policy (the target). */
const MAX_OVERHEAD = 0.05;

/**
 * Channel batches per cluster, alternating between the clusters, so that drift in the machine's
 * other load (other processes share the cores) hits both alike; round trips alternate one by one.
 */
const _CHAN_BATCHES = 20;

/**
 * 50 rules, the one that allows last: 49 that name the caller but other anchors (each is matched
 * and fails on its paths), then one with exec and dirs, so starting a process resolves its program.
 */
function _policy(): string {
  const rules: unknown[] = Array.from({ length: 49 }, (_, i) => ({
    who: ["anonymous", `user${i}`, "group:ops"],
    allow: ["read", "proc", "chan"],
    paths: [`/*/team${i}/...`, `/*/jobs/t${i}-*`],
    exec: ["/usr/bin/*"],
  }));
  rules.push({
    who: ["anonymous"],
    allow: ["read", "proc", "chan"],
    paths: ["/*/bench/..."],
    exec: ["/usr/bin/*"],
  });
  return JSON.stringify({ rules });
}

interface _Cluster {
  servers: TestServer[];
  client: Client;
  sendClient: Client;
  recvClient: Client;
}

async function _cluster(dir: string, extra: string[]): Promise<_Cluster> {
  const a = await TestServer.start(dir, extra);
  const b = await TestServer.start(dir, [...extra, "-j", a.url]);
  const c = await TestServer.start(dir, [...extra, "-j", a.url]);
  for (;;) {
    const ls = await circuit(["ls", "-d", a.url, "/"]);
    if (ls.stdout.trim().split("\n").length === 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    servers: [a, b, c],
    client: await dial(a.url),
    sendClient: await dial(a.url),
    recvClient: await dial(b.url),
  };
}

/** Ms of one process round trip: mkproc /bin/true on B through A, then wait. */
async function _roundTrip(k: _Cluster, name: string): Promise<number> {
  const t0 = performance.now();
  const p = await k.client.walk(`${k.servers[1].serverAnchor}/bench/${name}`).makeProc({
    path: "/bin/true",
    scrub: true,
  });
  await p.wait();
  return performance.now() - t0;
}

/** Seconds for `n` channel messages: channel on C, sender dials A, receiver dials B, 32 in flight each. */
async function _chanSeconds(k: _Cluster, n: number, name: string): Promise<number> {
  const path = `${k.servers[2].serverAnchor}/bench/${name}`;
  await k.client.walk(path).makeChan(1024);
  const sendChan = await k.sendClient.walk(path).get() as Chan;
  const recvChan = await k.recvClient.walk(path).get() as Chan;
  return await channelSeconds(sendChan, recvChan, n);
}

/** In-process cost of `Authorizer.check` with the benchmark's policy, per call. */
function _checkMicros(): { memo: number; cold: number; proc: number } {
  const authz = new Authorizer(Policy.parse(_policy()), { log: () => {}, record: () => {} });
  const who = { name: "anonymous", groups: [] };
  const n = 100_000;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) authz.check("send", { Path: "/X1/bench/c" }, "chan", who);
  const memo = (performance.now() - t0) * 1000 / n;
  t0 = performance.now();
  for (let i = 0; i < n; i++) authz.check("send", { Path: `/X1/bench/c${i}` }, "chan", who);
  const cold = (performance.now() - t0) * 1000 / n;
  const m = 2_000;
  t0 = performance.now();
  for (let i = 0; i < m; i++) {
    authz.check("mk", { Path: "/X1/bench/p", Kind: "proc", Arg: { Path: "/bin/true" } }, null, who);
  }
  return { memo, cold, proc: (performance.now() - t0) * 1000 / m };
}

function _median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

/**
 * Measures both clusters, interleaved; returns table rows `[measurement, result, target]`.
 *
 * @example
 * ```ts ignore
 * import { benchAuthz } from "./bench_authz.ts";
 * for (const [what, value, target] of await benchAuthz()) console.log(what, value, target);
 * ```
 */
export async function benchAuthz(): Promise<[string, string, string][]> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-bench-authz-" });
  await Deno.writeTextFile(`${dir}/policy.json`, _policy());
  const clusters: _Cluster[] = [];
  try {
    clusters.push(await _cluster(dir, []));
    clusters.push(await _cluster(dir, ["-policy", `${dir}/policy.json`]));
    const rtN = Math.max(20, Math.round(300 * SCALE));
    const chanN = Math.max(1000, Math.round(20000 * SCALE));
    // Warm-up (unreported): the JIT of every process, as scripts/bench.ts does.
    for (const [i, k] of clusters.entries()) {
      for (let n = 0; n < rtN; n++) await _roundTrip(k, `w${i}-${n}`);
      await _chanSeconds(k, Math.max(1000, Math.round(30000 * SCALE)), `warm${i}`);
    }
    const rt: number[][] = [[], []];
    for (let n = 0; n < rtN; n++) {
      for (const [i, k] of clusters.entries()) rt[i].push(await _roundTrip(k, `r${n}`));
    }
    const secs = [0, 0];
    const ratios: number[] = [];
    const batch = Math.ceil(chanN / _CHAN_BATCHES);
    for (let b = 0; b < _CHAN_BATCHES; b++) {
      const pair = [];
      for (const k of clusters) pair.push(await _chanSeconds(k, batch, `c${b}`));
      secs[0] += pair[0];
      secs[1] += pair[1];
      ratios.push(pair[0] / pair[1]);
    }
    const [rtPlain, rtPolicy] = rt.map(_median);
    const [chanPlain, chanPolicy] = secs.map((t) => batch * _CHAN_BATCHES / t);
    const check = _checkMicros();
    const target = `≤ ${MAX_OVERHEAD * 100} %`;
    return [
      ["process round trip, no policy (median)", `${rtPlain.toFixed(3)} ms`, "reference"],
      ["process round trip, policy of 50 rules (median)", `${rtPolicy.toFixed(3)} ms`, "reference"],
      [
        "authorization cost on the process round trip",
        `${((rtPolicy / rtPlain - 1) * 100).toFixed(1)} %`,
        target,
      ],
      ["channel messages/s, no policy", `${Math.round(chanPlain)}`, "reference"],
      ["channel messages/s, policy of 50 rules", `${Math.round(chanPolicy)}`, "reference"],
      [
        "authorization cost on channel messages/s (median of the batch pairs)",
        `${((1 - _median(ratios)) * 100).toFixed(1)} %`,
        target,
      ],
      [
        "the two decisions of each message (send, recv) as a share of its time",
        `${(2 * check.memo * 1e-6 * chanPolicy * 100).toFixed(2)} %`,
        "reference",
      ],
      [
        "one decision, 50 rules, the allowing one last (memoised, as for each message)",
        `${check.memo.toFixed(2)} µs`,
        "reference",
      ],
      ["one decision, 50 rules, first time (nothing memoised)", `${check.cold.toFixed(2)} µs`, "reference"],
      [
        "one process start's decision, with realpath of program and dir",
        `${check.proc.toFixed(1)} µs`,
        "reference",
      ],
    ];
  } finally {
    for (const k of clusters) {
      for (const c of [k.client, k.sendClient, k.recvClient]) await c[Symbol.asyncDispose]();
      await Promise.all(k.servers.map((s) => s.stop()));
    }
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  console.log("| measurement | result | target |");
  console.log("|---|---|---|");
  for (const [w, v, t] of await benchAuthz()) console.log(`| ${w} | ${v} | ${t} |`);
}
