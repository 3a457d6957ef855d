/**
 * What a server tells its watchers (SPEC §13.1): elements created and scrubbed on its anchors,
 * processes and containers exiting, and members joining, leaving and becoming suspect in its view.
 *
 * @module
 */
import type { IncomingCall } from "../../wire/connection.ts";
import type { Member, WatchEvent } from "../../wire/ops.ts";
import { parseAnchorPath } from "../../wire/path.ts";
import type { Namespace } from "../namespace.ts";
import { openClusterWatch } from "./cluster.ts";
import { under, watchEvent, WatchFeed, watchPrefix } from "./feed.ts";

/** What the feed needs from the daemon. */
export interface ChangeSources {
  readonly selfId: string;
  ns(): Namespace;
  members(): Member[];
  /** Opens `watch /<id>/...` on member `id` on behalf of `who` (the caller, forwarded). */
  openPeer(id: string, url: string, who: unknown, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
}

/** Who is watching: what of this server's anchors they may see, and the identity members judge. */
export interface WatchAccess {
  /** Keeps the paths the caller may read; absent: everything (no policy). */
  visible?: (path: string) => boolean;
  /** The caller's identity as forwarded calls carry it (`Who`). */
  who: unknown;
}

/**
 * The daemon's change feed.
 *
 * @example
 * ```ts ignore
 * import { ChangeFeed } from "./changes.ts";
 * const changes = new ChangeFeed(sources);
 * changes.created("/X0123456789abcdef/a", "chan");
 * ```
 */
export class ChangeFeed {
  #src: ChangeSources;
  #feed = new WatchFeed();

  constructor(src: ChangeSources) {
    this.#src = src;
  }

  /** Number of open watchers. */
  get watchers(): number {
    return this.#feed.size;
  }

  /** Events held in the watchers' queues. */
  get held(): number {
    return this.#feed.held;
  }

  /** An element was attached at `path`; a process or container is then followed to its exit. */
  created(path: string, kind: string): void {
    this.#feed.emit(watchEvent("created", path, kind));
    const element = this.#src.ns().elementAt(parseAnchorPath(path).parts.slice(1))?.element as
      | { wait?(): Promise<unknown> }
      | undefined;
    // A scrubbed process's wait fails ("aborted"): its `scrubbed` event already said it is gone.
    element?.wait?.().then(() => this.#feed.emit(watchEvent("exited", path, kind)), () => {});
  }

  /** An element was detached from `path`. */
  scrubbed(path: string, kind: string): void {
    this.#feed.emit(watchEvent("scrubbed", path, kind));
  }

  /** A membership change in this server's view. */
  member(event: "joined" | "left" | "suspect", id: string): void {
    this.#feed.emit(watchEvent(event, "/" + id, "server"));
  }

  /**
   * Serves a `watch` call on this server's anchors, or (path `/...`) on the whole cluster. Under a
   * policy, `access.visible` keeps what the caller may read (SPEC §10.5), and the members each judge
   * `access.who` for their own anchors.
   */
  async serve(call: IncomingCall, path: string, access: WatchAccess): Promise<void> {
    const prefix = watchPrefix(path);
    const seen = access.visible ?? (() => true);
    const reader = prefix === "/"
      ? openClusterWatch({
        selfId: this.#src.selfId,
        feed: this.#feed,
        members: this.#src.members,
        localSnapshot: () => this.#snapshot("/" + this.#src.selfId).filter((ev) => seen(ev.Path)),
        visible: seen,
        openPeer: (id, url, signal) => this.#src.openPeer(id, url, access.who, signal),
      })
      : this.#feed.open({
        snapshot: () => this.#snapshot(prefix).filter((ev) => seen(ev.Path)),
        // Membership events come from the dialed server only: a server-side view is not an anchor's change.
        accept: (ev) => ev.Kind !== "server" && under(prefix, ev.Path) && seen(ev.Path),
      });
    try {
      await call.serveOutput(reader);
    } finally {
      reader.release();
    }
    call.reply(null);
  }

  #snapshot(prefix: string): WatchEvent[] {
    const parts = parseAnchorPath(prefix).parts;
    const ns = this.#src.ns();
    const out: WatchEvent[] = [];
    const here = ns.elementAt(parts.slice(1));
    if (parts.length > 1 && here) out.push(watchEvent("exists", prefix, here.element.kind));
    for (const e of ns.list(parts.slice(1), true, false)) {
      if (e.Kind !== null) out.push(watchEvent("exists", e.Path, e.Kind));
    }
    return out;
  }
}
