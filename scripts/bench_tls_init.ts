/**
 * Where a fresh process's first TLS dial spends its time (issue 12): each figure is measured in a
 * new `deno` process against a warm `Deno.listenTls` server here that serves a cluster leaf.
 *
 * - `rng-init`: the first use of AWS-LC's random generator, with no TLS (an HMAC `generateKey`);
 * - `first startTls`: `Deno.startTls` on a fresh process's connected socket, before any byte is sent;
 * - `handshake`: the `tls.handshake()` that follows;
 * - `startTls + handshake after rng-init`: the same dial once the generator is seeded.
 *
 * Run with `flock /tmp/circuit-bench.lock deno run --allow-all scripts/bench_tls_init.ts`;
 * BENCH_RUNS sets the rounds (the variants interleave, as the machine is noisy).
 *
 * @module
 */
import { deriveClusterCa, issueLeaf } from "../wire/crypto/ca.ts";

/** Rounds per variant: the median of 15 fresh processes is steady to a few ms on a loaded host. */
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "15");

/** The child: seeds the generator first when asked, then dials once and prints its timings. */
const _CHILD = `
const [port, warm] = Deno.args;
const ca = await new Response(Deno.stdin.readable).text();
const t0 = performance.now();
if (warm === "1") await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign"]);
const t1 = performance.now();
const tcp = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
tcp.setNoDelay(true);
const t2 = performance.now();
const tls = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [ca] });
const t3 = performance.now();
await tls.handshake();
const t4 = performance.now();
tls.close();
console.log(JSON.stringify({ rng: t1 - t0, startTls: t3 - t2, handshake: t4 - t3 }));
`;

interface _Times {
  rng: number;
  startTls: number;
  handshake: number;
}

async function _child(file: string, port: number, caPem: string, warm: boolean): Promise<_Times> {
  const child = new Deno.Command("deno", {
    args: ["run", "--allow-net", file, String(port), warm ? "1" : "0"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(caPem));
  await w.close();
  const out = await child.output();
  if (!out.success) throw new Error("the timing child failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function _median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const ca = await deriveClusterCa(crypto.getRandomValues(new Uint8Array(32)));
const leaf = await issueLeaf(ca, { role: "server", name: "server:bench", hosts: ["127.0.0.1"] });
const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: leaf.certPem, key: leaf.keyPem });
const serving = (async () => {
  for await (const conn of listener) conn.handshake().catch(() => {}).finally(() => conn.close());
})();
const file = await Deno.makeTempFile({ suffix: ".ts" });
try {
  await Deno.writeTextFile(file, _CHILD);
  const cold: _Times[] = [];
  const warm: _Times[] = [];
  for (let i = 0; i < RUNS; i++) {
    cold.push(await _child(file, listener.addr.port, ca.certPem, false));
    warm.push(await _child(file, listener.addr.port, ca.certPem, true));
  }
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  console.log(`first TLS dial of a fresh process — ${RUNS} interleaved runs each, medians`);
  console.log(`| measurement | median |\n|---|---|`);
  console.log(`| rng-init (HMAC generateKey, no TLS) | ${ms(_median(warm.map((t) => t.rng)))} |`);
  console.log(`| first startTls (cold process) | ${ms(_median(cold.map((t) => t.startTls)))} |`);
  console.log(`| handshake after it | ${ms(_median(cold.map((t) => t.handshake)))} |`);
  console.log(
    `| startTls + handshake after rng-init | ${ms(_median(warm.map((t) => t.startTls + t.handshake)))} |`,
  );
} finally {
  listener.close();
  await serving.catch(() => {});
  await Deno.remove(file);
}
