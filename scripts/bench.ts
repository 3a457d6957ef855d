/**
 * `deno task bench`: measures circuit on this machine and prints a table (record it in
 * docs/BENCHMARKS.md). Everything runs on loopback (or in private network namespaces) against
 * real servers started as separate OS processes. Knobs: BENCH_SCALE (default 1) shrinks the
 * workloads; BENCH_ONLY=core,cluster,keyed,dns,metrics,ergo,authz,console,sim picks sections;
 * BENCH_CLUSTER_SIZES (default 5,10,20,50) sets the membership cluster sizes; BENCH_SIM_SIZES
 * (default 10000) the sizes of the membership simulation (section `sim`, ~15 min at 10,000 on 2
 * cores; BENCH_SIM_SIZES=1000 for a quick run), BENCH_SIM_PARTITION_MAX_N (default 1000) the
 * largest size that also simulates a partition and BENCH_SIM_MERGE_SIZES (default 1000) the sizes
 * whose split start is healed (docs/SCALE.md).
 *
 * @module
 */
import { connect } from "../wire/dial.ts";
import { dial } from "../mod.ts";
import { circuit, CLI, PERMISSIONS, QUIET_ENV, TestServer } from "../tests/_harness.ts";
import { benchCluster } from "./bench_cluster.ts";
import { channelSeconds } from "./bench_channel.ts";

const SCALE = Number(Deno.env.get("BENCH_SCALE") ?? "1");
const ONLY = new Set(
  (Deno.env.get("BENCH_ONLY") ?? "core,cluster,keyed,dns,metrics,ergo,authz,console,sim").split(","),
);
const rows: [string, string, string][] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function row(what: string, value: string, target: string) {
  rows.push([what, value, target]);
  console.error(`${what}: ${value}`);
}

if (ONLY.has("core")) await benchCore();

async function benchCore() {
  const dir = await Deno.makeTempDir({ prefix: "circuit-bench-" });
  const a = await TestServer.start(dir);
  const b = await TestServer.start(dir, ["-j", a.url]);
  const c = await TestServer.start(dir, ["-j", a.url]);
  // A server whose processes start by the fallback route, for same-run comparison.
  const noFfi = await TestServer.start(
    dir,
    ["-j", a.url],
    {},
    PERMISSIONS.filter((p) => p !== "--allow-ffi"),
  );
  try {
    // Wait until A sees all three.
    for (;;) {
      const ls = await circuit(["ls", "-d", a.url, "/"]);
      if (ls.stdout.trim().split("\n").length === 4) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await using client = await dial(a.url);

    // 1. Remote process round trip: mkproc /bin/true on B through A, then wait; beside it the same
    // on a server without --allow-ffi (the setsid(1) fallback route, two execs per process) and
    // the floor under both, starting /bin/true locally without circuit. Interleaved, so drift in
    // the machine's speed hits all three alike.
    {
      const n = Math.max(20, Math.round(300 * SCALE));
      const times: { ffi: number[]; setsid: number[]; local: number[]; noExec: number[] } = {
        ffi: [],
        setsid: [],
        local: [],
        noExec: [],
      };
      const remote = async (anchor: string, i: number) => {
        const t0 = performance.now();
        const p = await client.walk(`${anchor}/bench/rt${i}`).makeProc({ path: "/bin/true", scrub: true });
        await p.wait();
        return performance.now() - t0;
      };
      // Warm-up (unreported): servers are long-lived, so their steady state is what counts, not
      // the first calls' compilation of the spawn and forwarding paths.
      for (let i = 0; i < Math.max(10, n / 3); i++) {
        await remote(b.serverAnchor, n + i);
        await remote(noFfi.serverAnchor, n + i);
        await new Deno.Command("/bin/true", { stdin: "null", stdout: "null", stderr: "null" }).output();
      }
      for (let i = 0; i < n; i++) {
        times.ffi.push(await remote(b.serverAnchor, i));
        times.setsid.push(await remote(noFfi.serverAnchor, i));
        const t0 = performance.now();
        await new Deno.Command("/bin/true", { stdin: "null", stdout: "null", stderr: "null" }).output();
        times.local.push(performance.now() - t0);
        // Circuit's own share: two calls to B through A, with no process (mkchan, then get).
        const t1 = performance.now();
        const anchor = client.walk(`${b.serverAnchor}/bench/rtc${i}`);
        await anchor.makeChan(1);
        await anchor.get();
        times.noExec.push(performance.now() - t1);
        await anchor.scrub();
      }
      const [ffi, setsid, local] = [times.ffi, times.setsid, times.local].map(median);
      row("remote process round trip (median)", `${ffi.toFixed(3)} ms`, "< 1.2 ms");
      row(
        "remote process round trip, setsid(1) route (no --allow-ffi) (median)",
        `${setsid.toFixed(3)} ms`,
        "reference",
      );
      row(
        "local Deno.Command spawn of /bin/true until its exit (median)",
        `${local.toFixed(3)} ms`,
        "reference",
      );
      row("round trip ratio remote/local spawn", `${(ffi / local).toFixed(2)}`, "<= 1.25");
      row(
        "two calls to the same remote server without a process (mkchan + get) (median)",
        `${median(times.noExec).toFixed(3)} ms`,
        "reference",
      );
      row(
        "round trip ratio, setsid(1) route, remote/local spawn",
        `${(setsid / local).toFixed(2)}`,
        "reference",
      );
    }

    // 2. Channel messages per second: channel on C, sender dials A, receiver dials B. Each client
    // keeps `depth` operations in flight (order is still FIFO); the rate is latency-bound, so it is
    // measured at 32 and, to show how it scales, at 128. A first, unreported round of 30,000
    // messages warms up the JIT of all four processes: the rate climbs from ~4,000/s in the
    // first 10,000 messages to its steady level after ~30,000, as a long-running server is.
    for (const depth of [0, 32, 128]) {
      const n = Math.max(1000, Math.round((depth === 0 ? 30000 : 20000) * SCALE));
      const path = `${c.serverAnchor}/bench/chan${depth}`;
      await client.walk(path).makeChan(1024);
      await using sendClient = await dial(a.url);
      await using recvClient = await dial(b.url);
      const sendChan = await sendClient.walk(path).get() as import("../mod.ts").Chan;
      const recvChan = await recvClient.walk(path).get() as import("../mod.ts").Chan;
      const secs = await channelSeconds(sendChan, recvChan, n, depth === 0 ? 32 : depth);
      if (depth === 0) continue;
      row(
        `channel messages/s (1 KiB, cap 1024, chan on a third server, ${depth} in flight per client)`,
        `${Math.round(n / secs)}`,
        depth === 32 ? ">= 10000" : "reference",
      );
    }

    // 3. Process stdout throughput to a client vs a local Deno.Command; the client dialed to the
    // process's server, which reads the pipe through FFI-made pipes (A) or Deno.Command's (noFfi).
    await using fallbackClient = await dial(noFfi.url);
    {
      // 200 MB a round (~0.3 s): a 50 MB round is mostly its ramp-up, and its ratios spread by
      // ±5 % between runs of the same code, as much as the target they are held to.
      const size = Math.round(200_000_000 * Math.min(1, SCALE));
      const args = (n: number) => ["-c", String(n), "/dev/zero"];
      const viaCircuit = async (n: number, i: number, fallback = false) => {
        const t0 = performance.now();
        const via = fallback ? fallbackClient : client;
        const p = await via.walk(`${(fallback ? noFfi : a).serverAnchor}/bench/out${i}`).makeProc({
          path: "/usr/bin/head",
          args: args(n),
          scrub: true,
        });
        let got = 0;
        for await (const chunk of p.stdout) got += chunk.length;
        if (got !== n) throw new Error(`stdout bench read ${got} bytes, expected ${n}`);
        return n / 1e6 / ((performance.now() - t0) / 1000);
      };
      // The plain way to read a child's output, and the fastest (BYOB reads into one buffer,
      // as the server itself reads pipes).
      const local = async (n: number, byob: boolean) => {
        const t0 = performance.now();
        const child = new Deno.Command("/usr/bin/head", { args: args(n), stdout: "piped", stderr: "null" })
          .spawn();
        let got = 0;
        if (byob) {
          const reader = child.stdout.getReader({ mode: "byob" });
          let buf = new Uint8Array(64 * 1024);
          for (;;) {
            const { done, value } = await reader.read(buf);
            if (done || !value) break;
            got += value.length;
            buf = new Uint8Array(value.buffer);
          }
        } else {
          for await (const chunk of child.stdout) got += chunk.length;
        }
        await child.status;
        if (got !== n) throw new Error(`local read ${got} bytes, expected ${n}`);
        return n / 1e6 / ((performance.now() - t0) / 1000);
      };
      // Warm-up (JIT, and TCP's receive-window autotuning on the client's connection, which
      // takes a few runs to open up), then five interleaved rounds; medians are reported (a run
      // varies by up to 2× here, with the pages the kernel must fault in for the client's chunks).
      for (let i = 1; i <= 3; i++) {
        await viaCircuit(size, -i);
        await viaCircuit(size, -i, true);
      }
      await local(size, false);
      await local(size, true);
      const rates: { circuit: number[]; fallback: number[]; plain: number[]; byob: number[] } = {
        circuit: [],
        fallback: [],
        plain: [],
        byob: [],
      };
      for (let i = 0; i < 5; i++) {
        rates.circuit.push(await viaCircuit(size, i));
        rates.fallback.push(await viaCircuit(size, i, true));
        rates.plain.push(await local(size, false));
        rates.byob.push(await local(size, true));
      }
      const [mbps, plainMbps, byobMbps] = [rates.circuit, rates.plain, rates.byob].map(median);
      row("process stdout to a client (median of 5)", `${mbps.toFixed(0)} MB/s`, ">= 500 MB/s");
      const fallbackMbps = median(rates.fallback);
      row(
        "process stdout, setsid(1) route's Deno.Command pipes (median of 5)",
        `${fallbackMbps.toFixed(0)} MB/s`,
        "reference",
      );
      row("stdout ratio FFI pipes/Deno.Command pipes", `${(mbps / fallbackMbps).toFixed(2)}`, ">= 0.95");
      row(
        "local Deno.Command stdout, default reader (same process)",
        `${plainMbps.toFixed(0)} MB/s`,
        "reference",
      );
      row("stdout ratio circuit/local default reader", `${(mbps / plainMbps).toFixed(2)}`, ">= 0.5");
      row("local Deno.Command stdout, BYOB reads (same process)", `${byobMbps.toFixed(0)} MB/s`, "reference");
      row("stdout ratio circuit/local BYOB", `${(mbps / byobMbps).toFixed(2)}`, "reference");
    }

    // 4. ls /... over three servers: through the client package, and through the CLI.
    {
      const conn = await connect(a.url);
      const listAll = async () => {
        const view = await conn.call("view", {});
        await Promise.all(
          view.map((m) => conn.call("ls", { Path: "/" + m.Id, Recursive: true, PostOrder: false })),
        );
      };
      for (let i = 0; i < 50; i++) await listAll();
      const times: number[] = [];
      for (let i = 0; i < Math.max(50, Math.round(500 * SCALE)); i++) {
        const t0 = performance.now();
        await listAll();
        times.push(performance.now() - t0);
      }
      conn.close();
      row("ls /... of 3 servers through the library (median)", `${median(times).toFixed(3)} ms`, "< 1 ms");

      const empty = await Deno.makeTempFile({ suffix: ".ts" });
      await Deno.writeTextFile(empty, "");
      const runs = Math.max(10, Math.round(40 * SCALE));
      // Runs of the commands compared are interleaved, so drift in the machine's speed hits all.
      const timeAll = async (commands: string[][]) => {
        const ts: number[][] = commands.map(() => []);
        for (let i = 0; i < runs; i++) {
          for (const [k, args] of commands.entries()) {
            const t0 = performance.now();
            const out = await new Deno.Command("deno", {
              args,
              env: QUIET_ENV,
              stdout: "null",
              stderr: "null",
            })
              .output();
            if (!out.success) throw new Error(`deno ${args.join(" ")} failed`);
            ts[k].push(performance.now() - t0);
          }
        }
        return ts.map(median);
      };
      // What `deno compile` ships runs the CLI's modules and loads the server's only when `start`
      // runs (a dynamic import): a code-split bundle does the same. The single file (everything
      // inlined) is what `deno bundle` makes for offline use; its client commands also load the
      // server's code.
      const bundle = `${dir}/circuit.js`;
      const split = `${dir}/split`;
      for (const args of [["-o", bundle], ["--code-splitting", "--outdir", split]]) {
        const built = await new Deno.Command("deno", {
          args: ["bundle", "--minify", ...args, CLI],
          env: QUIET_ENV,
        }).output();
        if (!built.success) throw new Error("deno bundle failed");
      }
      const [base, lazy, single, modules] = await timeAll([
        ["run", ...PERMISSIONS, empty],
        ["run", ...PERMISSIONS, `${split}/cli.js`, "ls", "-d", a.url, "/..."],
        ["run", ...PERMISSIONS, bundle, "ls", "-d", a.url, "/..."],
        ["run", ...PERMISSIONS, CLI, "ls", "-d", a.url, "/..."],
      ]);
      row("deno run of an empty script (median)", `${base.toFixed(1)} ms`, "reference");
      row(
        "circuit ls /... via the bundled CLI, server loaded lazily (median)",
        `${lazy.toFixed(1)} ms`,
        "reference",
      );
      row("CLI overhead over the runtime's start", `${(lazy - base).toFixed(1)} ms`, "< 8 ms");
      row(
        "CLI overhead, single-file bundle (server code inlined)",
        `${(single - base).toFixed(1)} ms`,
        "reference",
      );
      row("CLI overhead, run from source modules (cli.ts)", `${(modules - base).toFixed(1)} ms`, "reference");

      // 5. Idle server RSS, of the single-file server and of one run from source modules.
      const idle = await _startBundled(bundle, dir);
      await new Promise((r) => setTimeout(r, 2000));
      row("idle server RSS (single file)", `${(_rssKb(idle.pid) / 1024).toFixed(1)} MB`, "< 50 MB");
      row("idle server RSS (from source modules)", `${(_rssKb(c.pid) / 1024).toFixed(1)} MB`, "reference");
      idle.kill("SIGTERM");
      await idle.status;
    }
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop(), noFfi.stop()]);
    await Deno.remove(dir, { recursive: true });
  }
}

function _rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]);
}

async function _startBundled(bundle: string, dir: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("deno", {
    args: ["run", ...PERMISSIONS, bundle, "start", "-a", "127.0.0.1:0", "-var", `${dir}/idle`],
    stdout: "piped",
    stderr: "null",
    env: QUIET_ENV,
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return child;
}

// A section that cannot run here (no dnsperf, no Docker engine, …) says why in its row.
async function optionalSection(name: string, rowsOf: () => Promise<[string, string, string][]>) {
  try {
    for (const [w, v, t] of await rowsOf()) row(w, v, t);
  } catch (err) {
    row(name, `not run: ${err instanceof Error ? err.message : err}`, "");
  }
}

if (ONLY.has("keyed")) {
  await optionalSection("keyed benchmarks", async () => (await import("./bench_keyed.ts")).benchKeyed());
}

if (ONLY.has("authz")) {
  await optionalSection(
    "authorization benchmarks",
    async () => (await import("./bench_authz.ts")).benchAuthz(),
  );
}

if (ONLY.has("dns")) {
  await optionalSection(
    "DNS and docker benchmarks",
    async () => (await import("./bench_dns_docker.ts")).benchDnsDocker(),
  );
}

if (ONLY.has("metrics")) {
  for (const [w, v, t] of await (await import("./bench_metrics.ts")).benchMetrics(SCALE)) row(w, v, t);
}

if (ONLY.has("ergo")) {
  await optionalSection("run and tags benchmarks", async () => (await import("./bench_ergo.ts")).benchErgo());
}

if (ONLY.has("console")) {
  await optionalSection(
    "console benchmarks",
    async () => (await import("./bench_console.ts")).benchConsole(SCALE),
  );
}

if (ONLY.has("cluster")) {
  const sizes = (Deno.env.get("BENCH_CLUSTER_SIZES") ?? "5,10,20,50").split(",").map(Number);
  for (const [w, v, t] of await benchCluster(sizes)) row(w, v, t);
}

if (ONLY.has("sim")) {
  const sizes = (Deno.env.get("BENCH_SIM_SIZES") ?? "10000").split(",").map(Number);
  for (const [w, v, t] of await (await import("./bench_sim.ts")).benchSim(sizes)) row(w, v, t);
}

const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
console.log(
  `circuit benchmarks — ${
    new Date().toISOString()
  } — ${Deno.build.target}, ${cpu}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}\n`,
);
console.log("| measurement | result | target |");
console.log("|---|---|---|");
for (const [w, v, t] of rows) console.log(`| ${w} | ${v} | ${t} |`);
