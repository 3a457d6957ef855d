/**
 * The cluster certificate authority derived from the key (SPEC §10.1), and the leaf certificates
 * it signs. Ed25519 throughout: the CA's private key is a 32-byte seed from HKDF-SHA256 of the key,
 * imported through PKCS#8 (WebCrypto derives the public key), and Ed25519 signatures are
 * deterministic, so every party builds a byte-identical CA certificate. rustls (Deno's TLS) and
 * OpenSSL both accept Ed25519 certificates in TLS 1.3.
 *
 * A leaf's subject is `O=circuit, OU=role:<server|client>, CN=<identity name>`, followed by one
 * `OU=group:<g>` per group of a credential (SPEC §10.5); a server's leaf names its advertised
 * address in subjectAltName, which the dialer checks.
 *
 * @module
 */
import { bits, ctx, oid, pem, seq, TAG, time, tlv, uint, utf8 } from "./der.ts";
import { concat } from "../bytes.ts";

const _enc = new TextEncoder();

/** HKDF `info` of the CA's private key: distinct from every other use of the key. */
const _CA_INFO = _enc.encode("circuit v2 cluster ca ed25519");

/** PKCS#8 of an Ed25519 private key without the public key: this prefix, then the 32-byte seed (RFC 8410). */
const _PKCS8_ED25519_PREFIX = new Uint8Array([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
]);

/** The CA's fixed validity: from before any leaf to RFC 5280's "no well-defined expiration". */
const _CA_NOT_BEFORE = new Date("2024-01-01T00:00:00Z");
const _CA_NOT_AFTER = new Date("9999-12-31T23:59:59Z");

/** A leaf is valid from this long before now, so a peer whose clock is a little behind accepts it (SPEC §10.1). */
export const LEAF_BACKDATE_MS = 60 * 60 * 1000;

/** A leaf made at start lives 30 days, the longest SPEC §10.1 allows; servers are rarely up longer. */
export const LEAF_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

const _OID = {
  ed25519: "1.3.101.112",
  cn: "2.5.4.3",
  o: "2.5.4.10",
  ou: "2.5.4.11",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
};

/** The cluster CA: its certificate (identical for every holder of the key) and signing key. */
export interface ClusterCa {
  /** The CA certificate, PEM. */
  readonly certPem: string;
  /** The CA certificate, DER. */
  readonly certDer: Uint8Array;
  /** The CA's Ed25519 private key. */
  readonly signingKey: CryptoKey;
}

/** A leaf certificate and its private key, both PEM, as `Deno.listenTls` takes them. */
export interface Leaf {
  readonly certPem: string;
  readonly keyPem: string;
}

/** What a leaf says about its holder. */
export interface LeafSubject {
  role: "server" | "client";
  /** The identity name (SPEC §10.5): `server:<worker ID>`, `admin` or a credential's name. */
  name: string;
  /** A credential's groups; none for servers and key holders. */
  groups?: readonly string[];
  /** Host names or IP addresses a server is dialed at; checked by the dialer. */
  hosts?: readonly string[];
}

function _name(rdns: [string, string][]): Uint8Array {
  return seq(...rdns.map(([type, value]) => tlv(TAG.set, seq(oid(type), utf8(value)))));
}

const _ED25519_ALG = seq(oid(_OID.ed25519));

function _extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return seq(
    oid(id),
    ...(critical ? [tlv(TAG.boolean, new Uint8Array([0xff]))] : []),
    tlv(TAG.octetString, value),
  );
}

/** subjectAltName entries: iPAddress for IPv4/IPv6 literals, dNSName otherwise. */
function _altNames(hosts: readonly string[]): Uint8Array {
  return seq(...hosts.map((h) => {
    const ip = _ipBytes(h);
    return ip ? ctx(7, ip, false) : ctx(2, _enc.encode(h), false);
  }));
}

function _ipBytes(host: string): Uint8Array | null {
  const h = host.replace(/^\[|\]$/g, "");
  const v4 = h.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (v4) return new Uint8Array(v4.slice(1).map(Number));
  if (!h.includes(":")) return null;
  const [head, tail = ""] = h.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const hi = groups(head), lo = h.includes("::") ? groups(tail) : [];
  const all = [...hi, ...new Array(8 - hi.length - lo.length).fill(0), ...lo];
  return new Uint8Array(all.flatMap((g) => [g >> 8, g & 0xff]));
}

async function _sign(tbs: Uint8Array, key: CryptoKey): Promise<Uint8Array> {
  const sig = new Uint8Array(await crypto.subtle.sign("Ed25519", key, tbs as Uint8Array<ArrayBuffer>));
  return seq(tbs, _ED25519_ALG, bits(sig));
}

async function _rawPublic(key: CryptoKey): Promise<Uint8Array> {
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const b64 = jwk.x!.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function _spki(publicKey: Uint8Array): Uint8Array {
  return seq(_ED25519_ALG, bits(publicKey));
}

const _CA_SUBJECT = _name([[_OID.o, "circuit"], [_OID.cn, "circuit cluster CA"]]);

/**
 * Derives the cluster CA from the key: same key, same CA certificate, byte for byte.
 *
 * @example
 * ```ts
 * import { deriveClusterCa } from "./ca.ts";
 * const key = new Uint8Array(32).fill(7);
 * const [a, b] = [await deriveClusterCa(key), await deriveClusterCa(key)];
 * console.log(a.certPem === b.certPem); // true
 * ```
 */
export async function deriveClusterCa(key: Uint8Array): Promise<ClusterCa> {
  const base = await crypto.subtle.importKey("raw", key as Uint8Array<ArrayBuffer>, "HKDF", false, [
    "deriveBits",
  ]);
  const seed = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: _CA_INFO },
      base,
      256,
    ),
  );
  const signingKey = await crypto.subtle.importKey(
    "pkcs8",
    concat([_PKCS8_ED25519_PREFIX, seed]) as Uint8Array<ArrayBuffer>,
    "Ed25519",
    true,
    ["sign"],
  );
  const tbs = seq(
    ctx(0, uint(new Uint8Array([2])), true), // v3
    uint(new Uint8Array([1])), // the one and only serial of the CA
    _ED25519_ALG,
    _CA_SUBJECT,
    seq(time(_CA_NOT_BEFORE), time(_CA_NOT_AFTER)),
    _CA_SUBJECT,
    _spki(await _rawPublic(signingKey)),
    ctx(
      3,
      seq(
        _extension(_OID.basicConstraints, true, seq(tlv(TAG.boolean, new Uint8Array([0xff])))),
        // keyCertSign and cRLSign: bits 5 and 6, the lowest bit of the byte unused.
        _extension(_OID.keyUsage, true, new Uint8Array([TAG.bitString, 2, 1, 0x06])),
      ),
      true,
    ),
  );
  const certDer = await _sign(tbs, signingKey);
  return { certPem: pem("CERTIFICATE", certDer), certDer, signingKey };
}

/**
 * Issues a leaf signed by the CA, for a fresh Ed25519 key pair, valid from `notBefore` (default an
 * hour ago) to `notAfter` (default 30 days on).
 *
 * @example
 * ```ts
 * import { deriveClusterCa, issueLeaf } from "./ca.ts";
 * const ca = await deriveClusterCa(new Uint8Array(32).fill(7));
 * const leaf = await issueLeaf(ca, { role: "server", name: "server:Q0123456789abcdef", hosts: ["127.0.0.1"] });
 * console.log(leaf.keyPem.startsWith("-----BEGIN PRIVATE KEY-----")); // true
 * ```
 */
export async function issueLeaf(
  ca: ClusterCa,
  subject: LeafSubject,
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Promise<Leaf> {
  const now = Date.now();
  const notBefore = validity.notBefore ?? new Date(now - LEAF_BACKDATE_MS);
  const notAfter = validity.notAfter ?? new Date(now + LEAF_LIFETIME_MS);
  const pair = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]) as CryptoKeyPair;
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f; // positive, as RFC 5280 requires
  serial[0] |= 0x01; // and never shortened by a leading zero
  const rdns: [string, string][] = [
    [_OID.o, "circuit"],
    [_OID.ou, `role:${subject.role}`],
    ...(subject.groups ?? []).map((g): [string, string] => [_OID.ou, `group:${g}`]),
    [_OID.cn, subject.name],
  ];
  const extensions = [
    _extension(_OID.basicConstraints, true, seq()),
    // digitalSignature: bit 0, seven unused bits.
    _extension(_OID.keyUsage, true, new Uint8Array([TAG.bitString, 2, 7, 0x80])),
    _extension(_OID.extKeyUsage, false, seq(oid(_OID.serverAuth), oid(_OID.clientAuth))),
  ];
  if (subject.hosts?.length) {
    extensions.push(_extension(_OID.subjectAltName, false, _altNames(subject.hosts)));
  }
  const tbs = seq(
    ctx(0, uint(new Uint8Array([2])), true),
    uint(serial),
    _ED25519_ALG,
    _CA_SUBJECT,
    seq(time(notBefore), time(notAfter)),
    _name(rdns),
    _spki(await _rawPublic(pair.publicKey)),
    ctx(3, seq(...extensions), true),
  );
  const certDer = await _sign(tbs, ca.signingKey);
  const keyDer = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return { certPem: pem("CERTIFICATE", certDer), keyPem: pem("PRIVATE KEY", keyDer) };
}
