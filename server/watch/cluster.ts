/**
 * The cluster-wide watch (`watch /...`, SPEC §13.1): the dialed server merges its own feed (its
 * anchors and its view of the membership) with one `watch` stream per other member, opened over
 * the peer connections and followed as members join and leave.
 *
 * @module
 */
import type { Member, WatchEvent } from "../../wire/ops.ts";
import { type Watcher, watchEvent, type WatchFeed } from "./feed.ts";

/** A member's stream that failed while it is still in the view is opened again after this. */
const _PEER_RETRY_MS = 1_000;

/** What the merge needs from the daemon. */
export interface ClusterSources {
  readonly selfId: string;
  readonly feed: WatchFeed;
  /** The dialed server's view. */
  members(): Member[];
  /** This server's own elements as `exists` events. */
  localSnapshot(): WatchEvent[];
  /** Whether the caller may see this server's anchor `path` (its own events are filtered by it). */
  visible(path: string): boolean;
  /** Opens `watch /<id>/...` on member `id`. */
  openPeer(id: string, url: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
}

/**
 * Opens a watcher of the whole cluster on the dialed server.
 *
 * @example
 * ```ts ignore
 * import { openClusterWatch } from "./cluster.ts";
 * await call.serveOutput(openClusterWatch(sources));
 * ```
 */
export function openClusterWatch(src: ClusterSources): Watcher {
  const peers = new Map<string, AbortController>();
  const startPeer = (id: string) => {
    const url = src.members().find((m) => m.Id === id)?.Url;
    if (id === src.selfId || peers.has(id) || url === undefined) return;
    const ctl = new AbortController();
    peers.set(id, ctl);
    _follow(id, url, ctl.signal, src, (ev) => watcher.push(ev));
  };
  const stopPeer = (id: string) => {
    peers.get(id)?.abort();
    peers.delete(id);
  };
  const watcher: Watcher = src.feed.open({
    snapshot: () => {
      // A fresh start, after an overflow too: each member's stream begins with its own snapshot.
      for (const id of [...peers.keys()]) stopPeer(id);
      const members = src.members();
      queueMicrotask(() => {
        if (!watcher.closed) { for (const m of members) startPeer(m.Id); }
      });
      return [...members.map((m) => watchEvent("exists", "/" + m.Id, "server")), ...src.localSnapshot()];
    },
    accept: (ev) => {
      if (ev.Kind === "server" && ev.Event === "joined") startPeer(ev.Path.slice(1));
      if (ev.Kind === "server" && ev.Event === "left") stopPeer(ev.Path.slice(1));
      return ev.Kind === "server" || src.visible(ev.Path);
    },
    closed: () => {
      for (const id of [...peers.keys()]) stopPeer(id);
    },
  });
  return watcher;
}

async function _follow(
  id: string,
  url: string,
  signal: AbortSignal,
  src: ClusterSources,
  push: (line: string) => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const stream = await src.openPeer(id, url, signal);
      let rest = "";
      for await (const text of stream.pipeThrough(new TextDecoderStream(), { signal })) {
        const lines = (rest + text).split("\n");
        rest = lines.pop()!;
        // A member's lines are element events only: passed on as they are, not decoded and encoded again.
        for (const line of lines) if (line !== "" && !signal.aborted) push(line);
      }
    } catch {
      // The member went away or the stream failed: retried below while it is still in the view.
    }
    if (signal.aborted || !src.members().some((m) => m.Id === id)) return;
    await new Promise((r) => setTimeout(r, _PEER_RETRY_MS));
  }
}
