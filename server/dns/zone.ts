/**
 * The records a name server holds, by owner, with what lookups need: the names that exist only
 * because something below them does (empty non-terminals, RFC 8020) and the closest SOA.
 *
 * @module
 */
import { type Labels, nameKey, parseName } from "./name.ts";
import type { ResourceRecord } from "./record.ts";

/**
 * A mutable set of records keyed by lower-case owner name.
 *
 * @example
 * ```ts
 * import { Zone } from "./zone.ts";
 * import { parseRecord } from "./record.ts";
 * const zone = new Zone();
 * zone.add(parseRecord("ex.org. 300 IN A 192.0.2.1"));
 * console.log(zone.snapshot()); // { "ex.org.": [ "ex.org.\t300\tIN\tA\t192.0.2.1" ] }
 * ```
 */
export class Zone {
  #owners = new Map<string, ResourceRecord[]>();
  // key of every proper ancestor of an owner → how many owners lie below it
  #below = new Map<string, number>();

  /** Appends `rr` to its owner's list unless an identical record is there already. */
  add(rr: ResourceRecord): void {
    const list = this.#owners.get(rr.key);
    if (list === undefined) {
      this.#owners.set(rr.key, [rr]);
      for (const key of _ancestorKeys(rr.owner)) this.#below.set(key, (this.#below.get(key) ?? 0) + 1);
    } else if (!list.some((have) => have.text === rr.text)) {
      list.push(rr);
    }
  }

  /**
   * Removes every record of the owner `name` (presentation form, any case, trailing dot
   * optional). A name that is absent or not even valid removes nothing.
   */
  remove(name: string): void {
    let labels: Labels;
    try {
      labels = parseName(name);
    } catch {
      return;
    }
    const list = this.#owners.get(nameKey(labels));
    if (list === undefined) return;
    this.#owners.delete(list[0].key);
    for (const key of _ancestorKeys(list[0].owner)) {
      const n = this.#below.get(key)! - 1;
      if (n === 0) this.#below.delete(key);
      else this.#below.set(key, n);
    }
  }

  /** The records of the owner with lookup key `key`, in insertion order. */
  get(key: string): readonly ResourceRecord[] | undefined {
    return this.#owners.get(key);
  }

  /** Whether the name exists: it owns records or some owner lies below it. */
  exists(key: string): boolean {
    return this.#owners.has(key) || this.#below.has(key);
  }

  /** The first SOA of the closest owner at or above `name` that has one. */
  closestSoa(name: Labels): ResourceRecord | undefined {
    for (let i = 0; i <= name.length; i++) {
      const soa = this.#owners.get(nameKey(name.slice(i)))?.find((rr) => rr.type === "SOA");
      if (soa) return soa;
    }
    return undefined;
  }

  /** Owners sorted by code point, each with its records' canonical texts in insertion order. */
  snapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const key of [...this.#owners.keys()].sort()) out[key] = this.#owners.get(key)!.map((rr) => rr.text);
    return out;
  }
}

function _ancestorKeys(owner: Labels): string[] {
  return owner.map((_, i) => nameKey(owner.slice(i + 1)));
}
