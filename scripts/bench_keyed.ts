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

/** The workloads of one cluster of three, keyed or not: each call is one measured round. */
interface _Workloads {
  /** MB/s of one `head -c size /dev/zero` on A, read by a client of A, byte count checked. */
  stdoutMBps(round: number): Promise<number>;
  /** Messages/s through a channel on C, sender dialing A, receiver dialing B, 32 in flight each. */
  chanMsgsPerSec(round: number, n: number): Promise<number>;
  /** Ms of the CLI's `ls /...` as a user runs it. */
  cliMs(): Promise<number>;
  /** Ms of one dial through the library (TCP, TLS when keyed, hello) and its close. */
  dialMs(): Promise<number>;
}

/**
 * Bytes of one stdout round. 200 MB (~0.3 s): throughput is a steady-state figure, and a 50 MB
 * round (~0.1 s) is dominated by its ramp-up (TCP's receive window on the client's connection),
 * which TLS's records change; keyed/plain then spread 0.55–0.9 between runs of the same code.
 */
const _STDOUT_BYTES = Math.round(200_000_000 * Math.min(1, SCALE));

/** Runs `fn` on a cluster of three (keyed when `keyFile` is given) with its workloads ready. */
function _withWorkloads<T>(dir: string, keyFile: string | undefined, fn: (w: _Workloads) => Promise<T>) {
  return _withCluster(dir, keyFile, async ({ a, b, c, hmac, key }) => {
    await using client = await dial(a.url, { key });
    await using sendClient = await dial(a.url, { key });
    await using recvClient = await dial(b.url, { key });
    const timed = async (work: () => Promise<unknown>) => {
      const t0 = performance.now();
      await work();
      return performance.now() - t0;
    };
    return await fn({
      async stdoutMBps(round) {
        const ms = await timed(async () => {
          const p = await client.walk(`${a.serverAnchor}/bench/out${round}`).makeProc({
            path: "/usr/bin/head",
            args: ["-c", String(_STDOUT_BYTES), "/dev/zero"],
            scrub: true,
          });
          let got = 0;
          for await (const chunk of p.stdout) got += chunk.length;
          if (got !== _STDOUT_BYTES) {
            throw new Error(`stdout bench read ${got} bytes, expected ${_STDOUT_BYTES}`);
          }
        });
        return _STDOUT_BYTES / 1e6 / (ms / 1000);
      },
      async chanMsgsPerSec(round, n) {
        const path = `${c.serverAnchor}/bench/chan${round}`;
        await client.walk(path).makeChan(1024);
        const sendChan = await sendClient.walk(path).get() as Chan;
        const recvChan = await recvClient.walk(path).get() as Chan;
        return n / await channelSeconds(sendChan, recvChan, n);
      },
      cliMs: () => timed(() => circuit(["ls", ...hmac, "-d", a.url, "/..."])),
      dialMs: () => timed(async () => (await dial(a.url, { key })).close()),
    });
  });
}

function _median(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Runs `measure` on the unkeyed and the keyed cluster in alternation, `rounds` times each, and
 * returns the two medians: the machine's noise (which moves a figure by up to 2× between minutes
 * here) then falls on both sides alike.
 */
async function _paired(
  plain: _Workloads,
  keyed: _Workloads,
  rounds: number,
  measure: (w: _Workloads, round: number) => Promise<number>,
): Promise<{ plain: number; keyed: number }> {
  const p: number[] = [];
  const k: number[] = [];
  for (let round = 0; round < rounds; round++) {
    p.push(await measure(plain, round));
    k.push(await measure(keyed, round));
  }
  return { plain: _median(p), keyed: _median(k) };
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
    const figures = await _withWorkloads(
      dir,
      undefined,
      (plain) =>
        _withWorkloads(dir, `${dir}/k`, async (keyed) => {
          // Unreported warm-up of both (JIT; the client's TCP receive window grows over the first runs).
          const warmChan = Math.max(1000, Math.round(30000 * SCALE));
          await _paired(plain, keyed, 1, (w) => w.chanMsgsPerSec(-1, warmChan));
          await _paired(plain, keyed, 3, (w, round) => w.stdoutMBps(-1 - round));
          const chanN = Math.max(1000, Math.round(10000 * SCALE));
          const runs = Math.max(5, Math.round(21 * SCALE));
          return {
            stdout: await _paired(plain, keyed, 7, (w, round) => w.stdoutMBps(round)),
            chan: await _paired(plain, keyed, 7, (w, round) => w.chanMsgsPerSec(round, chanN)),
            cli: await _paired(plain, keyed, runs, (w) => w.cliMs()),
            dial: await _paired(plain, keyed, runs * 4, (w) => w.dialMs()),
          };
        }),
    );
    const plain = { stdoutMBps: figures.stdout.plain, chanMsgsPerSec: figures.chan.plain };
    const keyed = { stdoutMBps: figures.stdout.keyed, chanMsgsPerSec: figures.chan.keyed };
    const plainLat = { cliMs: figures.cli.plain, dialMs: figures.dial.plain };
    const keyedLat = { cliMs: figures.cli.keyed, dialMs: figures.dial.keyed };
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
