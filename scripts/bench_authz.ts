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

const SCALE = Number(Deno.env.get("BENCH_SCALE") ?? "1");

/** Authorization may cost at most this share of the figures without a policy (the target). */
const MAX_OVERHEAD = 0.05;

/** Rounds of each measurement per cluster, interleaved, so drift from other load hits both alike. */
const _ROUNDS = 3;

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

/** Median ms of `n` process round trips: mkproc /bin/true on B through A, then wait. */
async function _roundTrip(k: _Cluster, n: number, tag: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const p = await k.client.walk(`${k.servers[1].serverAnchor}/bench/${tag}${i}`).makeProc({
      path: "/bin/true",
      scrub: true,
    });
    await p.wait();
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

/** Channel messages/s: channel on C, sender dials A, receiver dials B, 32 in flight each. */
async function _chanRate(k: _Cluster, n: number, name: string): Promise<number> {
  const body = new Uint8Array(1024).fill(97);
  const path = `${k.servers[2].serverAnchor}/bench/${name}`;
  await k.client.walk(path).makeChan(1024);
  const sendChan = await k.sendClient.walk(path).get() as Chan;
  const recvChan = await k.recvClient.walk(path).get() as Chan;
  let sent = 0;
  let received = 0;
  const t0 = performance.now();
  await Promise.all([
    ...Array.from({ length: 32 }, async () => {
      while (sent < n) {
        sent++;
        const w = (await sendChan.send()).getWriter();
        await w.write(body);
        await w.close();
      }
    }),
    ...Array.from({ length: 32 }, async () => {
      while (received < n) {
        received++;
        await new Response(await recvChan.recv()).arrayBuffer();
      }
    }),
  ]);
  return n / ((performance.now() - t0) / 1000);
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
      await _roundTrip(k, rtN, `w${i}-`);
      await _chanRate(k, Math.max(1000, Math.round(30000 * SCALE)), `warm${i}`);
    }
    const rt: number[][] = [[], []];
    const chan: number[][] = [[], []];
    for (let round = 0; round < _ROUNDS; round++) {
      for (const [i, k] of clusters.entries()) {
        rt[i].push(await _roundTrip(k, rtN, `r${round}-`));
        chan[i].push(await _chanRate(k, chanN, `c${round}`));
      }
    }
    const [rtPlain, rtPolicy] = rt.map(_median);
    const [chanPlain, chanPolicy] = chan.map(_median);
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
        "authorization cost on channel messages/s",
        `${((1 - chanPolicy / chanPlain) * 100).toFixed(1)} %`,
        target,
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
