/**
 * Membership benchmark (SPEC §9.2 targets): for clusters of N servers on one machine, the time
 * until a new server is in every view, from SIGKILL and from SIGSTOP until a server has left every
 * view, from SIGCONT until it is back, the idle traffic per server, and false removals while the
 * CPUs are saturated. Servers run in a private network namespace (its own `lo`), so the wire
 * bytes of that `lo` are exactly the cluster's traffic. Needs root. `scripts/bench.ts` calls
 * {@link benchCluster}; run alone it prints the rows: `deno run --allow-all --unstable-net
 * scripts/bench_cluster.ts [sizes…]`.
 *
 * @module
 */
import { deleteStaleNamespaces, LoopbackNamespace, NsServer, Observer } from "../tests/_netns.ts";

const _PREFIX = "cirt-bench";

/**
 * Views are polled this often only to know when a change is complete; the times themselves come
 * from the servers' ops logs (`join`/`leave` records, ms precision), so polling does not load the
 * servers while they work.
 */
const _POLL_MS = 100;

/** Joins and kills are repeated this many times per size and the median reported. */
const _SAMPLES = 3;

/** Idle traffic is averaged over this window: two push-pull periods, so both phases are counted. */
const _IDLE_WINDOW_MS = 20_000;

/** Length of the CPU-saturation run: ten suspicion timeouts, so a false removal would show. */
const _SATURATION_MS = 20_000;

/** One row of the benchmark table: what, measured value, target. */
export type BenchRow = [string, string, string];

/**
 * Runs the membership benchmark for each cluster size and returns its rows.
 *
 * @example
 * ```ts ignore
 * import { benchCluster } from "./bench_cluster.ts";
 * for (const [what, value, target] of await benchCluster([5, 10])) console.log(what, value, target);
 * ```
 */
export async function benchCluster(sizes: number[] = [5, 10, 20, 50]): Promise<BenchRow[]> {
  await deleteStaleNamespaces(_PREFIX);
  const rows: BenchRow[] = [];
  for (const n of sizes) rows.push(...await _benchSize(n, n === 10));
  return rows;
}

async function _benchSize(n: number, saturate: boolean): Promise<BenchRow[]> {
  const ns = await LoopbackNamespace.create(`${_PREFIX}-${n}`);
  const dir = await Deno.makeTempDir({ prefix: "circuit-bench-cluster-" });
  const o = Observer.start(ns.name);
  const servers: NsServer[] = [];
  const rows: BenchRow[] = [];
  const row = (what: string, value: string, target: string) => {
    rows.push([`cluster of ${n}: ${what}`, value, target]);
    console.error(`cluster of ${n}: ${what}: ${value} (target ${target})`);
  };
  const start = (args: string[]) => NsServer.start(ns.name, dir, ["-a", "127.0.0.1:0", ...args]);
  try {
    servers.push(await start([]));
    while (servers.length < n - 1) {
      // A few at a time: start-up is CPU-bound and the machine may have only two cores.
      const batch = Math.min(5, n - 1 - servers.length);
      const urls = servers.map((s) => s.url);
      servers.push(
        ...await Promise.all(
          Array.from({ length: batch }, () => start(["-j", urls[Math.floor(Math.random() * urls.length)]])),
        ),
      );
    }
    await _until(o, servers, servers, 120_000);

    const joins: number[] = [];
    const kills: number[] = [];
    for (let i = 0; i < _SAMPLES; i++) {
      const target = servers[Math.floor(Math.random() * servers.length)];
      const fresh = await start(["-j", target.url]);
      await _until(o, [...servers, fresh], [...servers, fresh], 30_000);
      const started = Date.parse((await fresh.opsLog())[0].Time as string);
      joins.push(await _lastRecord(servers, "join", fresh.id) - started);
      if (i === _SAMPLES - 1) {
        servers.push(fresh);
        break;
      }
      await new Promise((r) => setTimeout(r, 1_000));
      const killed = Date.now();
      fresh.signal("SIGKILL");
      await _until(o, servers, servers, 30_000);
      kills.push(await _lastRecord(servers, "leave", fresh.id) - killed);
      await fresh.stop();
    }
    row(
      "new server in every view (median)",
      _ms(_median(joins)),
      n === 10 ? "< 150 ms" : n === 50 ? "< 1 s" : "< 2 s",
    );
    row("SIGKILL until out of every view (median)", _ms(_median(kills)), n <= 5 ? "< 500 ms" : "< 5 s");

    await new Promise((r) => setTimeout(r, 2_000));
    const b0 = await _loBytes(ns.name);
    await new Promise((r) => setTimeout(r, _IDLE_WINDOW_MS));
    const b1 = await _loBytes(ns.name);
    const perServer = (b1 - b0) / servers.length / (_IDLE_WINDOW_MS / 1000);
    row(
      "idle traffic per server (wire bytes incl. TCP/IP headers)",
      `${Math.round(perServer)} B/s`,
      "< 2 KB/s",
    );

    const victim = servers[servers.length - 1];
    const rest = servers.slice(0, -1);
    // A signal to the victim; once every server of `group` sees exactly `group`, the time until
    // the last of the others recorded `op` of the victim.
    const signalled = async (signal: Deno.Signal, group: NsServer[], op: "join" | "leave") => {
      const sent = Date.now();
      victim.signal(signal);
      await _until(o, group, group, 60_000);
      return _ms(await _lastRecord(rest, op, victim.id) - sent);
    };
    row("SIGSTOP until out of every view", await signalled("SIGSTOP", rest, "leave"), "< 5 s");
    row("SIGCONT until back in every view", await signalled("SIGCONT", servers, "join"), "< 5 s");

    if (saturate) {
      const before = await _leaves(servers);
      const hogs = Array.from(
        { length: 4 },
        () =>
          new Deno.Command("sh", { args: ["-c", "while :; do :; done"], stdout: "null", stderr: "null" })
            .spawn(),
      );
      await new Promise((r) => setTimeout(r, _SATURATION_MS));
      for (const h of hogs) h.kill("SIGKILL");
      await Promise.all(hogs.map((h) => h.status));
      await new Promise((r) => setTimeout(r, 3_000));
      row(
        `false removals while 4 busy loops saturate the CPUs for ${_SATURATION_MS / 1000} s`,
        String(await _leaves(servers) - before),
        "0",
      );
    }
  } finally {
    await o.close();
    await Promise.all(servers.map((s) => s.stop()));
    await ns.destroy();
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

/** Polls until every server in `watchers` has exactly `members` in its view. */
async function _until(
  o: Observer,
  watchers: NsServer[],
  members: NsServer[],
  limitMs: number,
): Promise<void> {
  const want = members.map((m) => m.id).sort().join(" ");
  const deadline = Date.now() + limitMs;
  for (;;) {
    const views = await Promise.all(watchers.map((w) => o.view(w.url)));
    if (views.every((v) => v?.join(" ") === want)) return;
    if (Date.now() > deadline) throw new Error(`views did not converge within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, _POLL_MS));
  }
}

/** The time (ms since the epoch) of the latest `op` record about server `id` in the servers' ops logs. */
async function _lastRecord(servers: NsServer[], op: "join" | "leave", id: string): Promise<number> {
  let last = 0;
  for (const s of servers) {
    for (const r of await s.opsLog()) {
      if (r.Op === op && r.ServerID === id) last = Math.max(last, Date.parse(r.Time as string));
    }
  }
  return last;
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

/** Number of `leave` records in all the servers' ops logs. */
async function _leaves(servers: NsServer[]): Promise<number> {
  let count = 0;
  for (const s of servers) count += (await s.opsLog()).filter((r) => r.Op === "leave").length;
  return count;
}

function _median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function _ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`;
}

if (import.meta.main) {
  const sizes = Deno.args.length > 0 ? Deno.args.map(Number) : undefined;
  for (const [what, value, target] of await benchCluster(sizes)) {
    console.log(`| ${what} | ${value} | ${target} |`);
  }
}
