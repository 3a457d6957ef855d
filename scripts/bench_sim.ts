/**
 * The `sim` section of `deno task bench`: the membership simulator (scripts/simulate.ts) at the
 * sizes in BENCH_SIM_SIZES (default 10000) and the split-start merge at BENCH_SIM_MERGE_SIZES
 * (default 1000; empty for none), in a child process with the heap 10,000 views need,
 * its figures as rows against issue 16's targets (docs/SCALE.md).
 *
 * @module
 */
import type { Figures, MergeFigures } from "./sim/figures.ts";

/** Heap for 10,000 simulated views (~6 GB measured) with room for the gossip of a partition. */
const HEAP_MB = 14_000;

/** Runs the simulator at each size; rows of (measurement, result, target). */
export async function benchSim(sizes: number[]): Promise<[string, string, string][]> {
  const out = await Deno.makeTempDir({ prefix: "circuit-sim-" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--v8-flags=--max-old-space-size=${HEAP_MB}`,
        "--allow-read",
        "--allow-write",
        "--allow-sys=loadavg",
        new URL("./simulate.ts", import.meta.url).pathname,
        "--sizes",
        sizes.join(","),
        // Shorter phases than docs/SCALE.md's run: 10,000 members give 28 member-hours per 10 s.
        "--loss-ms",
        "10000",
        "--churn-ms",
        "30000",
        "--partition-max-n",
        Deno.env.get("BENCH_SIM_PARTITION_MAX_N") ?? "1000",
        "--merge-sizes",
        Deno.env.get("BENCH_SIM_MERGE_SIZES") ?? "1000",
        "--out",
        out,
      ],
      stdout: "inherit",
      stderr: "inherit",
    });
    const { code } = await child.output();
    if (code !== 0) throw new Error(`simulate.ts exited with ${code}`);
    const figures: Omit<Figures, "curves">[] = JSON.parse(await Deno.readTextFile(`${out}/figures.json`));
    const s = (ms: number | undefined) => (ms === undefined ? "not reached" : `${(ms / 1000).toFixed(2)} s`);
    const merges: Omit<MergeFigures, "curve">[] = await Deno.readTextFile(`${out}/merges.json`).then(
      JSON.parse,
      () => [],
    );
    const mergeRows = merges.map((f): [string, string, string] => [
      `sim N=${f.n}: split start, halves re-merged after healing`,
      s(f.mergeMs),
      "≤ 60 s at 10,000",
    ]);
    return figures.flatMap((f): [string, string, string][] => {
      const at = `sim N=${f.n}`;
      return [
        [`${at}: new member in 100 % of views`, s(f.join.p100), "≤ 3 s at 10,000"],
        [`${at}: crashed member out of 100 % of views`, s(f.crash.p100), "≤ 15 s at 10,000"],
        [`${at}: false removals / member-hour at 5 % loss`, (f.falseRemovals["5%"] ?? NaN).toFixed(3), "0"],
        [`${at}: idle bytes / member / s`, f.idle.bytes.toFixed(0), "≤ 5000, flat in N"],
        [`${at}: halves re-merged after healing`, f.partitioned ? s(f.mergeMs) : "not run", "≤ 60 s"],
        [
          `${at}: wall time for ${(f.virtualMs / 1000).toFixed(0)} virtual s`,
          s(f.wallMs),
          "10 virtual min < 10 min",
        ],
      ];
    }).concat(mergeRows);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}
