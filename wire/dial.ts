/**
 * Dialing a server: TCP connect (TLS 1.3 with a key, verifying the server's certificate against
 * the cluster CA), handshake, then a running {@link Connection}.
 *
 * @module
 */
import type { CallObserver } from "./call_observer.ts";
import { Connection, type IncomingCall } from "./connection.ts";
import { CircuitError, ConnectionError } from "./errors.ts";
import { dialHandshake } from "./handshake.ts";
import { FrameTransport } from "./transport.ts";
import { parseCircuitUrl } from "./url.ts";
import { after } from "./deadlines.ts";
import { clusterCa, dialerTlsCause } from "./tls/cluster.ts";
import type { Credential } from "./crypto/credential.ts";
import type { OperatorPki } from "./crypto/operator_pki.ts";
import { serverIdentity } from "./identity.ts";

/** Connect plus handshake must finish within this time (SPEC §4.6). */
export const DIAL_TIMEOUT_MS = 5_000;

/** Options of {@link connect}. */
export interface DialOptions {
  /** The cluster key; absent for an unkeyed cluster. */
  key?: Uint8Array;
  /** A client credential instead of the key (SPEC §10.5); its CA verifies the server. */
  credential?: Credential;
  /** @internal A server's operator PKI (SPEC §10.1), `credential` being its certificate. */
  pki?: OperatorPki;
  /** Aborting gives up the dial. */
  signal?: AbortSignal;
  /** @internal Set by servers dialing peers: their own URL and call handler. */
  asServer?: {
    url: string;
    id: string;
    onCall: (call: IncomingCall) => void;
    /** Learns how the calls served on this connection end (server metrics). */
    observer?: CallObserver | null;
  };
}

/**
 * Connects to the server at a circuit URL. Throws `CircuitError` for a malformed URL and
 * `ConnectionError` with the specification's cause texts for everything else.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./dial.ts";
 * const conn = await connect("circuit://127.0.0.1:4000/812/Q0de74570a61e9688");
 * console.log(conn.serverId);
 * conn.close();
 * ```
 */
export async function connect(url: string, opts: DialOptions = {}): Promise<Connection> {
  const conn = await _open(url, opts, false);
  await conn.welcomed;
  return conn;
}

/**
 * Connects like {@link connect}, but without a key returns as soon as the socket is open, with
 * the hello held back until the caller's first call joins it: both leave in one write, a round
 * trip sooner (the server reads the call only once it has accepted the hello). The caller must
 * make a call at once. `welcomed` on the result rejects with the `ConnectionError` of a failed
 * handshake, which also fails the calls. With a key it returns after the TLS handshake and the
 * key proofs inside it.
 *
 * @example
 * ```ts ignore
 * import { connectEarly } from "./dial.ts";
 * const conn = await connectEarly("circuit://127.0.0.1:4000/812/Q0de74570a61e9688");
 * const [view] = await Promise.all([conn.call("view", {}), conn.welcomed]);
 * ```
 */
export function connectEarly(url: string, opts: DialOptions = {}): Promise<Connection> {
  return _open(url, opts, true);
}

async function _open(url: string, opts: DialOptions, early: boolean): Promise<Connection> {
  const u = parseCircuitUrl(url);
  let socket: Deno.TcpConn | Deno.TlsConn | null = null;
  let timedOut = false;
  const timeoutError = () => new ConnectionError(`timed out after ${DIAL_TIMEOUT_MS / 1000}s`);
  const cancelTimer = after(DIAL_TIMEOUT_MS, () => {
    timedOut = true;
    socket?.close();
  });
  const onAbort = () => socket?.close();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const settled = () => {
    cancelTimer();
    opts.signal?.removeEventListener("abort", onAbort);
  };
  try {
    const keyed = !!opts.key || !!opts.credential;
    const caPem = opts.credential?.caPem ?? (opts.key ? (await clusterCa(opts.key)).certPem : null);
    let tcp: Deno.TcpConn;
    try {
      tcp = await Deno.connect({ hostname: u.host, port: u.port });
    } catch (err) {
      throw new ConnectionError(_connectCause(err));
    }
    socket = tcp;
    if (timedOut) throw timeoutError();
    // Before TLS starts: the TLS stream keeps the socket, and without TCP_NODELAY rustls's
    // separate ChangeCipherSpec record stalls the handshake ~40 ms for a delayed ACK.
    tcp.setNoDelay(true);
    if (caPem !== null) {
      // The server's leaf must chain to the cluster CA and name the host dialed (SPEC §10.1).
      const tls = await Deno.startTls(tcp, { hostname: u.host, caCerts: [caPem] });
      socket = tls;
      try {
        await tls.handshake();
      } catch (err) {
        tls.close();
        if (timedOut) throw timeoutError();
        throw new ConnectionError(dialerTlsCause(err));
      }
    }
    const transport = new FrameTransport(socket);
    if (early && !keyed) transport.cork();
    const handshake = dialHandshake(transport, `${u.workerId}/${u.pid}`, {
      role: opts.asServer ? "server" : "client",
      from: opts.asServer?.url ?? "",
      id: opts.asServer?.id ?? "",
      key: opts.key,
      credential: opts.credential,
      pki: opts.pki,
    }).catch((err) => {
      transport.close();
      if (timedOut) throw timeoutError();
      if (err instanceof ConnectionError || err instanceof CircuitError) throw err;
      throw new ConnectionError("connection lost");
    });
    const init = {
      dialer: true,
      onCall: opts.asServer?.onCall,
      observer: opts.asServer?.observer ?? undefined,
    };
    let conn: Connection;
    if (keyed) {
      const result = await handshake;
      // A server that proved the peer a server (the key, or its operator certificate) judges its calls as one's.
      const peer = opts.asServer && (result.keys || result.serverProved)
        ? serverIdentity(u.workerId)
        : undefined;
      conn = new Connection(transport, {
        ...init,
        serverId: result.info.serverId,
        url: result.info.url,
        identity: peer,
      });
      settled();
    } else {
      conn = new Connection(transport, { ...init, welcome: handshake.then((r) => r.info) });
      conn.welcomed.then(settled, settled);
    }
    conn.start();
    return conn;
  } catch (err) {
    settled();
    // Whatever the deadline's close broke on the way (a TLS start, a read) is the deadline's doing.
    throw timedOut && !(err instanceof CircuitError) ? timeoutError() : err;
  }
}

function _connectCause(err: unknown): string {
  if (err instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (err instanceof Deno.errors.TimedOut) return `timed out after ${DIAL_TIMEOUT_MS / 1000}s`;
  const msg = err instanceof Error ? err.message : String(err);
  if (/no route to host/i.test(msg)) return "no route to host";
  if (/network is unreachable/i.test(msg)) return "network is unreachable";
  if (/refused/i.test(msg)) return "connection refused";
  return msg.replace(/ \(os error \d+\)$/, "").toLowerCase();
}
