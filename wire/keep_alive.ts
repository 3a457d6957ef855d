/**
 * The keep-alive of a connection (SPEC §11.9): an idle connection is pinged, and one that has
 * heard nothing for three intervals is dead.
 *
 * @module
 */
import { every } from "./deadlines.ts";

/** An idle connection is pinged this often (SPEC §11.9). */
const _PING_INTERVAL_MS = 5_000;

/** Timer jitter allowance, so a connection idle for "almost" an interval is still pinged. */
const _PING_SLACK_MS = 250;

/** A connection with no frame at all for this long is dead (three missed pings). */
const _IDLE_LIMIT_MS = 15_000;

/** What the keep-alive reads of its connection and does to it. */
export interface KeepAliveTarget {
  /** When a frame was last received (Date.now()). */
  lastReceived(): number;
  /** When a frame was last sent (Date.now()). */
  lastSent(): number;
  ping(): void;
  /** The peer is gone. */
  dead(): void;
}

/** Starts the keep-alive of `target`; returns its stop. */
export function keepAlive(target: KeepAliveTarget): () => void {
  return every(_PING_INTERVAL_MS, () => {
    const now = Date.now();
    if (now - target.lastReceived() > _IDLE_LIMIT_MS) target.dead();
    // Only an idle connection needs a ping: any frame proves this side alive to the peer.
    else if (now - target.lastSent() >= _PING_INTERVAL_MS - _PING_SLACK_MS) target.ping();
  });
}
