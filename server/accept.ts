/**
 * The accept path of the daemon (SPEC §10.1, §10.3): TLS first when keyed, then the framed hello;
 * a refused or failed peer is logged as `rejected peer <ip:port>: <reason>` and recorded as
 * `reject`. What is left is a transport ready for a {@link Connection} and who is on it.
 *
 * @module
 */
import type { OperatorPki } from "../wire/crypto/operator_pki.ts";
import { acceptHandshake, type DialerHello, HandshakeRejected } from "../wire/handshake.ts";
import { ADMIN, ANONYMOUS, type Identity, serverIdentity } from "../wire/identity.ts";
import { parseCircuitUrl } from "../wire/url.ts";
import { FrameTransport } from "../wire/transport.ts";
import { acceptorTlsReason } from "../wire/tls/cluster.ts";
import type { AcceptedTls } from "./tls_listener.ts";
import { HANDSHAKE_TIMEOUT_MS } from "./limits.ts";

/** What the accept path needs of the server. */
export interface AcceptContext {
  serverId: string;
  url: string;
  workerId: string;
  key?: Uint8Array;
  /** An operator's PKI instead of the key (SPEC §10.1). */
  pki?: OperatorPki;
  /** Whether a credential's name is revoked by the policy in force now. */
  isRevoked: (name: string) => boolean;
  log: (line: string) => void;
  record: (op: string, fields: Record<string, unknown>) => void;
}

/** A peer that completed the handshake. */
export interface AcceptedPeer {
  transport: FrameTransport;
  hello: DialerHello;
  identity: Identity;
}

/** The `<ip:port>` of a peer as the rejection log line names it (IPv6 in brackets). */
export function peerAddress(remote: Deno.NetAddr): string {
  return `${remote.hostname.includes(":") ? `[${remote.hostname}]` : remote.hostname}:${remote.port}`;
}

/**
 * Runs TLS (when keyed) and the hello on an accepted socket within {@link HANDSHAKE_TIMEOUT_MS}.
 * Returns null, after logging, recording and closing, when the peer is refused or fails.
 */
export async function acceptPeer(
  socket: Deno.TcpConn | AcceptedTls,
  ctx: AcceptContext,
): Promise<AcceptedPeer | null> {
  const peer = peerAddress(socket.remoteAddr as Deno.NetAddr);
  if (!("handshake" in socket)) socket.setNoDelay(true);
  const transport = new FrameTransport(socket);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    transport.close();
  }, HANDSHAKE_TIMEOUT_MS);
  try {
    if ("handshake" in socket) {
      // TLS first (SPEC §10.1); its failures say which of the §10.3 cases this is.
      await socket.handshake().catch((err) => {
        throw timedOut ? err : new HandshakeRejected(acceptorTlsReason(err));
      });
    }
    const [pid] = ctx.url.split("/").slice(-2);
    const result = await acceptHandshake(transport, {
      serverId: ctx.serverId,
      url: ctx.url,
      workerId: ctx.workerId,
      pid: Number(pid),
      key: ctx.key,
      pki: ctx.pki,
      isRevoked: ctx.isRevoked,
    });
    const { hello } = result;
    const identity = result.credential
      ? result.credential
      : result.keys === null
      ? ANONYMOUS
      : hello.role === "server"
      ? serverIdentity(parseCircuitUrl(hello.from).workerId)
      : ADMIN;
    return { transport, hello, identity };
  } catch (err) {
    const reason = err instanceof HandshakeRejected
      ? err.message
      : timedOut
      ? `handshake timed out after ${HANDSHAKE_TIMEOUT_MS / 1000}s`
      : `handshake failed: ${err instanceof Error ? err.message : err}`;
    ctx.log(`rejected peer ${peer}: ${reason}`);
    ctx.record("reject", { Peer: peer, Reason: reason });
    transport.close();
    return null;
  } finally {
    clearTimeout(timer);
  }
}
