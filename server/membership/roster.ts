/**
 * The members in a random order: the probe order (SPEC §9.2: round-robin over a shuffled list,
 * reshuffled each pass) and random picks for gossip and indirect probes, from one array per
 * server. Picking k members costs O(k), not a shuffle of the whole view: at 10,000 members a
 * gossip round must not touch every member.
 *
 * @module
 */
import type { Random } from "./seams.ts";

/**
 * A shuffled list of member IDs. Removed members are skipped when met and dropped at the end of
 * each probe pass; `isMember` says who is still in the view.
 *
 * @example
 * ```ts
 * import { Roster } from "./roster.ts";
 * const view = new Set(["X1", "X2", "X3"]);
 * const r = new Roster(Math.random, (id) => view.has(id));
 * for (const id of view) r.add(id);
 * console.log(r.sample(2, "X1").length); // 2
 * ```
 */
export class Roster {
  #ids: string[];
  #next = 0;
  #random: Random;
  #isMember: (id: string) => boolean;

  /** A roster of `ids` (none by default), shuffled. */
  constructor(random: Random, isMember: (id: string) => boolean, ids: Iterable<string> = []) {
    this.#random = random;
    this.#isMember = isMember;
    this.#ids = this.#shuffled([...ids]);
  }

  /** Adds a member that joined the view at a random place, as memberlist does. */
  add(id: string): void {
    this.#ids.push(id);
    const j = Math.floor(this.#random() * this.#ids.length);
    const last = this.#ids.length - 1;
    [this.#ids[j], this.#ids[last]] = [this.#ids[last], this.#ids[j]];
  }

  /** The next member to probe; a pass ends by dropping removed members and reshuffling. */
  next(): string | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.#next < this.#ids.length) {
        const id = this.#ids[this.#next++];
        if (this.#isMember(id)) return id;
      }
      this.#compact();
    }
    return undefined;
  }

  /** Up to `k` distinct random members, never `except`. */
  sample(k: number, except?: string): string[] {
    const n = this.#ids.length;
    const out: string[] = [];
    if (n <= 4 * k) {
      for (const id of this.#shuffled([...new Set(this.#ids)])) {
        if (out.length === k) break;
        if (id !== except && this.#isMember(id)) out.push(id);
      }
      return out;
    }
    // Rejection sampling: removed members are a minority (compacted every pass), so a few
    // tries per pick suffice; the bound keeps a mostly-dead roster from looping.
    for (let tries = 0; tries < 8 * k && out.length < k; tries++) {
      const id = this.#ids[Math.floor(this.#random() * n)];
      if (id !== except && !out.includes(id) && this.#isMember(id)) out.push(id);
    }
    return out;
  }

  #compact(): void {
    this.#ids = this.#shuffled([...new Set(this.#ids)].filter(this.#isMember));
    this.#next = 0;
  }

  #shuffled(xs: string[]): string[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}
