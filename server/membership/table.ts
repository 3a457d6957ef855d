/**
 * The SWIM member table of one server (SPEC §9.1, §9.2): who is alive or suspect, at which
 * incarnation, and the members remembered after they died or left. Pure state: it applies updates
 * by the (incarnation, state) order and says what changed; timers and messages live elsewhere.
 *
 * @module
 */
import type { MemberUpdate } from "../../wire/ops.ts";

/** A member of the view (immutable: {@link MemberTable.apply} replaces it on a change). */
export interface Entry {
  readonly url: string;
  readonly inc: number;
  readonly state: "alive" | "suspect";
  /** Host name and encoded tags, as its `alive` update said (SPEC §15.1). */
  readonly meta: Meta;
}

/** A member's host name and tags in their wire form (`k=v` lines, "" when none). */
export interface Meta {
  readonly host: string;
  readonly tags: string;
}

/** No host name and no tags (one shared object: entries never change it). */
export const NO_META: Meta = Object.freeze({ host: "", tags: "" });

/**
 * A member removed from the view: dead (its URL is retried, SPEC §9.2) or left (never retried).
 * Immutable like {@link Entry}: the simulator starts the two halves of a partition with shared tombs.
 */
export interface Tomb {
  readonly url: string;
  readonly inc: number;
  readonly state: "dead" | "left";
  /** When it was removed (ms since the epoch); tombs expire after a day. */
  readonly at: number;
  /** False once a retry met another process at its URL. */
  readonly retry: boolean;
}

/** What applying one update did. */
export type Outcome =
  /** Nothing: old news. */
  | "none"
  /** A new member entered the view. */
  | "joined"
  /** A member left the view. */
  | "removed"
  /** A member became suspect (start its suspicion timer). */
  | "suspected"
  /** A member refuted suspicion or raised its incarnation (stop its timer). */
  | "refreshed"
  /** Someone suspects or buried this server: it raised its incarnation and must say so. */
  | "refuted"
  /** Only the tomb changed (a dead member turned out to have left, or a new tomb). */
  | "buried";

const _STATES = new Set(["alive", "suspect", "dead", "left"]);

/**
 * Member table with SWIM's ordering rules.
 *
 * @example
 * ```ts
 * import { MemberTable } from "./table.ts";
 * const t = new MemberTable("X0000000000000001", "circuit://127.0.0.1:1/1/Q0000000000000001");
 * t.apply({ Id: "X0000000000000002", Url: "circuit://127.0.0.1:2/2/Q0000000000000002", Inc: 0, State: "alive" });
 * console.log(t.members.size); // 1
 * ```
 */
export class MemberTable {
  /** This server's ID. */
  readonly selfId: string;
  /** This server's URL. */
  readonly selfUrl: string;
  /** This server's incarnation. */
  selfInc = 0;
  /** Whether this server has left (it then says so about itself). */
  selfLeft = false;
  /** This server's host name and tags. */
  readonly selfMeta: Meta;
  /** The other members of the view. */
  readonly members: Map<string, Entry>;
  /** Members removed from the view. */
  readonly tombs: Map<string, Tomb> = new Map();

  /** A table holding this server and the members of `known` (a view to start from). */
  constructor(selfId: string, selfUrl: string, selfMeta: Meta = NO_META, known?: ReadonlyMap<string, Entry>) {
    this.selfId = selfId;
    this.selfUrl = selfUrl;
    this.selfMeta = selfMeta;
    // One copy of the whole map: the simulator starts 10,000 tables from 10,000-member views.
    this.members = new Map(known);
    this.members.delete(selfId);
  }

  /** The update that describes this server. */
  self(): MemberUpdate {
    if (this.selfLeft) return { Id: this.selfId, Url: this.selfUrl, Inc: this.selfInc, State: "left" };
    return _withMeta(
      { Id: this.selfId, Url: this.selfUrl, Inc: this.selfInc, State: "alive" },
      this.selfMeta,
    );
  }

  /** The update that describes member `id` (in view or buried), if known. */
  about(id: string): MemberUpdate | undefined {
    if (id === this.selfId) return this.self();
    const m = this.members.get(id);
    if (m) return _withMeta({ Id: id, Url: m.url, Inc: m.inc, State: m.state }, m.meta);
    const t = this.tombs.get(id);
    return t && { Id: id, Url: t.url, Inc: t.inc, State: t.state };
  }

  /**
   * Applies an update heard from another server. With `fromState` (a push-pull's full state), a
   * remote `dead` only makes a live member suspect, as memberlist does: one server's verdict from
   * an old partition must not bury a member this side still hears from; it gets a chance to refute.
   */
  apply(u: MemberUpdate, fromState = false): Outcome {
    if (u.Id === this.selfId) return this.#aboutSelf(u);
    const state = fromState && u.State === "dead" ? "suspect" : u.State;
    const entry = this.members.get(u.Id);
    if (entry) {
      // Entries are replaced, never changed in place: one entry may sit in many tables (the
      // simulator starts 10,000 views from one converged view, docs/SCALE.md).
      if (state === "alive") {
        if (u.Inc <= entry.inc) return "none";
        const meta = u.Host !== undefined ? _metaOf(u) : entry.meta;
        this.members.set(u.Id, { ...entry, inc: u.Inc, state: "alive", meta });
        return "refreshed";
      }
      if (state === "suspect") {
        if (u.Inc < entry.inc || (u.Inc === entry.inc && entry.state === "suspect")) return "none";
        this.members.set(u.Id, { ...entry, inc: u.Inc, state: "suspect" });
        return "suspected";
      }
      if (u.Inc < entry.inc) return "none";
      this.bury(u.Id, u.Inc, state);
      return "removed";
    }
    const tomb = this.tombs.get(u.Id);
    if (tomb) {
      // Only the member itself can bring itself back, by outbidding the incarnation it died with.
      if (state === "alive" && u.Inc > tomb.inc) {
        this.tombs.delete(u.Id);
        this.members.set(u.Id, { url: u.Url, inc: u.Inc, state: "alive", meta: _metaOf(u) });
        return "joined";
      }
      if (state === "left" && tomb.state === "dead" && u.Inc >= tomb.inc) {
        this.tombs.set(u.Id, { ...tomb, state: "left", inc: u.Inc, retry: false });
        return "buried";
      }
      return "none";
    }
    if (state === "alive") {
      this.members.set(u.Id, { url: u.Url, inc: u.Inc, state: "alive", meta: _metaOf(u) });
      return "joined";
    }
    if (state === "dead" || state === "left") {
      // Remembered so that a stale `alive` still on its way cannot bring it back.
      this.tombs.set(u.Id, { url: u.Url, inc: u.Inc, state, at: Date.now(), retry: state === "dead" });
      return "buried";
    }
    // A suspect nobody told us was alive: if it lives it will refute, and that `alive` adds it.
    return "none";
  }

  /** Removes member `id` from the view, remembering it as dead or left at incarnation `inc`. */
  bury(id: string, inc: number, state: "dead" | "left"): void {
    const entry = this.members.get(id);
    if (!entry) return;
    this.members.delete(id);
    this.tombs.set(id, { url: entry.url, inc, state, at: Date.now(), retry: state === "dead" });
  }

  /** The full state for a push-pull: this server, the view, and up to `maxTombs` newest tombs. */
  state(maxTombs: number): MemberUpdate[] {
    const out = [this.self()];
    for (const id of this.members.keys()) out.push(this.about(id)!);
    const tombs = [...this.tombs].sort((a, b) => b[1].at - a[1].at).slice(0, maxTombs);
    for (const [id, t] of tombs) out.push({ Id: id, Url: t.url, Inc: t.inc, State: t.state });
    return out;
  }

  /** Stops retrying member `id`'s URL: another process answers there now. */
  forgetUrl(id: string): void {
    const tomb = this.tombs.get(id);
    if (tomb) this.tombs.set(id, { ...tomb, retry: false });
  }

  /** Forgets tombs older than `ageMs`. */
  expire(ageMs: number): void {
    const limit = Date.now() - ageMs;
    for (const [id, t] of this.tombs) if (t.at < limit) this.tombs.delete(id);
  }

  #aboutSelf(u: MemberUpdate): Outcome {
    if (this.selfLeft || u.State === "alive" || u.Inc < this.selfInc) return "none";
    this.selfInc = u.Inc + 1;
    return "refuted";
  }
}

/** Host and tags travel with `alive` only: every other state is about a member already known. */
function _withMeta(u: MemberUpdate, meta: Meta): MemberUpdate {
  if (u.State !== "alive") return u;
  if (meta.host !== "") u.Host = meta.host;
  if (meta.tags !== "") u.Tags = meta.tags;
  return u;
}

function _metaOf(u: MemberUpdate): Meta {
  return { host: u.Host ?? "", tags: u.Tags ?? "" };
}

/**
 * Encodes tags for the wire: `k=v` joined by newlines (no tag holds one: keys are
 * `[a-z0-9._-]`, values printable), "" when none.
 *
 * @example
 * ```ts
 * import { decodeTags, encodeTags } from "./table.ts";
 * console.log(decodeTags(encodeTags({ role: "web", dc: "ams" }))); // { role: "web", dc: "ams" }
 * ```
 */
export function encodeTags(tags: Record<string, string>): string {
  return Object.entries(tags).map(([k, v]) => `${k}=${v}`).join("\n");
}

/** The inverse of {@link encodeTags}; malformed lines (from a peer) are skipped. */
export function decodeTags(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === "") return out;
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/**
 * Whether `u` is a well-formed update (messages from peers are untrusted input).
 *
 * @example
 * ```ts
 * import { isUpdate } from "./table.ts";
 * console.log(isUpdate({ Id: "X1", Url: "u", Inc: 0, State: "alive" })); // true
 * ```
 */
export function isUpdate(u: unknown): u is MemberUpdate {
  if (typeof u !== "object" || u === null) return false;
  const m = u as Record<string, unknown>;
  return typeof m.Id === "string" && typeof m.Url === "string" && Number.isSafeInteger(m.Inc) &&
    (m.Inc as number) >= 0 && typeof m.State === "string" && _STATES.has(m.State) &&
    (m.Host === undefined || typeof m.Host === "string") &&
    (m.Tags === undefined || typeof m.Tags === "string");
}
