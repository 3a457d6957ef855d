/**
 * The server side of discovery (SPEC §9.4): join an IPv4 multicast group, announce this server
 * on a backing-off schedule and then every 30 s for ever, join the servers heard announcing, and
 * answer client probes with a unicast datagram. Needs `--unstable-net`.
 *
 * @module
 */
import {
  decodeDatagram,
  encodeDatagram,
  parseDiscoveryAddr,
  senderTag,
  withSourceHost,
} from "../../client/discover.ts";
import { discoveryKey } from "../../wire/crypto/discovery_mac.ts";

/** The first pause between announcements (SPEC §9.4): servers started together find each other at once. */
const _FIRST_PAUSE_MS = 1_000;

/** Each pause is this much longer than the previous (SPEC §9.4): ten sends cover the first ~50 s. */
const _BACKOFF = 1.4;

/** Announcements on the backing-off schedule (SPEC §9.4). */
const _EARLY_ANNOUNCEMENTS = 10;

/** Then one announcement this often for ever (SPEC §9.4), so split clusters re-merge; cheap: 1 datagram. */
const _STEADY_PAUSE_MS = 30_000;

/** A source sending garbage is logged at most this often (SPEC §9.4), so it cannot flood the log. */
const _MALFORMED_LOG_MS = 60_000;

/** What discovery needs from the server. */
export interface DiscoveryHost {
  /** This server's URL (never a wildcard host, SPEC §3.2). */
  url: string;
  /** The cluster key, if any. */
  key?: Uint8Array;
  /** Address of the `-if` interface to join the group on; the kernel's choice otherwise. */
  iface?: string;
  /** Whether the server at `url` is this one or in the view. */
  knows(url: string): boolean;
  /** Joins the server at `url` (SPEC §9.3). */
  join(url: string): Promise<void>;
  /** Writes a log line. */
  log(message: string): void;
}

/**
 * Running discovery of one server.
 *
 * @example
 * ```ts ignore
 * import { Discovery } from "./multicast.ts";
 * const d = await Discovery.start("228.8.8.8:8822", { url, knows, join, log });
 * d.close();
 * ```
 */
export class Discovery {
  #socket: Deno.DatagramConn;
  #host: DiscoveryHost;
  #group: { hostname: string; port: number };
  #dk: CryptoKey | null;
  #tag = senderTag();
  #joining = new Set<string>();
  #failed = new Set<string>();
  #malformed = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  private constructor(
    socket: Deno.DatagramConn,
    host: DiscoveryHost,
    group: { hostname: string; port: number },
    dk: CryptoKey | null,
  ) {
    this.#socket = socket;
    this.#host = host;
    this.#group = group;
    this.#dk = dk;
  }

  /**
   * Binds the group's port (shared with other servers on this host), joins the group, starts
   * announcing and listening. Throws if the socket cannot be set up.
   */
  static async start(addr: string, host: DiscoveryHost): Promise<Discovery> {
    const group = parseDiscoveryAddr(addr);
    const dk = host.key ? await discoveryKey(host.key) : null;
    // Several servers on one host share the port; loopback delivers each one's datagrams to the others.
    const socket = Deno.listenDatagram({
      hostname: "0.0.0.0",
      port: group.port,
      transport: "udp",
      reuseAddress: true,
      loopback: true,
    });
    try {
      await socket.joinMulticastV4(group.hostname, host.iface ?? "0.0.0.0");
    } catch (err) {
      socket.close();
      throw err;
    }
    const d = new Discovery(socket, host, group, dk);
    d.#listen();
    d.#announce(0, _FIRST_PAUSE_MS);
    return d;
  }

  /** Stops announcing and listening. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }

  async #announce(sent: number, pause: number): Promise<void> {
    if (this.#closed) return;
    await this.#sendTo(this.#group);
    const next = sent + 1 < _EARLY_ANNOUNCEMENTS ? pause * _BACKOFF : _STEADY_PAUSE_MS;
    const wait = sent + 1 < _EARLY_ANNOUNCEMENTS ? pause : _STEADY_PAUSE_MS;
    if (!this.#closed) this.#timer = setTimeout(() => this.#announce(sent + 1, next), wait);
  }

  async #sendTo(to: { hostname: string; port: number }): Promise<void> {
    try {
      const data = await encodeDatagram({ Origin: "server", Addr: this.#host.url }, this.#tag, this.#dk);
      await this.#socket.send(data, { transport: "udp", ...to });
    } catch {
      // No route or socket closed: the next announcement tries again.
    }
  }

  async #listen(): Promise<void> {
    for (;;) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [d, a] = await this.#socket.receive();
        data = d;
        from = a as Deno.NetAddr;
      } catch {
        if (this.#closed) return;
        continue;
      }
      const msg = await decodeDatagram(data, this.#dk);
      if (msg === "ignored") continue;
      if (msg === "malformed") {
        this.#logMalformed(from);
        continue;
      }
      if (msg.Origin === "client") {
        this.#sendTo({ hostname: from.hostname, port: from.port });
        continue;
      }
      this.#consider(withSourceHost(msg.Addr, from.hostname));
    }
  }

  /** Joins an announced server unless it is this one, in the view, or being joined (SPEC §9.4). */
  async #consider(url: string): Promise<void> {
    if (this.#joining.has(url) || this.#host.knows(url)) return;
    this.#joining.add(url);
    try {
      await this.#host.join(url);
      this.#failed.delete(url);
    } catch (err) {
      // Logged once per URL: a server announcing every 30 s must not fill the log.
      if (!this.#failed.has(url)) {
        this.#failed.add(url);
        this.#host.log(`join ${url} failed: ${err instanceof Error ? err.message : err}`);
      }
    } finally {
      this.#joining.delete(url);
    }
  }

  #logMalformed(from: Deno.NetAddr): void {
    const source = `${from.hostname}:${from.port}`;
    const now = Date.now();
    if (now - (this.#malformed.get(source) ?? -Infinity) < _MALFORMED_LOG_MS) return;
    for (const [s, at] of this.#malformed) if (now - at >= _MALFORMED_LOG_MS) this.#malformed.delete(s);
    this.#malformed.set(source, now);
    this.#host.log(`ignored malformed discovery datagram from ${source}`);
  }
}
