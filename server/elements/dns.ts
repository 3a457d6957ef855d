/**
 * The DNS name server element (SPEC §7.5): an authoritative server for the records set on it,
 * on UDP and TCP.
 *
 * @module
 */
import { CircuitError } from "../../wire/errors.ts";
import { parseListenAddr } from "../address.ts";
import { answerQuery } from "../dns/answer.ts";
import { AnswerCache } from "../dns/answer_cache.ts";
import { DnsListener } from "../dns/listener.ts";
import { parseRecord } from "../dns/record.ts";
import { Zone } from "../dns/zone.ts";
import type { Element, ElementContext } from "./element.ts";

/** What `peek` shows of a name server. */
export interface NameserverStat {
  /** The bound address, e.g. `127.0.0.1:7711`. */
  Address: string;
  /** Owner name → canonical record texts; owners sorted, records in insertion order. */
  Records: Record<string, string[]>;
}

/**
 * A name server bound to one address, answering from the records set on it.
 *
 * @example
 * ```ts
 * import { NameserverElement } from "./dns.ts";
 * const ctx = { path: "/X0123456789abcdef/dns", detachSelf() {}, log: console.error };
 * const ns = await NameserverElement.create("127.0.0.1:0", ctx);
 * ns.set("miek.nl. 3600 IN MX 10 mx.miek.nl.");
 * console.log(ns.peek().Records); // { "miek.nl.": [ "miek.nl.\t3600\tIN\tMX\t10 mx.miek.nl." ] }
 * await ns.scrub();
 * ```
 */
export class NameserverElement implements Element {
  /** Always `"dns"`. */
  readonly kind = "dns" as const;
  #zone: Zone;
  #cache: AnswerCache;
  #listener: DnsListener;

  private constructor(zone: Zone, cache: AnswerCache, listener: DnsListener) {
    this.#zone = zone;
    this.#cache = cache;
    this.#listener = listener;
  }

  /**
   * Binds UDP and TCP on `addr` (`ip:port`), or on `0.0.0.0` and a port free for both when
   * `addr` is absent. Throws a `CircuitError` when binding fails, e.g.
   * `listen udp 127.0.0.1:7711: address already in use`.
   */
  static create(addr: string | undefined, ctx: ElementContext): Promise<NameserverElement> {
    try {
      const { hostname, port } = addr === undefined ? { hostname: "0.0.0.0", port: 0 } : _parseAddr(addr);
      const zone = new Zone();
      const cache = new AnswerCache((q, t) => answerQuery(zone, q, t));
      const listener = DnsListener.bind(hostname, port, (q, t) => cache.answer(q, t), ctx.log);
      return Promise.resolve(new NameserverElement(zone, cache, listener));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The bound address, e.g. `127.0.0.1:7711`. */
  get address(): string {
    return this.#listener.address;
  }

  /**
   * Adds one record in zone-file syntax; an identical record is kept once. Throws
   * `CircuitError("bad resource record: <reason>")` when it does not parse.
   */
  set(rr: string): void {
    try {
      this.#zone.add(parseRecord(rr));
      this.#cache.clear();
    } catch (err) {
      throw new CircuitError(`bad resource record: ${(err as Error).message}`);
    }
  }

  /** Removes every record of owner `name` (any case, trailing dot optional); absent is fine. */
  unset(name: string): void {
    this.#zone.remove(name);
    this.#cache.clear();
  }

  /** `{"Address": …, "Records": {owner: [record, …]}}`. */
  peek(): NameserverStat {
    return { Address: this.#listener.address, Records: this.#zone.snapshot() };
  }

  /** Closes both sockets; the port can be bound again as soon as this resolves. */
  scrub(): Promise<void> {
    return this.#listener.close();
  }

  /** Closes both sockets without waiting; calling it again does nothing. */
  dispose(): void {
    void this.#listener.close();
  }
}

function _parseAddr(addr: string): { hostname: string; port: number } {
  try {
    return parseListenAddr(addr);
  } catch (err) {
    throw new CircuitError((err as Error).message);
  }
}
