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

/** The shared state of one server's membership. */
export interface Context {
  readonly table: MemberTable;
  readonly roster: Roster;
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: MemberTransport;
  /** Stopped (left, or halted by the owner): timers are cancelled, news is ignored. */
  readonly stopped: boolean;
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
