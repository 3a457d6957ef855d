/**
 * Who is on the other end of an accepted connection (SPEC §10.5): the name in the peer's verified
 * certificate and the groups it carries. The hosting server judges every operation by it.
 *
 * @module
 */

/** A party's identity: `anonymous`, `admin`, `server:<worker ID>` or a credential's name. */
export interface Identity {
  /** The identity's name, as the operations log's `Who` and the policy's `who` spell it. */
  readonly name: string;
  /** The credential's groups (`group:<g>` in a policy); empty for every other identity. */
  readonly groups: readonly string[];
}

/** A peer of an unkeyed server: nothing about it was verified. */
export const ANONYMOUS: Identity = { name: "anonymous", groups: [] };

/** A client that proved it holds the cluster key. */
export const ADMIN: Identity = { name: "admin", groups: [] };

/** A server of the cluster, by its worker ID. */
export function serverIdentity(workerId: string): Identity {
  return { name: `server:${workerId}`, groups: [] };
}
