/**
 * The sockets of a name server: UDP and TCP (RFC 7766, 2-byte length framing) on one address,
 * each query handed to an answering function.
 *
 * @module
 */
import { CircuitError } from "../../wire/errors.ts";
import type { Transport } from "./answer.ts";

/**
 * Turns one query message into its response, or `null` to drop it. Must not throw. The query's
 * bytes are reused once it returns, so it must not keep them.
 */
export type Answerer = (query: Uint8Array, transport: Transport) => Uint8Array | null;

/** Bounds on TCP clients. */
export interface TcpLimits {
  /** A connection with no complete query for this long is closed. */
  idleMs: number;
  /** Connections beyond this many at once are closed as soon as they are accepted. */
  maxConnections: number;
}

const DEFAULT_LIMITS: TcpLimits = {
  // RFC 7766 §6.2.3 asks for idle timeouts of seconds, not minutes; dig's own is 10 s, so a
  // client that pauses between queries briefly keeps its connection.
  idleMs: 10_000,
  // Each connection costs a socket and a small buffer; this many cover a busy cluster's
  // resolvers while a flood of idle connections cannot exhaust the server's descriptors.
  maxConnections: 128,
};
// No datagram payload (65507 bytes over IPv4, 65527 over IPv6) nor DNS message (16-bit lengths) is longer.
const UDP_MAX_PAYLOAD = 65535;
// Attempts at finding a port free for both UDP and TCP when any port will do; another process
// taking the UDP port's TCP twin is rare, so a few tries suffice.
const FREE_PORT_ATTEMPTS = 20;

/**
 * A UDP and a TCP socket on the same address, answering DNS queries until closed.
 *
 * @example
 * ```ts
 * import { DnsListener } from "./listener.ts";
 * const listener = DnsListener.bind("127.0.0.1", 0, () => null, console.error);
 * console.log(listener.address); // e.g. "127.0.0.1:40123"
 * await listener.close();
 * ```
 */
export class DnsListener {
  /** The bound address, `ip:port` (`[ip]:port` for IPv6). */
  readonly address: string;
  #udp: Deno.DatagramConn;
  #tcp: Deno.TcpListener;
  #answer: Answerer;
  #limits: TcpLimits;
  #log: (message: string) => void;
  #conns = new Set<Deno.TcpConn>();
  #tasks = new Set<Promise<void>>();
  #closed = false;

  private constructor(
    udp: Deno.DatagramConn,
    tcp: Deno.TcpListener,
    answer: Answerer,
    log: (message: string) => void,
    limits: TcpLimits,
  ) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.#answer = answer;
    this.#limits = limits;
    this.#log = log;
    const { hostname, port } = tcp.addr;
    this.address = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    this.#track(this.#serveUdp());
    this.#track(this.#acceptTcp());
  }

  /**
   * Binds UDP and TCP on `hostname:port`; port 0 picks a port free for both. Throws a
   * `CircuitError` like `listen udp 127.0.0.1:53: address already in use`.
   */
  static bind(
    hostname: string,
    port: number,
    answer: Answerer,
    log: (message: string) => void,
    limits: TcpLimits = DEFAULT_LIMITS,
  ): DnsListener {
    for (let attempt = 1;; attempt++) {
      const udp = _listen(
        "udp",
        hostname,
        port,
        () => Deno.listenDatagram({ hostname, port, transport: "udp" }),
      );
      const udpPort = (udp.addr as Deno.NetAddr).port;
      try {
        const tcp = _listen("tcp", hostname, udpPort, () => Deno.listen({ hostname, port: udpPort }));
        return new DnsListener(udp, tcp, answer, log, limits);
      } catch (err) {
        udp.close();
        if (port !== 0 || attempt >= FREE_PORT_ATTEMPTS) throw err;
      }
    }
  }

  /** Closes both sockets and every TCP connection; resolves once all of them are released. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#udp.close();
      this.#tcp.close();
      for (const conn of this.#conns) _closeQuietly(conn);
    }
    while (this.#tasks.size > 0) await Promise.all(this.#tasks);
  }

  #track(task: Promise<void>): void {
    const done = task.catch((err) => {
      if (!this.#closed) this.#log(`dns ${this.address}: ${err}`);
    }).finally(() => this.#tasks.delete(done));
    this.#tasks.add(done);
  }

  async #serveUdp(): Promise<void> {
    // Without a buffer of its own, every receive() allocates a fresh one of the largest datagram
    // size, which cost more than answering the query. One query is handled at a time and answered
    // from a copy, so one buffer of the largest UDP payload serves them all.
    const buffer = new Uint8Array(UDP_MAX_PAYLOAD);
    while (!this.#closed) {
      let packet: [Uint8Array, Deno.Addr];
      try {
        packet = await this.#udp.receive(buffer);
      } catch (err) {
        if (this.#closed) return;
        // e.g. an ICMP error surfacing on the socket: the socket itself is still good
        this.#log(`dns ${this.address}: udp receive: ${err}`);
        continue;
      }
      const response = this.#safeAnswer(packet[0], "udp");
      if (response === null) continue;
      try {
        await this.#udp.send(response, packet[1]);
      } catch (err) {
        if (this.#closed) return;
        this.#log(`dns ${this.address}: udp send: ${err}`);
      }
    }
  }

  async #acceptTcp(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#tcp.accept();
      } catch (err) {
        if (this.#closed) return;
        this.#log(`dns ${this.address}: tcp accept: ${err}`);
        continue;
      }
      if (this.#closed || this.#conns.size >= this.#limits.maxConnections) {
        _closeQuietly(conn);
        continue;
      }
      this.#conns.add(conn);
      this.#track(
        this.#serveTcp(conn).finally(() => {
          this.#conns.delete(conn);
          _closeQuietly(conn);
        }),
      );
    }
  }

  async #serveTcp(conn: Deno.TcpConn): Promise<void> {
    let idle = setTimeout(() => _closeQuietly(conn), this.#limits.idleMs);
    let pending: Uint8Array = new Uint8Array(0);
    const chunk = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        let n: number | null;
        try {
          n = await conn.read(chunk);
        } catch {
          return; // closed by the idle timer, by close(), or reset by the peer
        }
        if (n === null) return;
        pending = _concat(pending, chunk.subarray(0, n));
        while (pending.length >= 2) {
          const size = (pending[0] << 8) | pending[1];
          if (pending.length < 2 + size) break;
          const response = this.#safeAnswer(pending.subarray(2, 2 + size), "tcp");
          pending = pending.slice(2 + size);
          // RFC 7766 §6.2.4 lets a server close on a message it cannot answer at all
          if (response === null) return;
          const framed = new Uint8Array(2 + response.length);
          framed[0] = response.length >> 8;
          framed[1] = response.length & 0xff;
          framed.set(response, 2);
          try {
            await _writeAll(conn, framed);
          } catch {
            return;
          }
          clearTimeout(idle);
          idle = setTimeout(() => _closeQuietly(conn), this.#limits.idleMs);
        }
      }
    } finally {
      clearTimeout(idle);
    }
  }

  #safeAnswer(query: Uint8Array, transport: Transport): Uint8Array | null {
    try {
      return this.#answer(query, transport);
    } catch (err) {
      this.#log(`dns ${this.address}: answering a ${transport} query failed: ${err}`);
      return null;
    }
  }
}

function _listen<T>(proto: "udp" | "tcp", hostname: string, port: number, open: () => T): T {
  try {
    return open();
  } catch (err) {
    const where = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    throw new CircuitError(`listen ${proto} ${where}: ${_cause(err)}`);
  }
}

function _cause(err: unknown): string {
  if (err instanceof Deno.errors.AddrInUse) return "address already in use";
  if (err instanceof Deno.errors.AddrNotAvailable) return "cannot assign requested address";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/ \(os error \d+\)$/, "").replace(/^./, (c) => c.toLowerCase());
}

function _closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

function _concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function _writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}
