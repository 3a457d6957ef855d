/**
 * `client.servers({ select })` (SPEC §15.1): the members of the dialed server's view with their
 * host names and tags, filtered by a selector.
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";
import { matches, parseSelector } from "../wire/select.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";

/**
 * One member of the cluster as {@linkcode Client.servers} returns it.
 *
 * @example
 * ```ts ignore
 * for (const s of await client.servers({ select: "role=web" })) console.log(s.host, s.anchor);
 * ```
 */
export interface ServerInfo {
  /** The server anchor, `/X…`. */
  anchor: string;
  /** The server's circuit URL. */
  addr: string;
  /** Its OS host name. */
  host: string;
  /** Its `-tag` pairs. */
  tags: Record<string, string>;
  /** `alive`, or `suspect` while the failure detector doubts it. */
  state: "alive" | "suspect";
}

/** The members of the view that `select` matches (absent or `all`: every one), sorted by ID. */
export async function listServers(conn: Connection, select?: string): Promise<ServerInfo[]> {
  const sel = parseSelector(select ?? "all");
  const view = await conn.call("view", {}, { timeoutMs: CALL_TIMEOUT_MS });
  return view
    .map((m) => ({ anchor: "/" + m.Id, addr: m.Url, host: m.Host ?? "", tags: m.Tags ?? {}, state: m.State }))
    .filter((s) => matches(sel, { id: s.anchor.slice(1), host: s.host, tags: s.tags }));
}
