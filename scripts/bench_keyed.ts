/**
 * The cost of TLS 1.3: process stdout throughput and channel messages per second on a keyed
 * cluster beside the same figures on an unkeyed one, measured as scripts/bench.ts measures them.
 * Run alone with `deno run --allow-all --unstable-net scripts/bench_keyed.ts`; BENCH_SCALE lowers
 * the sizes.
 *
 * @module
 */
import { type Chan, dial } from "../mod.ts";
import { circuit, TestServer } from "../tests/_harness.ts";
import { channelSeconds } from "./bench_channel.ts";

const SCALE = Number(Deno.env.get("BENCH_SCALE") ?? "1");

/** TLS may cost at most this share of unkeyed throughput (SPEC §10.2). */
const MAX_OVERHEAD = 0.15;

/** A keyed CLI command may take at most this much longer than an unkeyed one (issue 12). */
const MAX_CLI_EXTRA_MS = 5;

interface _Figures {
  stdoutMBps: number;
  chanMsgsPerSec: number;
}

/** Three servers (keyed when `keyFile` is given), the stdout and channel figures, then cleanup. */
function _measure(dir: string, keyFile?: string): Promise<_Figures> {
  return _withCluster(dir, keyFile, async ({ a, b, c, key }) => {
    await using client = await dial(a.url, { key });

    // Channel messages per second: channel on C, sender dials A, receiver dials B, 32 in flight
    // each; after an unreported round that warms up the JIT (as scripts/bench.ts).
    await using sendClient = await dial(a.url, { key });
    await using recvClient = await dial(b.url, { key });
    const chanRate = async (n: number, name: string) => {
      const path = `${c.serverAnchor}/bench/${name}`;
      await client.walk(path).makeChan(1024);
      const sendChan = await sendClient.walk(path).get() as Chan;
      const recvChan = await recvClient.walk(path).get() as Chan;
      return n / await channelSeconds(sendChan, recvChan, n);
    };
    await chanRate(Math.max(1000, Math.round(30000 * SCALE)), "warmup");
    const chanMsgsPerSec = await chanRate(Math.max(1000, Math.round(20000 * SCALE)), "chan");

    // Process stdout throughput: 50 MB from `head -c` on A, byte count checked; after three
    // warm-up runs (as scripts/bench.ts), the median of three runs.
    const size = Math.round(50_000_000 * Math.min(1, SCALE));
    const stdoutMBps = async (n: number, i: number) => {
      const t1 = performance.now();
      const p = await client.walk(`${a.serverAnchor}/bench/out${i}`).makeProc({
        path: "/usr/bin/head",
        args: ["-c", String(n), "/dev/zero"],
        scrub: true,
      });
      let got = 0;
      for await (const chunk of p.stdout) got += chunk.length;
      if (got !== n) throw new Error(`stdout bench read ${got} bytes, expected ${n}`);
      return n / 1e6 / ((performance.now() - t1) / 1000);
    };
    for (let i = 1; i <= 3; i++) await stdoutMBps(size, -i);
    const rates = [await stdoutMBps(size, 0), await stdoutMBps(size, 1), await stdoutMBps(size, 2)];
    rates.sort((x, y) => x - y);
    return { stdoutMBps: rates[1], chanMsgsPerSec };
  });
}

/** Median of `runs` timings of `fn`, in ms. */
async function _median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

/**
 * The latency figures of a cluster of three (keyed when `keyFile` is given): the CLI's `ls /...`
 * as a user runs it, and one dial through the library (TCP, TLS when keyed, hello).
 */
function _latency(dir: string, keyFile?: string): Promise<{ cliMs: number; dialMs: number }> {
  return _withCluster(dir, keyFile, async ({ a, hmac, key }) => {
    const runs = Math.max(5, Math.round(21 * SCALE));
    const cliMs = await _median(runs, () => circuit(["ls", ...hmac, "-d", a.url, "/..."]));
    await (await dial(a.url, { key })).close();
    const dialMs = await _median(runs * 4, async () => (await dial(a.url, { key })).close());
    return { cliMs, dialMs };
  });
}

/**
 * Measures stdout MB/s and channel messages/s without and with a key; returns table rows
 * `[measurement, result, target]` for `deno task bench`.
 *
 * @example
 * ```ts ignore
 * import { benchKeyed } from "./bench_keyed.ts";
 * for (const [what, value, target] of await benchKeyed()) console.log(what, value, target);
 * ```
 */
export async function benchKeyed(): Promise<[string, string, string][]> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-bench-keyed-" });
  try {
    const keygen = await circuit(["keygen"]);
    await Deno.writeTextFile(`${dir}/k`, keygen.stdout);
    const plain = await _measure(dir);
    const keyed = await _measure(dir, `${dir}/k`);
    const plainLat = await _latency(dir);
    const keyedLat = await _latency(dir, `${dir}/k`);
    const cost = (without: number, withKey: number) => `${((1 - withKey / without) * 100).toFixed(0)} %`;
    const target = `< ${MAX_OVERHEAD * 100} %`;
    return [
      ["process stdout to a client, no key", `${plain.stdoutMBps.toFixed(0)} MB/s`, "reference"],
      ["process stdout to a client, keyed", `${keyed.stdoutMBps.toFixed(0)} MB/s`, "reference"],
      ["TLS cost on stdout throughput", cost(plain.stdoutMBps, keyed.stdoutMBps), target],
      ["channel messages/s, no key", `${Math.round(plain.chanMsgsPerSec)}`, "reference"],
      ["channel messages/s, keyed", `${Math.round(keyed.chanMsgsPerSec)}`, "reference"],
      ["TLS cost on channel messages/s", cost(plain.chanMsgsPerSec, keyed.chanMsgsPerSec), target],
      ["CLI `ls /...` of 3 servers, no key (median)", `${plainLat.cliMs.toFixed(1)} ms`, "reference"],
      ["CLI `ls /...` of 3 servers, keyed (median)", `${keyedLat.cliMs.toFixed(1)} ms`, "reference"],
      [
        "keyed CLI slower by",
        `${(keyedLat.cliMs - plainLat.cliMs).toFixed(1)} ms`,
        `<= ${MAX_CLI_EXTRA_MS} ms`,
      ],
      ["library dial (connect + hello), no key (median)", `${plainLat.dialMs.toFixed(2)} ms`, "reference"],
      [
        "library dial (connect + TLS 1.3 + hello), keyed (median)",
        `${keyedLat.dialMs.toFixed(2)} ms`,
        "reference",
      ],
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  console.log("| measurement | result | target |");
  console.log("|---|---|---|");
  for (const [w, v, t] of await benchKeyed()) console.log(`| ${w} | ${v} | ${t} |`);
}

/** Runs `fn` on a cluster of three servers (keyed when `keyFile` is given) that see each other, then stops them. */
async function _withCluster<T>(
  dir: string,
  keyFile: string | undefined,
  fn: (k: { a: TestServer; b: TestServer; c: TestServer; hmac: string[]; key?: string }) => Promise<T>,
): Promise<T> {
  const hmac = keyFile ? ["-hmac", keyFile] : [];
  const key = keyFile ? await Deno.readTextFile(keyFile) : undefined;
  const a = await TestServer.start(dir, hmac);
  const b = await TestServer.start(dir, [...hmac, "-j", a.url]);
  const c = await TestServer.start(dir, [...hmac, "-j", a.url]);
  try {
    for (;;) {
      const ls = await circuit(["ls", ...hmac, "-d", a.url, "/"]);
      if (ls.stdout.trim().split("\n").length === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return await fn({ a, b, c, hmac, key });
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
}
