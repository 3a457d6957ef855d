/**
 * Client credentials (SPEC §10.5): a client leaf certificate for a name and its groups, issued
 * ahead by a holder of the cluster key, with its Ed25519 private key and the cluster CA
 * certificate, in one PEM bundle. The holder has no key: it checks the servers' certificates
 * against the bundled CA, and proves itself inside TLS by signing the server's nonce with the
 * leaf's key (wire/handshake.ts). The server checks the leaf here: signed by its cluster CA,
 * `role:client`, within its validity.
 *
 * @module
 */
import { type ClusterCa, issueLeaf, LEAF_BACKDATE_MS } from "./ca.ts";
import { children, oidText, type Tlv } from "./der_read.ts";
import { type CertParts, certParts, signProof, verifyProof } from "./x509.ts";

/** Names and groups of credentials: lower-case letters, digits, `.`, `_` and `-`, 1 to 64 of them. */
export const CREDENTIAL_NAME = /^[a-z0-9._-]{1,64}$/;

/** Names a credential may not take: they are the identities of the unkeyed and of key holders. */
const _RESERVED = new Set(["admin", "anonymous"]);

/** Why a name or group is refused, or null when it is fine. */
export function credentialNameProblem(name: string, what: "name" | "group"): string | null {
  if (!CREDENTIAL_NAME.test(name)) return `${what} ${JSON.stringify(name)}: must be 1-64 of [a-z0-9._-]`;
  if (what === "name" && _RESERVED.has(name)) return `name ${JSON.stringify(name)} is reserved`;
  return null;
}

/** A parsed credential bundle, ready to dial with. */
export interface Credential {
  /** The client leaf, DER, as the hello carries it. */
  readonly certDer: Uint8Array;
  /** The cluster CA certificate, PEM, that the servers' leaves must chain to. */
  readonly caPem: string;
  /** The leaf's private key: Ed25519, or with an operator's PKI also ECDSA or RSA (wire/crypto/x509.ts). */
  readonly privateKey: CryptoKey;
  readonly name: string;
  readonly groups: readonly string[];
  readonly notAfter: Date;
}

/** What a verified leaf says. */
export interface LeafInfo {
  role: string;
  name: string;
  groups: string[];
  notBefore: Date;
  notAfter: Date;
  publicKey: CryptoKey;
}

/**
 * Issues a credential for `name` with `groups`, valid for `ttlMs` from now, as a PEM bundle:
 * the leaf certificate, the cluster CA certificate, then the leaf's PKCS#8 private key.
 *
 * @example
 * ```ts
 * import { deriveClusterCa } from "./ca.ts";
 * import { issueCredential, parseCredential } from "./credential.ts";
 * const ca = await deriveClusterCa(new Uint8Array(32).fill(7));
 * const pem = await issueCredential(ca, "alice", ["ops"], 3600_000);
 * console.log((await parseCredential(pem)).groups); // ["ops"]
 * ```
 */
export async function issueCredential(
  ca: ClusterCa,
  name: string,
  groups: readonly string[],
  ttlMs: number,
  now = Date.now(),
): Promise<string> {
  const leaf = await issueLeaf(ca, { role: "client", name, groups }, {
    notBefore: new Date(now - LEAF_BACKDATE_MS),
    notAfter: new Date(now + ttlMs),
  });
  return leaf.certPem + ca.certPem + leaf.keyPem;
}

function _pemBlocks(text: string, label: string): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, "g");
  return [...text.matchAll(re)].map((m) =>
    Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0))
  );
}

/**
 * Reads a credential bundle (PEM text). Throws an `Error` with a one-line cause when it is not one.
 */
export async function parseCredential(text: string): Promise<Credential> {
  const certs = _pemBlocks(text, "CERTIFICATE");
  const keys = _pemBlocks(text, "PRIVATE KEY");
  if (certs.length !== 2 || keys.length !== 1) {
    throw new Error("not a credential (want a certificate, the CA certificate and a private key)");
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey(
      "pkcs8",
      keys[0] as Uint8Array<ArrayBuffer>,
      "Ed25519",
      false,
      [
        "sign",
      ],
    );
  } catch {
    throw new Error("credential private key is not an Ed25519 PKCS#8 key");
  }
  const leaf = _certParts(certs[0]);
  const subject = _subject(leaf.subject);
  const caPem = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g)![1];
  return {
    certDer: certs[0],
    caPem: caPem.endsWith("\n") ? caPem : caPem + "\n",
    privateKey,
    name: subject.name,
    groups: subject.groups,
    notAfter: leaf.notAfter,
  };
}

const _ED25519 = "1.3.101.112";

/** A certificate of the cluster's own kind: an Ed25519 key, signed with Ed25519. */
function _certParts(der: Uint8Array): CertParts {
  let parts: CertParts;
  try {
    parts = certParts(der);
  } catch {
    throw new Error("not an Ed25519 certificate");
  }
  if (parts.sigAlg !== _ED25519 || parts.keyType.name !== "Ed25519") {
    throw new Error("not an Ed25519 certificate");
  }
  return parts;
}

function _subject(subject: Tlv): { role: string; name: string; groups: string[] } {
  let role = "", name = "";
  const groups: string[] = [];
  const text = new TextDecoder();
  for (const set of children(subject.content)) {
    const [type, value] = children(children(set.content)[0].content);
    const id = oidText(type.content), v = text.decode(value.content);
    if (id === "2.5.4.3") name = v;
    else if (id === "2.5.4.11" && v.startsWith("role:")) role = v.slice(5);
    else if (id === "2.5.4.11" && v.startsWith("group:")) groups.push(v.slice(6));
  }
  return { role, name, groups };
}

/** The CA's Ed25519 public key, read from its certificate once per CA. */
const _caKeys = new WeakMap<ClusterCa, Promise<{ key: CryptoKey; subject: Uint8Array }>>();

function _caKey(ca: ClusterCa): Promise<{ key: CryptoKey; subject: Uint8Array }> {
  let k = _caKeys.get(ca);
  if (!k) {
    const parts = _certParts(ca.certDer);
    k = crypto.subtle.importKey("spki", parts.spki as Uint8Array<ArrayBuffer>, "Ed25519", false, ["verify"])
      .then((key) => ({ key, subject: parts.subject.raw }));
    _caKeys.set(ca, k);
  }
  return k;
}

/**
 * Verifies that `der` is a certificate signed by `ca`, and returns what it says. Throws an `Error`
 * whose message is the §10.3 reason when it is not (`key mismatch` for another CA's or a forged
 * signature). Validity is the caller's to judge: {@link LeafInfo} carries it.
 */
export async function verifyLeaf(ca: ClusterCa, der: Uint8Array): Promise<LeafInfo> {
  const parts = _certParts(der);
  const { key, subject } = await _caKey(ca);
  const sameIssuer = parts.issuer.raw.length === subject.length &&
    parts.issuer.raw.every((b, i) => b === subject[i]);
  const signed = sameIssuer && parts.signature.length === 64 &&
    await crypto.subtle.verify(
      "Ed25519",
      key,
      parts.signature as Uint8Array<ArrayBuffer>,
      parts.tbs.raw as Uint8Array<ArrayBuffer>,
    );
  if (!signed) throw new Error("authentication failed: key mismatch");
  const who = _subject(parts.subject);
  const publicKey = await crypto.subtle.importKey(
    "spki",
    parts.spki as Uint8Array<ArrayBuffer>,
    "Ed25519",
    false,
    ["verify"],
  );
  return {
    ...who,
    notBefore: parts.notBefore,
    notAfter: parts.notAfter,
    publicKey,
  };
}

/** First bytes of a credential's proof input: distinct from both HMAC proof labels (wire/crypto/handshake.ts). */
const _PROOF_LABEL = new TextEncoder().encode("circuit v1 credential");

/** The bytes a credential signs: label ‖ dialer nonce ‖ acceptor nonce ‖ utf8(acceptor identity). */
function _proofInput(
  dialerNonce: Uint8Array,
  acceptorNonce: Uint8Array,
  identity: string,
): Uint8Array<ArrayBuffer> {
  const id = new TextEncoder().encode(identity);
  const out = new Uint8Array(_PROOF_LABEL.length + dialerNonce.length + acceptorNonce.length + id.length);
  out.set(_PROOF_LABEL);
  out.set(dialerNonce, _PROOF_LABEL.length);
  out.set(acceptorNonce, _PROOF_LABEL.length + dialerNonce.length);
  out.set(id, _PROOF_LABEL.length + dialerNonce.length + acceptorNonce.length);
  return out;
}

/**
 * The dialer's proof that it holds the credential's private key, bound to this connection and
 * server: Ed25519, or for an operator's key ECDSA (raw r‖s) or RSA PKCS#1 v1.5 (wire/crypto/x509.ts).
 */
export async function proveCredential(
  cred: Credential,
  dialerNonce: Uint8Array,
  acceptorNonce: Uint8Array,
  identity: string,
): Promise<Uint8Array> {
  return await signProof(cred.privateKey, _proofInput(dialerNonce, acceptorNonce, identity));
}

/** Whether `signature` is the leaf's proof for these nonces and this server's identity. */
export async function verifyCredentialProof(
  leaf: LeafInfo,
  dialerNonce: Uint8Array,
  acceptorNonce: Uint8Array,
  identity: string,
  signature: Uint8Array,
): Promise<boolean> {
  return await verifyProof(leaf.publicKey, signature, _proofInput(dialerNonce, acceptorNonce, identity));
}
