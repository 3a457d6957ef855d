/**
 * Membership at scale, by simulation (SPEC §14, docs/SCALE.md): runs the real membership code of
 * server/membership/ for N simulated servers in one process (engine in scripts/sim/), injects
 * faults in phases and prints the figures as a table; with `--out DIR` it also writes the
 * convergence plots (SVG) and the figures (JSON) there.
 *
 *   deno run --allow-read --allow-write --allow-sys=loadavg --v8-flags=--max-old-space-size=12000 scripts/simulate.ts \
 *     [--sizes 100,1000,10000] [--loss-ms 30000] [--churn-ms 60000] [--partition-max-n N]
 *     [--losses 0,1,5,20] [--merge-sizes 1000,2000] [--out docs/scale]
 *
 * `--merge-sizes` also heals, at each size, a cluster that starts as two halves which buried each
 * other (SimCluster's split start), without simulating the split itself.
 *
 * 10,000 members need ~6 GB of heap (10⁸ view entries), hence the V8 flag.
 *
 * @module
 */
import { type Figures, measure, measureMerge, type MergeFigures } from "./sim/figures.ts";
import { plot } from "./sim/svg.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

/** A list of cluster sizes (`--sizes`, `--merge-sizes`); "" is none. */
function sizesArg(name: string, fallback: string): number[] {
  const sizes = arg(name, fallback).split(",").filter((x) => x !== "").map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 4)) {
    console.error(`simulate: --${name} wants integers ≥ 4, got ${arg(name, "")}`);
    Deno.exit(1);
  }
  return sizes;
}

/** Progress of the simulation of `n` members on stderr, after each phase. */
function progress(n: number): (phase: string, c: { now: number }) => void {
  const wall0 = performance.now();
  return (phase, c) =>
    console.error(
      `  N=${n} ${phase.padEnd(12)} virtual ${(c.now / 1000).toFixed(0).padStart(4)} s` +
        `  wall ${((performance.now() - wall0) / 1000).toFixed(0).padStart(4)} s`,
    );
}

const sizes = sizesArg("sizes", "100,1000,10000");
const lossMs = Number(arg("loss-ms", "30000"));
/** Packet loss levels in percent, one phase each. */
const losses = arg("losses", "0,1,5,20").split(",").map(Number);
if (losses.some((p) => !(p >= 0 && p < 100))) {
  console.error(`simulate: --losses wants percentages in [0, 100), got ${arg("losses", "")}`);
  Deno.exit(1);
}
const churnMs = Number(arg("churn-ms", "60000"));
/** Larger clusters skip the partition (see docs/SCALE.md: its gossip storm costs O(N² log N) messages). */
const partitionMaxN = Number(arg("partition-max-n", "1000000"));
const out = arg("out", "");
const mergeSizes = sizesArg("merge-sizes", "");

const results: Figures[] = [];
for (const n of sizes) {
  const f = await measure({
    n,
    // Small clusters accumulate few member-hours per virtual minute: give them longer phases.
    lossMs: Math.max(lossMs, (lossMs * 1_000) / n),
    losses: losses.map((percent) => percent / 100),
    churnMs,
    churnShare: 0.01,
    partitionMs: n <= partitionMaxN ? 30_000 : 0,
    mergeMaxMs: 120_000,
    progress: progress(n),
  });
  results.push(f);
}

const merges: MergeFigures[] = [];
for (const n of mergeSizes) {
  merges.push(await measureMerge(n, { apartMs: 5_000, maxMs: 120_000, progress: progress(n) }));
}

const notRunOr = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : "not run");
const ms = (v: number | undefined) => (v === undefined ? "not reached" : `${(v / 1000).toFixed(2)} s`);
const rows: [string, (f: Figures) => string][] = [
  ["new member in 50 % of views", (f) => ms(f.join.p50)],
  ["new member in 99 % of views", (f) => ms(f.join.p99)],
  ["new member in 100 % of views", (f) => ms(f.join.p100)],
  ["crashed member out of 99 % of views", (f) => ms(f.crash.p99)],
  ["crashed member out of 100 % of views", (f) => ms(f.crash.p100)],
  ...["0%", "1%", "5%", "20%"].map((l): [string, (f: Figures) => string] => [
    `false removals per member-hour, ${l} loss`,
    (f) => notRunOr(f.falseRemovals[l] ?? NaN, 3),
  ]),
  ["halves re-merged after healing", (f) => (f.partitioned ? ms(f.mergeMs) : "not run")],
  ["idle: messages / member / s", (f) => f.idle.messages.toFixed(1)],
  ["idle: bytes / member / s", (f) => f.idle.bytes.toFixed(0)],
  ["churn 1 %/min: messages / member / s", (f) => notRunOr(f.churn.messages, 1)],
  ["churn 1 %/min: bytes / member / s", (f) => notRunOr(f.churn.bytes, 0)],
  ["messages over the 1 MiB frame limit", (f) => String(f.oversized)],
  ["virtual time simulated", (f) => `${(f.virtualMs / 1000).toFixed(0)} s`],
  ["simulator wall time", (f) => `${(f.wallMs / 1000).toFixed(0)} s`],
];
if (results.length > 0) {
  console.log(`| figure | ${results.map((f) => `N = ${f.n.toLocaleString("en")}`).join(" | ")} |`);
  console.log(`|---|${results.map(() => "---:").join("|")}|`);
  for (const [label, cell] of rows) console.log(`| ${label} | ${results.map(cell).join(" | ")} |`);
}
if (merges.length > 0) {
  const mergeRows: [string, (f: MergeFigures) => string][] = [
    ["halves re-merged after healing", (f) => ms(f.mergeMs)],
    ["messages / member / s until merged", (f) => f.traffic.messages.toFixed(0)],
    ["bytes / member / s until merged", (f) => f.traffic.bytes.toFixed(0)],
    ["messages over the 1 MiB frame limit", (f) => String(f.oversized)],
    ["simulator wall time", (f) => `${(f.wallMs / 1000).toFixed(0)} s`],
  ];
  console.log(`\n| split start | ${merges.map((f) => `N = ${f.n.toLocaleString("en")}`).join(" | ")} |`);
  console.log(`|---|${merges.map(() => "---:").join("|")}|`);
  for (const [label, cell] of mergeRows) console.log(`| ${label} | ${merges.map(cell).join(" | ")} |`);
}
let load = "unknown (needs --allow-sys=loadavg)";
try {
  load = Deno.loadavg().map((x) => x.toFixed(1)).join(" ");
} catch {
  // without the permission the table is still worth printing
}
console.log(`\nload average at the end: ${load} (${navigator.hardwareConcurrency} cores)`);

if (out) {
  await Deno.mkdir(out, { recursive: true });
  const series = (pick: (f: Figures) => [number, number][]) =>
    results.map((f) => ({ label: `N = ${f.n.toLocaleString("en")}`, curve: pick(f) }));
  await Deno.writeTextFile(
    `${out}/join.svg`,
    plot(
      "A new member: share of views holding it",
      "virtual time since its join",
      series((f) => f.curves.join),
    ),
  );
  await Deno.writeTextFile(
    `${out}/crash.svg`,
    plot(
      "A crashed member: share of views still holding it",
      "virtual time since the crash",
      series((f) => f.curves.crash),
    ),
  );
  await Deno.writeTextFile(
    `${out}/merge.svg`,
    plot(
      "Healed partition: share of (viewer, member) pairs known",
      "virtual time since the heal",
      series((f) => f.curves.merge),
    ),
  );
  const figures = results.map(({ curves: _, ...f }) => f);
  await Deno.writeTextFile(`${out}/figures.json`, JSON.stringify(figures, null, 2) + "\n");
  if (merges.length > 0) {
    await Deno.writeTextFile(
      `${out}/merge_split.svg`,
      plot(
        "Two halves that buried each other, healed: share of (viewer, member) pairs known",
        "virtual time since the heal",
        merges.map((f) => ({ label: `N = ${f.n.toLocaleString("en")}`, curve: f.curve })),
      ),
    );
    const rows = merges.map(({ curve: _, ...f }) => f);
    await Deno.writeTextFile(`${out}/merges.json`, JSON.stringify(rows, null, 2) + "\n");
  }
}
