/**
 * Every tuning constant of the membership protocol (SPEC §9.2), each with why it has its value,
 * and the few that scale with the cluster size N. docs/SCALE.md shows what they give at 100,
 * 1,000 and 10,000 members.
 *
 * @module
 */

/**
 * One probe per interval (SPEC §9.2 default). With N members each is probed about once per
 * interval by someone, so a hung server is first suspected within ~1 interval on average; shorter
 * would multiply idle traffic for little gain since the suspicion timeout dominates detection.
 */
export const PROBE_INTERVAL_MS = 500;

/**
 * A direct ping gets this long before indirect probes start (SPEC §9.2 default): round trips on a
 * LAN are well under 1 ms, so 250 ms only expires for a hung, partitioned or badly starved peer,
 * and it leaves half the interval for the indirect probes.
 */
export const PROBE_TIMEOUT_MS = 250;

/**
 * A probe waits this long for any ack (direct or indirect) before the member becomes suspect:
 * one and a half probe intervals, not one, because peers talk over TCP, where a lost packet is
 * not lost but late by the retransmission timeout (200 ms on Linux, doubling). At 20 % packet loss
 * one round trip in three is 200 ms late and one in 25 is 600 ms late; with a deadline of one
 * interval ~2 % of probes suspected a live member and the refutations flooded the cluster, while
 * 750 ms lets a once-delayed ack and the indirect probes through (docs/SCALE.md). Not longer: it
 * adds to the detection time of a hung server (SPEC §9.2 bounds SIGSTOP removal at 5 s for 50).
 * The next probe does not wait for this one: probes overlap by at most one.
 */
export const PROBE_DEADLINE_MS = 1.5 * PROBE_INTERVAL_MS;

/** Indirect probes per failed ping (SPEC §9.2 k = 3): one slow helper cannot cause a suspicion. */
export const INDIRECT_PROBES = 3;

/**
 * Suspicion lasts at least this × max(1, log10 N) (SPEC §9.2): long enough for a suspect that is
 * only slow (GC, loaded CPU) to hear of it and refute through gossip, which needs O(log N) hops.
 */
export const SUSPICION_MS = 2_000;

/** Each update is sent 3 × ⌈log2(N+1)⌉ times (SPEC §9.2): enough for epidemic spread to reach all N w.h.p. */
export const RETRANSMIT_MULT = 3;

/** Full-state exchange with one random member at least this often in small clusters (SPEC §9.2). */
export const PUSH_PULL_MS = 10_000;

/**
 * Above this many members the push-pull interval grows with log2 N (memberlist's pushPullScale):
 * a full state grows linearly with N, and a real cluster of 50 must stay under 2 KB/s per server
 * counting TCP/IP headers (docs/BENCHMARKS.md).
 */
export const PUSH_PULL_SCALE_THRESHOLD = 32;

/**
 * Bytes per second one server may spend on push-pull when idle. A full state is ~100 bytes per
 * member and each server sends about two per interval (its own and one answer), so once the log
 * scaling above is not enough the interval grows linearly with N: idle traffic then stays flat in
 * N (issue 16: at most 5 KB/s per member in all; probes take ~0.2 KB/s of it).
 */
export const PUSH_PULL_BUDGET_BYTES_PER_S = 2_000;

/** Estimated size of one member in a full state (msgpack of Id, Url, Inc, State; docs/SCALE.md). */
export const STATE_BYTES_PER_MEMBER = 100;

/**
 * Members declared dead are retried this often (SPEC §9.2), so partitions heal with no operator.
 * One random tomb per turn (as Serf's reconnect does), not all of them: after a partition of a
 * large cluster every server holds thousands of tombs, and a full-state exchange with each every
 * 10 s would cost megabytes per second.
 */
export const PAST_PEER_RETRY_MS = 10_000;

/** …and remembered this long (SPEC §9.2): a partition longer than a day needs an operator anyway. */
export const PAST_PEER_KEEP_MS = 24 * 60 * 60 * 1_000;

/**
 * New updates are pushed at once to this many random members, then every gossip interval while
 * any are left (memberlist's gossip fan-out): with fan-out 3 news reaches 50 servers in ~4 hops,
 * i.e. milliseconds on a LAN, where piggybacking alone would need several probe intervals.
 */
export const GOSSIP_FANOUT = 3;

/** Pace of gossip rounds while updates remain to be sent (memberlist's default). */
export const GOSSIP_INTERVAL_MS = 200;

/** Updates piggybacked on one probe or ack: keeps probes small (~100 bytes per update). */
export const MAX_PIGGYBACK = 16;

/** Updates in one gossip message: a merge of two clusters can queue one per member. */
export const MAX_GOSSIP = 64;

/**
 * Tombs carried in a push-pull, newest first: enough to tell members buried on one side of a
 * partition that they must refute, without letting a day of churn bloat every exchange.
 */
export const MAX_TOMBS_IN_STATE = 128;

/**
 * A timer that fires this much later than asked means this server's own event loop stalled
 * (loaded CPU, SIGSTOP, GC): the missing ack proves nothing about the peer then (Lifeguard).
 */
export const LAG_TOLERANCE_MS = 100;

/**
 * Ceiling of the local health multiplier (Lifeguard's awareness, memberlist's default): a
 * server that finds itself slow stretches its probe interval and timeout up to 9×.
 */
export const MAX_AWARENESS = 8;

/** A graceful leave tells every member within this time; shutdown must not wait longer (SPEC §9.2: 1 s). */
export const LEAVE_TIMEOUT_MS = 500;

/**
 * A push-pull page's size: half the wire's 1 MiB frame limit (SPEC §11), leaving room for the
 * call's envelope. A full state is ~100 bytes a member without tags, so a cluster of 5,000 fits one
 * page; one of 10,000, or of 1,000 carrying ~20 tags each, needs a few.
 */
export const PUSH_PULL_PAGE_BYTES = 512 * 1024;

/**
 * Pages one push-pull may take: 128 MiB of state, ~40,000 members with a dozen tags each. It
 * also ends an exchange with a peer that would claim to have more forever.
 */
export const MAX_PUSH_PULL_PAGES = 256;

/** Push-pull and gossip calls: generous, they run in the background and carry full states. */
export const EXCHANGE_TIMEOUT_MS = 10_000;

/**
 * At most one push-pull per this interval with a server we count as dead or unknown (SPEC §9.2),
 * whoever it is with: after a partition heals every server hears from hundreds of strangers, and
 * one full state from any of them brings what all of them would.
 */
export const STRANGER_PUSH_PULL_MS = 1_000;

/**
 * Bytes per second one server may spend on those push-pulls: in a large cluster a full state is
 * megabytes (1.9 MB both ways at 10,000 members), so the interval grows linearly with N past ~250
 * members, as the periodic push-pull's does (docs/SCALE.md: the merge of two halves).
 */
export const STRANGER_BUDGET_BYTES_PER_S = 50_000;

/** Retransmissions of each update in a cluster of `n` members (SPEC §9.2). */
export function retransmitLimit(n: number): number {
  return RETRANSMIT_MULT * Math.ceil(Math.log2(n + 1));
}

/** The suspicion timeout in a cluster of `n` members (SPEC §9.2). */
export function suspicionMs(n: number): number {
  return SUSPICION_MS * Math.max(1, Math.log10(n));
}

/**
 * The push-pull interval in a cluster of `n` members: 10 s up to 32 members, then log-scaled (20 s
 * at 50, 30 s at 100), then linear once that would exceed the byte budget (100 s at 1,000,
 * 1,000 s at 10,000).
 */
export function pushPullMs(n: number): number {
  const scale = n <= PUSH_PULL_SCALE_THRESHOLD ? 1 : Math.ceil(Math.log2(n / PUSH_PULL_SCALE_THRESHOLD)) + 1;
  const bytes = 2 * n * STATE_BYTES_PER_MEMBER;
  return Math.max(PUSH_PULL_MS * scale, (bytes / PUSH_PULL_BUDGET_BYTES_PER_S) * 1_000);
}

/** The interval between push-pulls with strangers in a cluster of `n` members: 1 s, 4 s at 1,000, 40 s at 10,000. */
export function strangerPushPullMs(n: number): number {
  const bytes = 2 * n * STATE_BYTES_PER_MEMBER;
  return Math.max(STRANGER_PUSH_PULL_MS, (bytes / STRANGER_BUDGET_BYTES_PER_S) * 1_000);
}
