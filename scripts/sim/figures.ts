/**
 * The figures of docs/SCALE.md, measured on one simulated cluster in phases: idle traffic, a
 * join, a crash, false removals at 0 %, 1 %, 5 % and 20 % loss, churn, and a partition into two
 * halves that then heals. Each phase starts from the state the last one left.
 *
 * @module
 */
import { type Curve, SimCluster, timeTo } from "./cluster.ts";

/** What one run measures; times are virtual ms (undefined: not reached within the phase). */
export interface Figures {
  n: number;
  join: { p50?: number; p99?: number; p100?: number };
  crash: { p99?: number; p100?: number };
  /** False removals per member-hour, by packet loss. */
  falseRemovals: Record<string, number>;
  /** Whether the partition phase ran. */
  partitioned: boolean;
  /** Until every live view holds every live member again, after the partition healed. */
  mergeMs?: number;
  /** Per member per second. */
  idle: { messages: number; bytes: number };
  churn: { messages: number; bytes: number; perMinute: number };
  /** Messages over the 1 MiB frame limit (full states of very large clusters). */
  oversized: number;
  virtualMs: number;
  wallMs: number;
  events: number;
  curves: { join: Curve; crash: Curve; merge: Curve };
}

/** How long each phase runs. */
export interface Plan {
  n: number;
  seed?: number;
  /** Virtual ms per loss level. */
  lossMs: number;
  losses: number[];
  /** Virtual ms of churn, and the share of members replaced per minute. */
  churnMs: number;
  churnShare: number;
  /** Virtual ms the halves stay apart (long enough for each to declare the other dead); 0: no partition. */
  partitionMs: number;
  /** Give up waiting for a merge after this long. */
  mergeMaxMs: number;
  /** Called after each phase (progress on stderr). */
  progress?: (phase: string, c: SimCluster) => void;
}

/** Runs every phase of `plan` and returns the figures. */
export async function measure(plan: Plan): Promise<Figures> {
  const wall0 = performance.now();
  const c = new SimCluster(plan.n, { seed: plan.seed });
  const note = (phase: string) => plan.progress?.(phase, c);
  note("built");
  await c.run(5_000);

  c.resetCounts();
  await c.run(20_000);
  const idle = c.traffic(20_000);
  note("idle");

  const newcomer = c.add();
  c.watch(newcomer);
  const t0 = c.now;
  await c.until(() => c.share(newcomer) >= 1, 30_000);
  const join = {
    p50: timeTo(c.curve(newcomer), t0, 0.5, true),
    p99: timeTo(c.curve(newcomer), t0, 0.99, true),
    p100: timeTo(c.curve(newcomer), t0, 1, true),
  };
  note("join");

  const victim = c.pick().id;
  c.watch(victim);
  c.crash(victim);
  const t1 = c.now;
  await c.until(() => c.share(victim) <= 0, 60_000);
  const crash = {
    p99: timeTo(c.curve(victim), t1, 0.01, false),
    p100: timeTo(c.curve(victim), t1, 0, false),
  };
  note("crash");

  const falseRemovals: Record<string, number> = {};
  for (const loss of plan.losses) {
    c.net.faults.loss = loss;
    c.resetCounts();
    await c.run(plan.lossMs);
    falseRemovals[`${loss * 100}%`] = c.falseRemovals / (c.live().length * plan.lossMs / 3_600_000);
    note(`loss ${loss * 100}%`);
  }
  c.net.faults.loss = 0;
  await c.run(15_000);

  // Churn: every so often one random member crashes and a new one joins in its place.
  const everyMs = 60_000 / (plan.churnShare * plan.n);
  c.resetCounts();
  const churnStart = c.now;
  while (c.now - churnStart < plan.churnMs) {
    c.crash(c.pick().id);
    c.add();
    await c.run(everyMs);
  }
  const churn = { ...c.traffic(c.now - churnStart), perMinute: plan.churnShare };
  // Long enough for every crashed member to leave every view before the partition.
  await c.run(30_000);
  note("churn");

  const merge: Curve = [];
  let mergeMs: number | undefined;
  if (plan.partitionMs > 0) {
    const side = new Map(c.live().map((p, i) => [p.id, i % 2]));
    c.partition((id) => side.get(id) ?? 0);
    await c.run(plan.partitionMs);
    note("partitioned");
    c.heal();
    const t2 = c.now;
    const sample = () => {
      merge.push([c.now - t2, c.completeness()]);
      return c.completeness() >= 1;
    };
    mergeMs = await c.until(sample, plan.mergeMaxMs, 250);
    note("merged");
  }

  return {
    n: plan.n,
    join,
    crash,
    falseRemovals,
    partitioned: plan.partitionMs > 0,
    mergeMs,
    idle,
    churn,
    oversized: c.net.oversized,
    virtualMs: c.now,
    wallMs: performance.now() - wall0,
    events: c.engine.events,
    curves: {
      join: c.curve(newcomer).map(([t, s]) => [t - t0, s]),
      crash: c.curve(victim).map(([t, s]) => [t - t1, s]),
      merge,
    },
  };
}

/** What healing a partition of two halves costs, from a start where each half buried the other. */
export interface MergeFigures {
  n: number;
  /** Until every live view holds every live member (undefined: not within the limit). */
  mergeMs?: number;
  /** Per member per second, from the heal until merged. */
  traffic: { messages: number; bytes: number };
  curve: Curve;
  oversized: number;
  wallMs: number;
  events: number;
}

/**
 * Two halves of `n / 2` members, each view holding the other half dead (SimCluster's split
 * start), healed after `apartMs` (retries into the other half fail meanwhile): the time until
 * every view is whole again, sampled every 250 ms, and the traffic that takes.
 */
export async function measureMerge(
  n: number,
  opts: { seed?: number; apartMs: number; maxMs: number; progress?: (phase: string, c: SimCluster) => void },
): Promise<MergeFigures> {
  const wall0 = performance.now();
  const c = new SimCluster(n, { seed: opts.seed, split: true });
  opts.progress?.("split", c);
  await c.run(opts.apartMs);
  c.heal();
  c.resetCounts();
  const t0 = c.now;
  const curve: Curve = [];
  const sample = () => {
    curve.push([c.now - t0, c.completeness()]);
    return c.completeness() >= 1;
  };
  const mergeMs = await c.until(sample, opts.maxMs, 250);
  opts.progress?.("merged", c);
  return {
    n,
    mergeMs,
    traffic: c.traffic(c.now - t0),
    curve,
    oversized: c.net.oversized,
    wallMs: performance.now() - wall0,
    events: c.engine.events,
  };
}
