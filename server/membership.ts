/**
 * Cluster membership, full-mesh edition: every server keeps a connection to every member and
 * exchanges full views (push-pull) when it joins or learns of new members. A member whose
 * connection breaks and cannot be re-dialed leaves the view; one that shuts down gracefully
 * says so. (SWIM-style failure detection replaces this in the cluster issue.)
 *
 * @module
 */
import type { IncomingCall } from "../client/connection.ts";
import type { Member } from "../client/ops.ts";
import type { Peers } from "./peers.ts";

/** After a peer connection breaks, wait this long before re-dialing, so a restart race settles. */
const _REDIAL_DELAY_MS = 100;

/** Receives changes of the view. */
export interface MembershipEvents {
  joined(id: string, url: string): void;
  left(id: string, url: string): void;
}

/**
 * The view of one server.
 *
 * @example
 * ```ts ignore
 * import { Membership } from "./membership.ts";
 * const m = new Membership({ Id: "X2dfc77bb3455a9e5", Url: myUrl }, peers, events);
 * await m.join(otherUrl);
 * ```
 */
export class Membership {
  #self: Member;
  #peers: Peers;
  #events: MembershipEvents;
  #members = new Map<string, string>();
  #departed = new Set<string>();
  #stopped = false;

  /** Starts a singleton view holding only `self`. */
  constructor(self: Member, peers: Peers, events: MembershipEvents) {
    this.#self = self;
    this.#peers = peers;
    this.#events = events;
    this.#members.set(self.Id, self.Url);
    peers.onClosed((id) => this.#onPeerLost(id));
  }

  /** The view, sorted by server ID, this server included. */
  view(): Member[] {
    return [...this.#members].map(([Id, Url]) => ({ Id, Url })).sort((a, b) => (a.Id < b.Id ? -1 : 1));
  }

  /** The URL of member `id`, if it is in the view. */
  urlOf(id: string): string | undefined {
    return this.#members.get(id);
  }

  /** Merges with the cluster of the server at `url`. Throws the dial's or call's error. */
  async join(url: string): Promise<void> {
    const conn = await this.#peers.dial(url);
    if (conn.serverId === this.#self.Id) return;
    const theirs = await conn.call("pushpull", { Members: this.view() }, { timeoutMs: 10_000 });
    this.#merge(theirs);
  }

  /** Serves a membership operation from a peer server; false if `call` is not one. */
  serve(call: IncomingCall): boolean {
    const args = call.args as Record<string, unknown> | null;
    if (call.op === "pushpull") {
      const members = Array.isArray(args?.Members) ? args.Members as Member[] : [];
      this.#merge(members);
      call.reply(this.view());
      return true;
    }
    if (call.op === "leave") {
      const id = typeof args?.Id === "string" ? args.Id : "";
      this.#departed.add(id);
      this.#remove(id);
      call.reply(null);
      return true;
    }
    return false;
  }

  #merge(members: Member[]): void {
    if (this.#stopped) return;
    for (const m of members) {
      if (!m || typeof m.Id !== "string" || typeof m.Url !== "string") continue;
      if (m.Id === this.#self.Id || this.#members.has(m.Id) || this.#departed.has(m.Id)) continue;
      this.#members.set(m.Id, m.Url);
      this.#events.joined(m.Id, m.Url);
      this.#introduce(m);
    }
  }

  /** Connects to a new member and pushes our view, so it learns of us and we watch it. */
  async #introduce(m: Member): Promise<void> {
    try {
      const conn = await this.#peers.connect(m.Id, m.Url);
      const theirs = await conn.call("pushpull", { Members: this.view() }, { timeoutMs: 10_000 });
      this.#merge(theirs);
    } catch {
      this.#remove(m.Id);
    }
  }

  async #onPeerLost(id: string): Promise<void> {
    const url = this.#members.get(id);
    if (!url || this.#stopped) return;
    await new Promise((r) => setTimeout(r, _REDIAL_DELAY_MS));
    if (!this.#members.has(id) || this.#stopped) return;
    try {
      await this.#peers.connect(id, url);
    } catch {
      this.#remove(id);
    }
  }

  #remove(id: string): void {
    const url = this.#members.get(id);
    if (url === undefined || id === this.#self.Id) return;
    this.#members.delete(id);
    this.#events.left(id, url);
  }

  /** Tells every member this server leaves, then stops reacting to the cluster. */
  async leave(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled(this.#peers.all().map((c) =>
      c.call("leave", { Id: this.#self.Id }, { timeoutMs: 500 })
    ));
  }
}
