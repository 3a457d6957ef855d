/**
 * What the parts of the protocol (probe.ts, suspicion.ts, gossip.ts, push_pull.ts) share: the
 * member table, the seams to the world, and the few operations one part asks of another.
 * membership.ts builds it and wires the parts together.
 *
 * @module
 */
import type { MemberUpdate } from "../../wire/ops.ts";
import type { Roster } from "./roster.ts";
import type { Clock, MemberTransport, Random } from "./seams.ts";
import type { MemberTable, Outcome } from "./table.ts";

/**
 * How probes ended so far (SPEC §13.4 `circuit_swim_probes_total{result}`). A type, not an
 * interface, so the metrics can read it as a `Record<string, number>`.
 */
export type ProbeCounts = {
  /** A direct ack. */
  ack: number;
  /** An ack after the indirect probes began: from a helper, or late from the member. */
  indirect_ack: number;
  /** No ack: the member became suspect. */
  timeout: number;
  /** Proof of death (refused, or another process at its URL): declared dead at once. */
  refused: number;
  /** This server's own timer fired late, so the probe proved nothing (Lifeguard). */
  self_stalled: number;
};

/** The shared state of one server's membership. */
export interface Context {
  readonly table: MemberTable;
  readonly roster: Roster;
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: MemberTransport;
  /** Stopped (left, or halted by the owner): timers are cancelled, news is ignored. */
  readonly stopped: boolean;
  /** Probe outcomes, counted by probe.ts; plain fields, so counting costs the probe loop nothing. */
  readonly probes: ProbeCounts;
  /** Lifeguard's local health: 0 when this server keeps up, up to MAX_AWARENESS when it lags. */
  readonly awareness: number;
  /** Resolves after `ms`, or at once when the server stops, so no timer outlives it. */
  sleep(ms: number): Promise<void>;
  /** This server kept up (an ack arrived in time): relax the local health multiplier. */
  healthier(): void;
  /** This server was too slow to judge others: probe less eagerly for a while. */
  slower(): void;
  /** Applies one update: fires events, starts or stops suspicions, queues what is news. */
  learn(u: MemberUpdate, fromState: boolean): Outcome;
  /** Applies every well-formed update of an untrusted list. */
  learnAll(updates: unknown, fromState: boolean): void;
  /** Updates to piggyback on the next probe or ack. */
  piggyback(): MemberUpdate[];
  /** Sends `updates` to member `id` in a gossip message, learning from its answer. */
  send(id: string, updates: MemberUpdate[]): void;
}
