/**
 * Operator ergonomics benchmark (SPEC §15, issue 13): `circuit run -- /bin/true` on a remote
 * server against the `mkproc` + `stdin` + `wait` it replaces, in the same run; and the idle
 * membership traffic per server of a cluster whose members carry 5 tags each, beside one
 * without tags. The traffic is counted on the `lo` of a private network namespace (needs
 * root), so it is exactly the cluster's. `scripts/bench.ts` calls {@link benchErgo}; alone:
 * `deno run --allow-all --unstable-net scripts/bench_ergo.ts`.
 *
 * @module
 */
import { circuit, TestServer } from "../tests/_harness.ts";
import { deleteStaleNamespaces, LoopbackNamespace, NsServer, Observer } from "../tests/_netns.ts";

const _PREFIX = "cirt-ergo";

/** CLI runs per variant: each is a whole Deno start, so a dozen give a stable median. */
const _RUNS = 12;

/** Servers in the traffic comparison: the size of SPEC §14's smallest cluster figure. */
const _CLUSTER = 5;

/** Idle traffic is averaged over two push-pull periods (SPEC §9.2: 10 s), so both phases count. */
const _IDLE_WINDOW_MS = 20_000;

/** Five tags of a typical size: role, zone, rack, environment, team. */
const _TAGS = ["role=webserver", "dc=eu-west-1a", "rack=r17", "env=production", "team=payments"];

/** One row of the benchmark table: what, measured value, target. */
export type BenchRow = [string, string, string];

/**
 * Runs both measurements and returns their rows.
 *
 * @example
 * ```ts ignore
 * import { benchErgo } from "./bench_ergo.ts";
 * for (const [what, value, target] of await benchErgo()) console.log(what, value, target);
 * ```
 */
export async function benchErgo(): Promise<BenchRow[]> {
  return [...await _runVersusMkproc(), ...await _tagTraffic()];
}

async function _runVersusMkproc(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-bench-ergo-" });
  const a = await TestServer.start(dir);
  const b = await TestServer.start(dir, ["-j", a.url]);
  try {
    while ((await circuit(["ls", "-d", a.url, "/"])).stdout.trim().split("\n").length < 2) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const on = `id=${b.serverAnchor.slice(1)}`;
    const run: number[] = [];
    const dance: number[] = [];
    // Interleaved, so both variants see the same load from whatever else runs on the machine.
    for (let i = 0; i < _RUNS; i++) {
      let t0 = performance.now();
      const r = await circuit(["run", "-d", a.url, "-on", on, "--", "/bin/true"]);
      if (r.code !== 0) throw new Error(`run failed: ${r.stderr}`);
      run.push(performance.now() - t0);
      t0 = performance.now();
      const anchor = `${b.serverAnchor}/bench/p${i}`;
      const mk = await circuit(["mkproc", "-d", a.url, anchor], { stdin: '{"Path": "/bin/true"}' });
      const stdin = await circuit(["stdin", "-d", a.url, anchor], { stdin: "" });
      const wait = await circuit(["wait", "-d", a.url, anchor]);
      dance.push(performance.now() - t0);
      if (mk.code + stdin.code + wait.code !== 0) throw new Error(`mkproc/stdin/wait failed: ${mk.stderr}`);
      await circuit(["scrub", "-d", a.url, anchor]);
    }
    const [mr, md] = [_median(run), _median(dance)];
    return [
      ["circuit run -- /bin/true on a remote server (median wall time)", `${mr.toFixed(0)} ms`, ""],
      ["circuit mkproc + stdin + wait of /bin/true, same run (median)", `${md.toFixed(0)} ms`, ""],
      ["run / (mkproc + stdin + wait)", `${(mr / md).toFixed(2)}×`, "≤ 0.5×"],
    ];
  } finally {
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function _tagTraffic(): Promise<BenchRow[]> {
  await deleteStaleNamespaces(_PREFIX);
  const rows: BenchRow[] = [];
  const perServer: number[] = [];
  for (const [i, tags] of [[], _TAGS].entries()) {
    const ns = await LoopbackNamespace.create(`${_PREFIX}-${i}`);
    const dir = await Deno.makeTempDir({ prefix: "circuit-bench-ergo-" });
    const o = Observer.start(ns.name);
    const servers: NsServer[] = [];
    const tagArgs = tags.flatMap((t) => ["-tag", t]);
    try {
      servers.push(await NsServer.start(ns.name, dir, ["-a", "127.0.0.1:0", ...tagArgs]));
      for (let n = 1; n < _CLUSTER; n++) {
        servers.push(
          await NsServer.start(ns.name, dir, ["-a", "127.0.0.1:0", "-j", servers[0].url, ...tagArgs]),
        );
      }
      const want = servers.map((s) => s.id).sort().join(" ");
      while (!(await Promise.all(servers.map((s) => o.view(s.url)))).every((v) => v?.join(" ") === want)) {
        await new Promise((r) => setTimeout(r, 100));
      }
      // Let the join gossip die down: idle means no news left to spread.
      await new Promise((r) => setTimeout(r, 2_000));
      const b0 = await _loBytes(ns.name);
      await new Promise((r) => setTimeout(r, _IDLE_WINDOW_MS));
      const b1 = await _loBytes(ns.name);
      perServer.push((b1 - b0) / servers.length / (_IDLE_WINDOW_MS / 1000));
    } finally {
      await o.close();
      await Promise.all(servers.map((s) => s.stop()));
      await ns.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  }
  const [none, five] = perServer;
  rows.push(
    [
      `cluster of ${_CLUSTER}, idle, no tags: membership bytes per server`,
      `${Math.round(none)} B/s`,
      "< 2 KB/s",
    ],
    [
      `cluster of ${_CLUSTER}, idle, 5 tags each: membership bytes per server`,
      `${Math.round(five)} B/s`,
      "< 2 KB/s",
    ],
  );
  return rows;
}

/** Bytes sent on the namespace's `lo` so far (every packet of the cluster crosses it once). */
async function _loBytes(ns: string): Promise<number> {
  const out = await new Deno.Command("ip", {
    args: ["-n", ns, "-s", "-j", "link", "show", "lo"],
    stdout: "piped",
  })
    .output();
  return JSON.parse(new TextDecoder().decode(out.stdout))[0].stats64.tx.bytes;
}

function _median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

if (import.meta.main) {
  for (const [w, v, t] of await benchErgo()) console.log(`| ${w} | ${v} | ${t} |`);
}
