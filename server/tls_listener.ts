/**
 * The keyed server's TLS 1.3 listener, on `node:tls` rather than `Deno.listenTls` (SPEC §10.1):
 * measured in Deno 2.9.6, `Deno.listenTls` cannot refuse TLS 1.2 (it has no version option) and
 * closing one of its connections during a stalled handshake cancels the handshake but leaves the
 * TCP socket open for good, so a silent peer would hold a descriptor forever. `node:tls` takes
 * `minVersion` and `destroy()` closes the socket. Only the server imports it: `node:` modules
 * cost the CLI tens of milliseconds at start.
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { ByteConn } from "../wire/transport.ts";

/** Bytes buffered from a connection before it is paused: enough for a few 64 KiB frames in flight. */
const _READ_HIGH_WATER = 1024 * 1024;

/** An accepted TLS connection, as the server's accept path reads and writes it. */
export interface AcceptedTls extends ByteConn {
  readonly remoteAddr: Deno.NetAddr;
  /** Resolves once the TLS handshake completed; rejects with the TLS stack's error. */
  handshake(): Promise<void>;
}

class _NodeTlsConn implements AcceptedTls {
  readonly remoteAddr: Deno.NetAddr;
  #sock: tls.TLSSocket;
  #raw: net.Socket;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #secure: Promise<void>;

  constructor(raw: net.Socket, opts: tls.TlsOptions) {
    this.#raw = raw;
    raw.setNoDelay(true);
    this.remoteAddr = {
      transport: "tcp",
      hostname: (raw.remoteAddress ?? "").replace(/^::ffff:/, ""),
      port: raw.remotePort ?? 0,
    };
    const sock = new tls.TLSSocket(raw, { ...opts, isServer: true });
    this.#sock = sock;
    this.#secure = new Promise((resolve, reject) => {
      sock.once("secure", () => resolve());
      sock.once("error", reject);
      sock.once("close", () => reject(new Error("connection closed during TLS handshake")));
    });
    this.#secure.catch(() => {});
    sock.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued > _READ_HIGH_WATER) sock.pause();
      this.#notify();
    });
    sock.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    sock.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    sock.on("error", (err: Error) => {
      this.#error ??= err;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  handshake(): Promise<void> {
    return this.#secure;
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const head = this.#chunks[0];
      const take = Math.min(head.length, p.length - n);
      p.set(head.subarray(0, take), n);
      n += take;
      if (take === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(take);
    }
    this.#queued -= n;
    if (this.#queued <= _READ_HIGH_WATER / 2 && this.#sock.isPaused()) this.#sock.resume();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    // Not copied: node's callback runs once the bytes are handed to the TLS stream, and the
    // caller reuses its buffer only after that. (A copy per write cost as much CPU as the
    // encryption itself here: every fresh 64 KiB is sixteen page faults.)
    return new Promise((resolve, reject) => {
      this.#sock.write(p, (err?: Error | null) => (err ? reject(err) : resolve(p.length)));
    });
  }

  close(): void {
    this.#sock.destroy();
    this.#raw.destroy();
  }
}

/** A listening TLS 1.3 server socket; iterate it for connections, as a `Deno.Listener`. */
export class TlsListener implements AsyncIterable<AcceptedTls> {
  readonly addr: Deno.NetAddr;
  #server: net.Server;
  #pending: AcceptedTls[] = [];
  #closed = false;
  #wake: (() => void) | null = null;

  private constructor(server: net.Server, addr: Deno.NetAddr, opts: tls.TlsOptions) {
    this.#server = server;
    this.addr = addr;
    server.on("connection", (raw: net.Socket) => {
      this.#pending.push(new _NodeTlsConn(raw, opts));
      this.#notify();
    });
    server.on("close", () => {
      this.#closed = true;
      this.#notify();
    });
  }

  /**
   * Listens at `hostname:port` with the server's leaf (`cert`, `key`, PEM), TLS 1.3 only. Throws
   * `Deno.errors.AddrInUse` when the address is taken, as `Deno.listen` does.
   */
  static async listen(hostname: string, port: number, cert: string, key: string): Promise<TlsListener> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once(
        "error",
        (err: Error & { code?: string }) =>
          reject(err.code === "EADDRINUSE" ? new Deno.errors.AddrInUse(err.message) : err),
      );
      server.listen(port, hostname, () => resolve());
    });
    const a = server.address() as net.AddressInfo;
    return new TlsListener(server, { transport: "tcp", hostname: a.address, port: a.port }, {
      cert,
      key,
      minVersion: "TLSv1.3",
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AcceptedTls> {
    for (;;) {
      while (this.#pending.length > 0) yield this.#pending.shift()!;
      if (this.#closed) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Stops accepting; connections already accepted stay open. */
  close(): void {
    this.#closed = true;
    this.#server.close();
    this.#notify();
  }
}
