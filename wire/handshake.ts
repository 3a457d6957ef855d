/**
 * The handshake that opens every connection (SPEC §10.1, §11.2): explicitly framed messages,
 * each one frame of msgpack, so no parser reads past its own message. With a key it runs inside
 * TLS 1.3 (wire/tls/), and the nonces and proofs show each side holds the key.
 *
 * ```
 * dialer   → Hello   {V, Role, Keyed, Target, From, Id, Nonce?}
 * acceptor → Welcome {V, Id, Url, Nonce?, Proof?}   or   {Error}
 * keyed only:
 * dialer   → {Proof}  or  {Error}
 * acceptor → {Ok}     or  {Error}
 * ```
 *
 * A dialer with a credential instead of the key (SPEC §10.5) adds `Cred` (its leaf, DER) to the
 * Hello; the acceptor checks the leaf, answers a Welcome without `Proof` (the dialer verified the
 * server's TLS certificate against the bundled CA), and the dialer's answer is `{Sig}`, the
 * leaf key's Ed25519 signature (wire/crypto/credential.ts) instead of `{Proof}`.
 *
 * @module
 */
import { ConnectionError } from "./errors.ts";
import { decodeMessage, encodeBodyShared } from "./frame.ts";
import type { FrameTransport } from "./transport.ts";
import { HandshakeKeys, newNonce } from "./crypto/handshake.ts";
import { ALERT_NO_KEY, clusterCa, opensTlsRecord } from "./tls/cluster.ts";
import {
  type Credential,
  credentialNameProblem,
  type LeafInfo,
  proveCredential,
  verifyCredentialProof,
  verifyLeaf,
} from "./crypto/credential.ts";
import { type Identity, serverIdentity } from "./identity.ts";
import { type OperatorPki, verifyOperatorLeaf } from "./crypto/operator_pki.ts";
import { parseCircuitUrl } from "./url.ts";

/** Version of the wire protocol; both sides must speak the same. */
export const PROTOCOL_VERSION = 1;

/** Handshake messages are small; a larger one is hostile. */
const _MAX_HANDSHAKE_BYTES = 4096;

/** What the dialer says about itself. */
export interface DialerInfo {
  role: "client" | "server";
  /** The dialer's own URL when it is a server, else "". */
  from: string;
  /** The dialer's server ID when it is a server, else "". */
  id: string;
  key?: Uint8Array;
  /** A client credential instead of the key (SPEC §10.5). */
  credential?: Credential;
  /**
   * A server's operator PKI (SPEC §10.1): `credential` is then its certificate, and the
   * acceptor must prove in the Welcome that it holds a server certificate of the same CA.
   */
  pki?: OperatorPki;
}

/** What the dialer learns about the server it reached. */
export interface AcceptorInfo {
  serverId: string;
  url: string;
}

/** The acceptor's own identity and key. */
export interface AcceptorIdentity {
  serverId: string;
  url: string;
  workerId: string;
  pid: number;
  key?: Uint8Array;
  /** An operator's PKI instead of the key (SPEC §10.1): dialers prove themselves by a certificate of its CA. */
  pki?: OperatorPki;
  /** Whether a credential's name is revoked by the policy in force (SPEC §10.5). */
  isRevoked?: (name: string) => boolean;
}

/** What the acceptor learns about a dialer it accepted. */
export interface DialerHello {
  role: "client" | "server";
  /** The dialer's URL and server ID when it is a server, else "". */
  from: string;
  id: string;
}

/** A handshake that failed on the acceptor's side; `reason` is what the server logs. */
export class HandshakeRejected extends Error {
  /** Creates the error with the reason the server logs and records. */
  constructor(reason: string) {
    super(reason);
    this.name = "HandshakeRejected";
  }
}

async function _readMessage(t: FrameTransport): Promise<Record<string, unknown>> {
  const body = await t.read();
  if (body === null) throw new Error("connection closed during handshake");
  if (body.length > _MAX_HANDSHAKE_BYTES) throw new Error("handshake message too large");
  return decodeMessage(body);
}

function _bytes(v: unknown): Uint8Array | null {
  return v instanceof Uint8Array ? v : null;
}

/**
 * Runs the dialer's side. `target` is `<workerID>/<pid>` from the URL dialed. Throws
 * `ConnectionError` with the specification's cause texts.
 */
export async function dialHandshake(
  t: FrameTransport,
  target: string,
  me: DialerInfo,
): Promise<{ info: AcceptorInfo; keys: HandshakeKeys | null; serverProved?: boolean }> {
  const keyed = !!me.key || !!me.credential;
  const nonce = keyed ? newNonce() : undefined;
  t.send(
    encodeBodyShared({
      V: PROTOCOL_VERSION,
      Role: me.role,
      Keyed: keyed,
      Target: target,
      From: me.from,
      Id: me.id,
      Nonce: nonce,
      Cred: me.credential?.certDer,
    }),
  );
  if (!keyed) {
    // A keyed server answers plain bytes with a TLS alert record (SPEC §10.3).
    const head = await t.peek(2);
    if (head && opensTlsRecord(head)) {
      throw new ConnectionError("authentication failed: server requires a key");
    }
  }
  const welcome = await _readMessage(t);
  if (typeof welcome.Error === "string") throw new ConnectionError(welcome.Error);
  if (welcome.V !== PROTOCOL_VERSION) throw new ConnectionError("protocol version mismatch");
  if (typeof welcome.Id !== "string" || typeof welcome.Url !== "string") {
    throw new ConnectionError("malformed handshake");
  }
  const info = { serverId: welcome.Id, url: welcome.Url };
  if (!keyed) return { info, keys: null };
  const theirNonce = _bytes(welcome.Nonce);
  if (me.credential) {
    if (!theirNonce || theirNonce.length !== 32) throw new ConnectionError("malformed handshake");
    const serverProved = me.pki
      ? await _checkAcceptorCert(me.pki, welcome, nonce!, theirNonce, target)
      : false;
    t.send(encodeBodyShared({ Sig: await proveCredential(me.credential, nonce!, theirNonce, target) }));
    await _expectOk(t);
    return { info, keys: null, serverProved };
  }
  const theirProof = _bytes(welcome.Proof);
  if (!theirNonce || theirNonce.length !== 32 || !theirProof) {
    throw new ConnectionError("authentication failed: server does not use a key");
  }
  const keys = await HandshakeKeys.derive(me.key!, nonce!, theirNonce);
  if (!await keys.verify("acceptor", target, theirProof)) {
    t.send(encodeBodyShared({ Error: "authentication failed: key mismatch" }));
    await t.drain();
    throw new ConnectionError("authentication failed: key mismatch");
  }
  t.send(encodeBodyShared({ Proof: await keys.prove("dialer", target) }));
  await _expectOk(t);
  return { info, keys };
}

/**
 * A server dialing a peer under an operator PKI: the Welcome's `Cred` must be a server
 * certificate of the CA, and its `Sig` that certificate's key's proof over both nonces and the
 * acceptor's identity (prefixed `acceptor:`, so no dialer's proof can be replayed as one).
 * The TLS certificate only shows a certificate of the CA; this shows a server's.
 */
async function _checkAcceptorCert(
  pki: OperatorPki,
  welcome: Record<string, unknown>,
  nonce: Uint8Array,
  theirNonce: Uint8Array,
  target: string,
): Promise<true> {
  const der = _bytes(welcome.Cred), sig = _bytes(welcome.Sig);
  if (!der || !sig) throw new ConnectionError("authentication failed: not a server certificate");
  const leaf = await verifyOperatorLeaf(pki, der).catch((e) => {
    throw new ConnectionError(e.message);
  });
  const now = Date.now();
  if (leaf.role !== "server") throw new ConnectionError("authentication failed: not a server certificate");
  if (now < leaf.notBefore.getTime() || now > leaf.notAfter.getTime()) {
    throw new ConnectionError("authentication failed: server certificate expired");
  }
  if (!await verifyCredentialProof(leaf, nonce, theirNonce, `acceptor:${target}`, sig)) {
    throw new ConnectionError("authentication failed: key mismatch");
  }
  return true;
}

async function _expectOk(t: FrameTransport): Promise<void> {
  const ok = await _readMessage(t);
  if (typeof ok.Error === "string") throw new ConnectionError(ok.Error);
  if (ok.Ok !== true) throw new ConnectionError("malformed handshake");
}

/**
 * Runs the acceptor's side. Throws `HandshakeRejected` (after telling the dialer why) when the
 * dialer must be refused, or another error when the dialer misbehaved or went away.
 */
export async function acceptHandshake(
  t: FrameTransport,
  me: AcceptorIdentity,
): Promise<{ hello: DialerHello; keys: HandshakeKeys | null; credential?: Identity }> {
  const keyedMe = !!me.key || !!me.pki;
  if (!keyedMe) {
    const head = await t.peek(2);
    if (head && opensTlsRecord(head)) {
      // A dialer with a key opened TLS; an alert tells it why it is refused (SPEC §10.3).
      await t.writeRaw(ALERT_NO_KEY).catch(() => {});
      throw new HandshakeRejected("authentication failed: server does not use a key");
    }
  }
  const hello = await _readMessage(t);
  const reject = async (reason: string): Promise<never> => {
    t.send(encodeBodyShared({ Error: reason }));
    await t.drain();
    throw new HandshakeRejected(reason);
  };
  if (hello.V !== PROTOCOL_VERSION) await reject("protocol version mismatch");
  const role = hello.Role;
  if ((role !== "client" && role !== "server") || typeof hello.Target !== "string") {
    throw new HandshakeRejected("malformed handshake");
  }
  const from = typeof hello.From === "string" ? hello.From : "";
  const id = typeof hello.Id === "string" ? hello.Id : "";
  if (role === "server" && (from === "" || !/^X[0-9a-f]{16}$/.test(id))) {
    throw new HandshakeRejected("malformed handshake");
  }
  const identity = `${me.workerId}/${me.pid}`;
  if (hello.Target !== identity) await reject("server identity mismatch");
  const keyed = hello.Keyed === true;
  if (keyedMe && !keyed) await reject("authentication failed: server requires a key");
  if (!keyedMe && keyed) await reject("authentication failed: server does not use a key");
  const info = { hello: { role: role as "client" | "server", from, id } };
  if (!keyedMe) {
    t.send(encodeBodyShared({ V: PROTOCOL_VERSION, Id: me.serverId, Url: me.url }));
    return { ...info, keys: null };
  }
  const theirNonce = _bytes(hello.Nonce);
  if (!theirNonce || theirNonce.length !== 32) throw new HandshakeRejected("malformed handshake");
  const nonce = newNonce();
  const cred = _bytes(hello.Cred);
  // With an operator PKI every dialer proves itself by a certificate; there is no key to prove.
  if (me.pki && !cred) await reject("authentication failed: key mismatch");
  if (cred) {
    const problem = role === "server" && !me.pki
      ? "authentication failed: a credential cannot act as a server"
      : null;
    const leaf = problem
      ? await reject(problem)
      : await _checkCredential(me, cred, role as "client" | "server").catch((e) => reject(e.message));
    // A peer server under an operator PKI learns that this is a server's certificate (the TLS one may be any of the CA's).
    const mine = me.pki && role === "server" ? me.pki.credential : null;
    t.send(encodeBodyShared({
      V: PROTOCOL_VERSION,
      Id: me.serverId,
      Url: me.url,
      Nonce: nonce,
      Cred: mine?.certDer,
      Sig: mine ? await proveCredential(mine, theirNonce, nonce, `acceptor:${identity}`) : undefined,
    }));
    const answer = await _readMessage(t);
    if (typeof answer.Error === "string") throw new HandshakeRejected(answer.Error);
    const sig = _bytes(answer.Sig);
    if (!sig || !await verifyCredentialProof(leaf, theirNonce, nonce, identity, sig)) {
      await reject("authentication failed: key mismatch");
    }
    t.send(encodeBodyShared({ Ok: true }));
    // An operator's server certificate (checked in _checkCredential) makes the dialer the server its URL names.
    const who = role === "server" ? serverIdentity(parseCircuitUrl(from).workerId) : leaf;
    return { ...info, keys: null, credential: { name: who.name, groups: [...who.groups] } };
  }
  const keys = await HandshakeKeys.derive(me.key!, theirNonce, nonce);
  const proof = await keys.prove("acceptor", identity);
  t.send(encodeBodyShared({ V: PROTOCOL_VERSION, Id: me.serverId, Url: me.url, Nonce: nonce, Proof: proof }));
  const answer = await _readMessage(t);
  if (typeof answer.Error === "string") throw new HandshakeRejected(answer.Error);
  const theirProof = _bytes(answer.Proof);
  if (!theirProof || !await keys.verify("dialer", identity, theirProof)) {
    await reject("authentication failed: key mismatch");
  }
  t.send(encodeBodyShared({ Ok: true }));
  return { ...info, keys };
}

/**
 * Checks a credential's leaf (SPEC §10.5): signed by this cluster's CA (or the operator's), a
 * client's (with an operator's PKI: a server's when the dialer is one), within its validity, not
 * revoked. Throws an `Error` whose message is the reason to refuse it with.
 */
async function _checkCredential(
  me: AcceptorIdentity,
  der: Uint8Array,
  role: "client" | "server",
): Promise<LeafInfo> {
  let leaf: LeafInfo;
  try {
    leaf = me.pki ? await verifyOperatorLeaf(me.pki, der) : await verifyLeaf(await clusterCa(me.key!), der);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(
      msg.startsWith("authentication failed") ? msg : "authentication failed: malformed credential",
    );
  }
  if (role === "server") {
    if (leaf.role !== "server") throw new Error("authentication failed: not a server certificate");
  } else if (leaf.role !== "client" && !(me.pki && leaf.role === "")) {
    throw new Error("authentication failed: not a client credential");
  }
  if (role === "client" && credentialNameProblem(leaf.name, "name")) {
    throw new Error("authentication failed: malformed credential");
  }
  const now = Date.now();
  if (now < leaf.notBefore.getTime() || now > leaf.notAfter.getTime()) {
    throw new Error("authentication failed: credential expired");
  }
  if (me.isRevoked?.(leaf.name)) throw new Error("authentication failed: credential revoked");
  return leaf;
}
