/**
 * DNS and Docker benchmarks: queries per second a DNS element answers, measured with `dnsperf`
 * against the element and, in the same run, against `dnsmasq` serving the same records; and the
 * time from `mkdkr` to a container's first output byte beside `docker run` of the same image and
 * command. Everything runs on loopback against a real server started as a separate OS process and
 * the private engine of scripts/dockerd.sh (or DOCKER_HOST). Installs `dnsperf` and `dnsmasq`
 * when missing (as root). `scripts/bench.ts` calls {@link benchDnsDocker}; run alone it prints the
 * rows: `deno run --allow-all --unstable-net scripts/bench_dns_docker.ts`. BENCH_SCALE (default 1)
 * scales run lengths and sample counts.
 *
 * @module
 */
import { dial } from "../mod.ts";
import { digShort, freePort } from "../tests/_dig.ts";
import { dockerHost, TEST_IMAGE } from "../tests/_docker.ts";
import { circuit, CLI, PERMISSIONS, QUIET_ENV, TestServer } from "../tests/_harness.ts";

const _SCALE = Number(Deno.env.get("BENCH_SCALE") ?? "1");

/**
 * Each name server is measured this many times, alternating with the other, and the median
 * taken: on a shared machine a burst of load then hits both alike and one outlier does not count.
 */
const _DNS_ROUNDS = 3;

/** Length of one dnsperf run: long enough that start and drain are a small part of it. */
const _DNS_SECONDS = Math.max(2, Math.round(5 * _SCALE));

/** A short run first warms the element's JIT and both servers' caches. */
const _DNS_WARMUP_SECONDS = 1;

/** Container starts per method; each takes about half a second, so medians stay cheap. */
const _DOCKER_ROUNDS = Math.max(5, Math.round(10 * _SCALE));

/** The same records for both name servers: every type dnsmasq serves outside its auth mode. */
const _RECORDS = [
  "ex.org. 3600 IN A 192.0.2.1",
  "ex.org. 3600 IN AAAA 2001:db8::1",
  "ex.org. 3600 IN MX 10 mail.ex.org.",
  'ex.org. 3600 IN TXT "hello world"',
  "www.ex.org. 3600 IN CNAME ex.org.",
  "_sip._tcp.ex.org. 3600 IN SRV 10 60 5060 sip.ex.org.",
  "1.2.0.192.in-addr.arpa. 3600 IN PTR ex.org.",
];

/** dnsmasq's options for {@link _RECORDS} (its host record also makes the PTR). */
const _DNSMASQ_RECORDS = [
  "--host-record=ex.org,192.0.2.1,2001:db8::1",
  "--mx-host=ex.org,mail.ex.org,10",
  "--txt-record=ex.org,hello world",
  "--cname=www.ex.org,ex.org",
  "--srv-host=_sip._tcp.ex.org,sip.ex.org,5060,10,60",
  "--local-ttl=3600",
];

/** dnsperf's input: one query per record, cycled through. */
const _QUERIES = [
  "ex.org A",
  "ex.org AAAA",
  "ex.org MX",
  "ex.org TXT",
  "www.ex.org A",
  "_sip._tcp.ex.org SRV",
  "1.2.0.192.in-addr.arpa PTR",
];

/** One row of the benchmark table: what, measured value, target. */
export type BenchRow = [string, string, string];

/**
 * Runs the DNS and Docker benchmarks and returns their rows.
 *
 * @example
 * ```ts ignore
 * import { benchDnsDocker } from "./bench_dns_docker.ts";
 * for (const [what, value, target] of await benchDnsDocker()) console.log(what, value, target);
 * ```
 */
export async function benchDnsDocker(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const row = (what: string, value: string, target: string) => {
    rows.push([what, value, target]);
    console.error(`${what}: ${value} (target ${target})`);
  };
  await _ensureTools();
  const host = await dockerHost().catch((err) => {
    row("docker engine", `unavailable: ${err instanceof Error ? err.message : err}`, "—");
    return null;
  });
  const dir = await Deno.makeTempDir({ prefix: "circuit-bench-dns-docker-" });
  const server = host === null
    ? await TestServer.start(dir)
    : await TestServer.start(dir, ["-docker"], { DOCKER_HOST: host });
  try {
    await _benchDns(server, dir, row);
    if (host !== null) await _benchDocker(server, host, row);
  } finally {
    await server.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

type _Row = (what: string, value: string, target: string) => void;

async function _benchDns(server: TestServer, dir: string, row: _Row): Promise<void> {
  const elementPort = freePort();
  const anchor = `${server.serverAnchor}/bench/dns`;
  await _cli(server, "mkdns", [anchor, `127.0.0.1:${elementPort}`]);
  for (const rr of _RECORDS) await _cli(server, "set", [anchor, rr]);

  const dnsmasqPort = freePort();
  const dnsmasq = new Deno.Command("dnsmasq", {
    args: [
      "--no-daemon",
      `--port=${dnsmasqPort}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      "--conf-file=/dev/null",
      // no pid file: a system dnsmasq may own the default one
      "--pid-file=",
      ..._DNSMASQ_RECORDS,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const dnsmasqLog = new Response(dnsmasq.stderr).text();
  try {
    await _untilAnswers(dnsmasqPort, dnsmasq);
    // Same records: every query gets the same answer data from both.
    for (const q of _QUERIES) {
      const [ours, theirs] = [await _digShort(elementPort, q), await _digShort(dnsmasqPort, q)];
      if (ours !== theirs || ours === "") {
        throw new Error(
          `"${q}": the element answers ${JSON.stringify(ours)}, dnsmasq ${JSON.stringify(theirs)}`,
        );
      }
    }
    const queries = `${dir}/queries.txt`;
    await Deno.writeTextFile(queries, _QUERIES.join("\n") + "\n");
    await _dnsperf(elementPort, queries, _DNS_WARMUP_SECONDS);
    await _dnsperf(dnsmasqPort, queries, _DNS_WARMUP_SECONDS);
    const ours: _Perf[] = [];
    const theirs: _Perf[] = [];
    for (let i = 0; i < _DNS_ROUNDS; i++) {
      ours.push(await _dnsperf(elementPort, queries, _DNS_SECONDS));
      theirs.push(await _dnsperf(dnsmasqPort, queries, _DNS_SECONDS));
    }
    const [o, t] = [_medianPerf(ours), _medianPerf(theirs)];
    row("DNS element queries/s (dnsperf, UDP, median)", _perfText(o), "reference");
    row("dnsmasq queries/s, same records, same run (median)", _perfText(t), "reference");
    row("DNS element / dnsmasq queries/s", (o.qps / t.qps).toFixed(2), ">= 0.5");
  } finally {
    try {
      dnsmasq.kill("SIGTERM");
    } catch {
      // already exited
    }
    await dnsmasq.status;
    await dnsmasqLog;
    await _cli(server, "scrub", [anchor]);
  }
}

async function _benchDocker(server: TestServer, host: string, row: _Row): Promise<void> {
  const cmd = ["/bin/echo", "x"];
  await using client = await dial(server.url);
  const anchor = client.walk(`${server.serverAnchor}/bench/dkr`);
  const viaCircuit = async () => {
    const t0 = performance.now();
    const c = await anchor.makeDocker({ image: TEST_IMAGE, path: cmd[0], args: cmd.slice(1) });
    const reader = c.stdout.getReader();
    const first = await reader.read();
    const ms = performance.now() - t0;
    if (first.done) throw new Error("the container printed nothing");
    await reader.cancel();
    await anchor.scrub({ kill: true });
    return ms;
  };
  const viaDocker = async () => {
    const t0 = performance.now();
    const child = new Deno.Command("docker", {
      args: ["-H", host, "run", "--rm", TEST_IMAGE, ...cmd],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const { ms, printed } = await _firstByte(child, t0);
    if (!(await child.status).success || !printed) throw new Error("docker run failed");
    return ms;
  };
  // Through the CLI: both commands' runtime starts count, as a user at a shell sees them.
  const viaCli = async () => {
    const path = `${server.serverAnchor}/bench/cli`;
    const t0 = performance.now();
    await _cli(
      server,
      "mkdkr",
      [path],
      JSON.stringify({ Image: TEST_IMAGE, Path: cmd[0], Args: cmd.slice(1) }),
    );
    const child = new Deno.Command("deno", {
      args: ["run", ...PERMISSIONS, CLI, "stdout", "-d", server.url, path],
      env: QUIET_ENV,
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const { ms, printed } = await _firstByte(child, t0);
    await child.status;
    if (!printed) throw new Error("circuit stdout printed nothing");
    await _cli(server, "scrub", ["-kill", path]);
    return ms;
  };
  // One of each unmeasured: the engine's and the server's first container costs extra.
  await viaCircuit();
  await viaDocker();
  const ours: number[] = [];
  const theirs: number[] = [];
  const cli: number[] = [];
  for (let i = 0; i < _DOCKER_ROUNDS; i++) {
    // Alternating the order keeps a slow phase of the machine from favouring one side.
    if (i % 2 === 0) {
      ours.push(await viaCircuit());
      theirs.push(await viaDocker());
    } else {
      theirs.push(await viaDocker());
      ours.push(await viaCircuit());
    }
    cli.push(await viaCli());
  }
  const [o, t] = [_median(ours), _median(theirs)];
  row("mkdkr to the container's first output byte, library (median)", `${o.toFixed(0)} ms`, "reference");
  row("docker run to the container's first output byte (median)", `${t.toFixed(0)} ms`, "reference");
  row("mkdkr / docker run, time to first byte", (o / t).toFixed(2), "<= 1.2");
  row(
    "circuit mkdkr + circuit stdout to first byte, CLI (median)",
    `${_median(cli).toFixed(0)} ms`,
    "reference",
  );
}

/** What one dnsperf run measured. */
interface _Perf {
  qps: number;
  lostPercent: number;
}

async function _dnsperf(port: number, queries: string, seconds: number): Promise<_Perf> {
  const out = await new Deno.Command("dnsperf", {
    args: ["-s", "127.0.0.1", "-p", String(port), "-d", queries, "-l", String(seconds)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const qps = /Queries per second:\s+([\d.]+)/.exec(text);
  const lost = /Queries lost:\s+\d+ \(([\d.]+)%\)/.exec(text);
  if (!out.success || !qps || !lost) {
    throw new Error(`dnsperf against port ${port} failed: ${text}${new TextDecoder().decode(out.stderr)}`);
  }
  return { qps: Number(qps[1]), lostPercent: Number(lost[1]) };
}

function _medianPerf(runs: _Perf[]): _Perf {
  return runs.toSorted((a, b) => a.qps - b.qps)[Math.floor(runs.length / 2)];
}

function _perfText(p: _Perf): string {
  return `${Math.round(p.qps)} (${p.lostPercent.toFixed(2)}% lost)`;
}

function _median(xs: number[]): number {
  return xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** `dig +short` of one query line, e.g. `ex.org MX`, with a 1 s try. */
function _digShort(port: number, query: string): Promise<string> {
  return digShort(port, "+time=1", ...query.split(" "));
}

/** Waits until dnsmasq answers (it binds after parsing its options), or fails if it exited. */
async function _untilAnswers(port: number, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  // dnsmasq starts in milliseconds; five seconds means it will not.
  const deadline = Date.now() + 5000;
  while ((await _digShort(port, _QUERIES[0])) === "") {
    if (exited || Date.now() > deadline) throw new Error("dnsmasq did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `circuit <cmd> -d <server> <args>`; fails unless it exits 0. */
async function _cli(server: TestServer, cmd: string, args: string[], stdin?: string): Promise<void> {
  const r = await circuit([cmd, "-d", server.url, ...args], { stdin });
  if (r.code !== 0) throw new Error(`circuit ${cmd} ${args.join(" ")}: ${r.stderr.trim()}`);
}

/** Installs dnsperf and dnsmasq's executable (not its system service) when missing. */
async function _ensureTools(): Promise<void> {
  const has = async (name: string) =>
    (await new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" }).output()).success;
  const need: string[] = [];
  if (!await has("dnsperf")) need.push("dnsperf");
  if (!await has("dnsmasq")) need.push("dnsmasq-base");
  if (need.length === 0) return;
  const apt = (args: string[]) =>
    new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "null",
      stderr: "inherit",
    }).output();
  const install = ["install", "-y", "--no-install-recommends", ...need];
  if ((await apt(install)).success) return;
  if ((await apt(["update"])).success && (await apt(install)).success) return;
  throw new Error(`could not install ${need.join(" ")} (run as root)`);
}

if (import.meta.main) {
  console.log("| measurement | result | target |");
  console.log("|---|---|---|");
  for (const [what, value, target] of await benchDnsDocker()) {
    console.log(`| ${what} | ${value} | ${target} |`);
  }
}

// Milliseconds from `t0` until `child` printed its first byte (or ended without one); stops reading.
async function _firstByte(child: Deno.ChildProcess, t0: number): Promise<{ ms: number; printed: boolean }> {
  const reader = child.stdout.getReader();
  const first = await reader.read();
  const ms = performance.now() - t0;
  await reader.cancel();
  return { ms, printed: !first.done };
}
