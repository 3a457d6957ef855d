/**
 * The `stk` dump (SPEC §3): a human-readable state of the daemon, ending with `•••`.
 *
 * @module
 */
import type { Member } from "../wire/ops.ts";

/** What the dump shows, read from the daemon at the moment of the call. */
export interface StackState {
  serverId: string;
  url: string;
  started: Date;
  members: readonly Member[];
  /** Whether this server holds a connection to the member. */
  connected: (id: string) => boolean;
  clients: number;
  peers: number;
  relays: number;
  watchers: number;
  held: number;
  anchors: number;
  /** The kind of every element. */
  kinds: Iterable<string>;
}

/** The text of the dump. */
export function stackDump(s: StackState): string {
  const mem = Deno.memoryUsage();
  const kinds = new Map<string, number>();
  for (const k of s.kinds) kinds.set(k, (kinds.get(k) ?? 0) + 1);
  const lines = [
    `server ${s.serverId} ${s.url}`,
    `uptime ${((Date.now() - s.started.getTime()) / 1000).toFixed(1)}s`,
    `memory rss=${mem.rss} heapUsed=${mem.heapUsed} external=${mem.external}`,
    `members ${s.members.length}`,
    ...s.members.map((m) => `  /${m.Id} ${m.Url}${s.connected(m.Id) ? " connected" : ""}`),
    `client connections ${s.clients}`,
    `peer connections ${s.peers}`,
    `relayed calls ${s.relays}`,
    `watchers ${s.watchers} holding ${s.held} events`,
    `anchors ${s.anchors}`,
    ...[...kinds].sort().map(([k, n]) => `  elements ${k} ${n}`),
    "•••",
  ];
  return lines.join("\n") + "\n";
}
