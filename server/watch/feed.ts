/**
 * The change feed of one server (SPEC §13.1): the events of its own anchors and of its view of
 * the membership, handed to each watcher as newline-separated JSON through an output stream.
 * Each watcher holds at most {@link WATCH_QUEUE_LIMIT} events; one that falls further behind
 * gets a single `overflow` event and a fresh `exists` snapshot instead, so a watcher that never
 * reads costs the server a bounded amount of memory.
 *
 * @module
 */
import type { WatchEvent } from "../../wire/ops.ts";
import { parseAnchorPath } from "../../wire/path.ts";
import type { AckedReader } from "../../wire/streams.ts";

/** SPEC §13.1: a watcher more than this many events behind is sent `overflow` and a snapshot. */
export const WATCH_QUEUE_LIMIT = 10_000;

/**
 * A watcher's first pending event waits this long for others before it is encoded and sent: a
 * burst (a process's created, exited and scrubbed; a busy cluster's hundreds a second) then costs
 * one frame, and one wake-up of each relay after it (the dialed server, the console), instead of
 * one each; and the encoding runs after the call that made the event has answered, not ahead of
 * its reply. 25 ms: at most 40 frames a second per watcher, still well under what a person
 * watching notices.
 */
const _COALESCE_MS = 25;

const _encoder = new TextEncoder();

/** An event stamped now. */
export function watchEvent(event: WatchEvent["Event"], path: string, kind: string | null): WatchEvent {
  return { Time: new Date().toISOString(), Event: event, Path: path, Kind: kind };
}

/** Whether `path` lies at or below the watched `prefix` (`/` is everything). */
export function under(prefix: string, path: string): boolean {
  return prefix === "/" || path === prefix || path.startsWith(prefix + "/");
}

/** The prefix a watch path names: `/X…/jobs/...` and `/X…/jobs` both watch `/X…/jobs` and below. */
export function watchPrefix(path: string): string {
  return "/" + parseAnchorPath(path).parts.join("/");
}

/** How a watcher is set up. */
export interface WatcherInit {
  /** The current state under the prefix, as `exists` events (also after an overflow). */
  snapshot(): WatchEvent[];
  /** Takes only events for which this is true. */
  accept(ev: WatchEvent): boolean;
  /** Called once when the watcher goes away. */
  closed?(): void;
  /** Events held before the watcher overflows. */
  limit?: number;
}

/**
 * One watcher: an {@link AckedReader} of JSON lines. Acknowledgement means nothing here: a
 * change feed is not replayed to the next watcher, which starts from a snapshot of its own.
 *
 * @example
 * ```ts
 * import { Watcher, watchEvent } from "./feed.ts";
 * const w = new Watcher({ snapshot: () => [], accept: () => true });
 * w.push(watchEvent("created", "/X0123456789abcdef/a", "chan"));
 * console.log(new TextDecoder().decode((await w.read(65536))!));
 * ```
 */
export class Watcher implements AckedReader {
  #init: WatcherInit;
  #limit: number;
  // Events, or lines already encoded by another server (a member's feed merged into `/...`).
  #queue: (WatchEvent | string)[] = [];
  #pending: Uint8Array = new Uint8Array(0);
  // Set by an overflow: events are dropped until the next read sends `overflow` and a snapshot,
  // which reflects them anyway.
  #overflowed = false;
  #started = false;
  #closed = false;
  #wake: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(init: WatcherInit) {
    this.#init = init;
    this.#limit = init.limit ?? WATCH_QUEUE_LIMIT;
  }

  /** Events queued and not yet encoded (for tests of the bound). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Whether the watcher was released. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Offers one event; the watcher keeps it if it accepts it and has room. A string is a JSON line
   * already encoded (without its newline) that is taken as is.
   */
  push(ev: WatchEvent | string): void {
    if (this.#closed || this.#overflowed || (typeof ev !== "string" && !this.#init.accept(ev))) return;
    if (this.#queue.length >= this.#limit) {
      this.#queue = [];
      this.#overflowed = true;
    } else {
      this.#queue.push(ev);
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#wakeReader();
    }, _COALESCE_MS);
  }

  #wakeReader(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async read(max: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    if (!this.#started) {
      this.#started = true;
      this.#queue = [...this.#init.snapshot(), ...this.#queue];
    }
    while (this.#pending.length === 0) {
      if (this.#closed) return null;
      if (this.#overflowed) {
        this.#overflowed = false;
        this.#queue = [watchEvent("overflow", "/", null), ...this.#init.snapshot()];
      }
      if (this.#queue.length > 0) {
        // Up to about `max` bytes of whole lines at once: one wire frame per burst, not per event.
        const lines: string[] = [];
        let size = 0;
        while (this.#queue.length > 0 && size < max) {
          const ev = this.#queue.shift()!;
          const line = (typeof ev === "string" ? ev : JSON.stringify(ev)) + "\n";
          lines.push(line);
          size += line.length;
        }
        this.#pending = _encoder.encode(lines.join(""));
        break;
      }
      await new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => reject(signal!.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
      });
    }
    const out = this.#pending.subarray(0, max);
    this.#pending = this.#pending.subarray(out.length);
    return out;
  }

  ack(_n: number): void {}

  ackEnd(): void {
    this.release();
  }

  /** The watcher went away: it takes no more events. */
  release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#init.closed?.();
    this.#wakeReader();
  }
}

/**
 * The server's feed: every change is emitted once and offered to each open watcher.
 *
 * @example
 * ```ts
 * import { WatchFeed, watchEvent } from "./feed.ts";
 * const feed = new WatchFeed();
 * const w = feed.open({ snapshot: () => [], accept: () => true });
 * feed.emit(watchEvent("scrubbed", "/X0123456789abcdef/a", "proc"));
 * console.log(w.queued); // 1
 * ```
 */
export class WatchFeed {
  #watchers = new Set<Watcher>();

  /** Offers `ev` to every watcher. */
  emit(ev: WatchEvent): void {
    for (const w of this.#watchers) w.push(ev);
  }

  /** Opens a watcher; it leaves the feed when released. */
  open(init: WatcherInit): Watcher {
    const w: Watcher = new Watcher({
      ...init,
      closed: () => {
        this.#watchers.delete(w);
        init.closed?.();
      },
    });
    this.#watchers.add(w);
    return w;
  }

  /** Number of open watchers. */
  get size(): number {
    return this.#watchers.size;
  }

  /** Events held in all watchers' queues (what the bound of SPEC §13.1 limits). */
  get held(): number {
    let n = 0;
    for (const w of this.#watchers) n += w.queued;
    return n;
  }
}
