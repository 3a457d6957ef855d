/**
 * Security counters for the metrics endpoint (SPEC §13.4): operations denied by the policy, per
 * capability, and peers refused at the handshake. Read them through `CircuitServer.securityCounters`.
 *
 * @module
 */
import { CAPABILITIES, type Capability } from "./policy.ts";

/**
 * Monotonic counters, as `circuit_denied_total{capability}` and `circuit_rejected_peers_total`.
 *
 * @example
 * ```ts
 * import { SecurityCounters } from "./counters.ts";
 * const c = new SecurityCounters();
 * c.denied("proc");
 * console.log(c.deniedTotal.get("proc"), c.rejectedPeersTotal); // 1 0
 * ```
 */
export class SecurityCounters {
  /** Denials per capability; every capability is present, from 0. */
  readonly deniedTotal: Map<Capability, number> = new Map(CAPABILITIES.map((c) => [c, 0]));
  #rejected = 0;

  /** Counts one denied operation. */
  denied(cap: Capability): void {
    this.deniedTotal.set(cap, (this.deniedTotal.get(cap) ?? 0) + 1);
  }

  /** Counts one peer refused at the handshake. */
  rejectedPeer(): void {
    this.#rejected++;
  }

  /** Peers refused at the handshake since start. */
  get rejectedPeersTotal(): number {
    return this.#rejected;
  }
}
