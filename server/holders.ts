/**
 * Which connection holds what (SPEC §6.2): every connection gets a number that prefixes the
 * holders of the anchors it keeps, and the servers its calls were forwarded to are remembered,
 * so that when it closes its anchors here are released and those servers are told to release theirs.
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";

/**
 * Holder numbers of connections and where their calls were forwarded.
 *
 * @example
 * ```ts ignore
 * const holders = new Holders();
 * const key = holders.keyOf(conn); // 1
 * holders.forwarded(conn, "X0123456789abcdef");
 * console.log(holders.forget(conn)); // { key: 1, forwardedTo: Set { "X0123456789abcdef" } }
 * ```
 */
export class Holders {
  #keys = new WeakMap<Connection, number>();
  #next = 1;
  #forwardedTo = new Map<Connection, Set<string>>();

  /** The connection's holder number, given at its first use. */
  keyOf(conn: Connection): number {
    let k = this.#keys.get(conn);
    if (k === undefined) this.#keys.set(conn, k = this.#next++);
    return k;
  }

  /** Remembers that a call of `conn` was forwarded to server `id`. */
  forwarded(conn: Connection, id: string): void {
    let set = this.#forwardedTo.get(conn);
    if (!set) this.#forwardedTo.set(conn, set = new Set());
    set.add(id);
  }

  /** A closed connection's number and the servers its calls went to; forgets the latter. */
  forget(conn: Connection): { key: number; forwardedTo: ReadonlySet<string> } {
    const forwardedTo = this.#forwardedTo.get(conn) ?? new Set<string>();
    this.#forwardedTo.delete(conn);
    return { key: this.keyOf(conn), forwardedTo };
  }
}
