/**
 * Handles on name-server elements (SPEC §7.5, §8).
 *
 * @module
 */
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { _Handle } from "./handle.ts";

/**
 * A DNS name server element: authoritative answers over UDP and TCP for the records set on it.
 *
 * @example
 * ```ts ignore
 * const ns = await client.walk(`/${client.serverId}/dns`).makeNameserver("127.0.0.1:0");
 * await ns.set("www.example.org. 60 IN A 192.0.2.1");
 * console.log((await ns.peek()).address); // where to send queries
 * ```
 */
export class Nameserver extends _Handle {
  /** Always `"dns"`. */
  readonly kind = "dns" as const;

  /**
   * Adds a resource record in zone-file syntax.
   *
   * @example
   * ```ts ignore
   * await ns.set("ex.org. 300 IN A 192.0.2.1");
   * ```
   */
  async set(rr: string): Promise<void> {
    await this._conn.call("set", { ...this._target, Record: rr }, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * Removes every record of a name.
   *
   * @example
   * ```ts ignore
   * await ns.unset("ex.org");
   * ```
   */
  async unset(name: string): Promise<void> {
    await this._conn.call("unset", { ...this._target, Name: name }, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * The bound address and the records by owner name.
   *
   * @example
   * ```ts ignore
   * console.log((await ns.peek()).address);
   * ```
   */
  async peek(): Promise<{ address: string; records: Record<string, string[]> }> {
    const r = await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS }) as {
      Address: string;
      Records: Record<string, string[]>;
    };
    return { address: r.Address, records: r.Records };
  }
}
