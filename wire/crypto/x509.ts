/**
 * Reading and checking X.509 certificates of an operator's own PKI (SPEC §10.1): Ed25519, ECDSA
 * P-256/P-384 and RSA (PKCS#1 v1.5) keys and signatures, through WebCrypto. Only what the
 * handshake needs: the parts of a certificate, its public key, whether a CA signed it, and the
 * signature algorithm a private key signs handshake proofs with.
 *
 * @module
 */
import { TAG } from "./der.ts";
import { children, oidText, readTime, readTlv, type Tlv } from "./der_read.ts";

/** The parts of a certificate the handshake uses. */
export interface CertParts {
  /** The signed part, whole (what the issuer's signature covers). */
  tbs: Tlv;
  /** OID of the issuer's signature algorithm. */
  sigAlg: string;
  signature: Uint8Array;
  issuer: Tlv;
  notBefore: Date;
  notAfter: Date;
  subject: Tlv;
  /** The whole SubjectPublicKeyInfo, as WebCrypto's `spki` import takes it. */
  spki: Uint8Array;
  keyType: KeyType;
}

/** A public key algorithm WebCrypto can use, with the hash ECDSA and RSA sign with. */
export type KeyType =
  | { name: "Ed25519" }
  | { name: "ECDSA"; namedCurve: "P-256" | "P-384" }
  | { name: "RSASSA-PKCS1-v1_5" };

const _ED25519 = "1.3.101.112";
const _EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const _RSA = "1.2.840.113549.1.1.1";
const _CURVES: Record<string, "P-256" | "P-384"> = {
  "1.2.840.10045.3.1.7": "P-256",
  "1.3.132.0.34": "P-384",
};
/** Signature algorithm OIDs: which key type signs with which hash. */
const _SIG_ALGS: Record<string, { key: KeyType["name"]; hash?: string }> = {
  [_ED25519]: { key: "Ed25519" },
  "1.2.840.10045.4.3.2": { key: "ECDSA", hash: "SHA-256" },
  "1.2.840.10045.4.3.3": { key: "ECDSA", hash: "SHA-384" },
  "1.2.840.113549.1.1.11": { key: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  "1.2.840.113549.1.1.12": { key: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
  "1.2.840.113549.1.1.13": { key: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
};

/** Splits a DER certificate into its parts. Throws an `Error` when it is not one this reads. */
export function certParts(der: Uint8Array): CertParts {
  try {
    const [cert, end] = readTlv(der);
    if (cert.tag !== TAG.sequence || end !== der.length) throw new Error();
    const [tbs, alg, sig] = children(cert.content);
    const f = children(tbs.content);
    const [, , , issuer, validity, subject, spki] = f[0].tag === 0xa0 ? f : [f[0], ...f];
    if (sig.tag !== TAG.bitString) throw new Error();
    const [notBefore, notAfter] = children(validity.content);
    return {
      tbs,
      sigAlg: oidText(children(alg.content)[0].content),
      signature: sig.content.subarray(1),
      issuer,
      notBefore: readTime(notBefore),
      notAfter: readTime(notAfter),
      subject,
      spki: spki.raw,
      keyType: _keyType(spki),
    };
  } catch (err) {
    const why = err instanceof Error && err.message.startsWith("unsupported") ? `: ${err.message}` : "";
    throw new Error(`not a certificate this reads${why}`);
  }
}

function _keyType(spki: Tlv): KeyType {
  const [alg] = children(spki.content);
  const [oid, param] = children(alg.content);
  const id = oidText(oid.content);
  if (id === _ED25519) return { name: "Ed25519" };
  if (id === _RSA) return { name: "RSASSA-PKCS1-v1_5" };
  if (id === _EC_PUBLIC_KEY && param?.tag === TAG.oid) {
    const curve = _CURVES[oidText(param.content)];
    if (curve) return { name: "ECDSA", namedCurve: curve };
  }
  throw new Error("unsupported key type (want Ed25519, ECDSA P-256/P-384 or RSA)");
}

/** The hash a key of `type` signs handshake proofs with: the one its curve is made for, else SHA-256. */
function _proofHash(type: KeyType): string {
  return type.name === "ECDSA" && type.namedCurve === "P-384" ? "SHA-384" : "SHA-256";
}

/** WebCrypto import parameters of `type`, with `hash` for RSA, whose keys are bound to one. */
function _importParams(
  type: KeyType,
  hash: string,
): AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams {
  return type.name === "RSASSA-PKCS1-v1_5" ? { name: type.name, hash } : type;
}

function _signParams(type: KeyType, hash: string): AlgorithmIdentifier | EcdsaParams {
  return type.name === "ECDSA" ? { name: "ECDSA", hash } : type.name;
}

/** Imports the private key (PKCS#8 DER) of a certificate whose key is of `type`, for signing proofs. */
export function importSigningKey(pkcs8: Uint8Array, type: KeyType): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "pkcs8",
    pkcs8 as Uint8Array<ArrayBuffer>,
    _importParams(type, _proofHash(type)),
    false,
    ["sign"],
  );
}

/** Imports a certificate's public key for checking its holder's handshake proofs. */
export function importProofKey(parts: CertParts): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "spki",
    parts.spki as Uint8Array<ArrayBuffer>,
    _importParams(parts.keyType, _proofHash(parts.keyType)),
    false,
    ["verify"],
  );
}

/** Signs `data` with a key from {@link importSigningKey} (ECDSA: the raw r‖s form WebCrypto makes). */
export async function signProof(key: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const type = key.algorithm as KeyType;
  return new Uint8Array(await crypto.subtle.sign(_signParams(type, _proofHash(type)), key, data));
}

/** Whether `sig` is a proof over `data` by the holder of `key` (from {@link importProofKey}). */
export function verifyProof(
  key: CryptoKey,
  sig: Uint8Array,
  data: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  const type = key.algorithm as KeyType;
  return crypto.subtle.verify(_signParams(type, _proofHash(type)), key, sig as Uint8Array<ArrayBuffer>, data)
    .catch(() => false);
}

/**
 * Whether `ca` issued `leaf`: the issuer names the CA's subject and the CA's key signed it with
 * an algorithm that fits that key.
 */
export async function issuedBy(ca: CertParts, leaf: CertParts): Promise<boolean> {
  const alg = _SIG_ALGS[leaf.sigAlg];
  if (!alg || alg.key !== ca.keyType.name || !_sameBytes(leaf.issuer.raw, ca.subject.raw)) return false;
  const hash = alg.hash ?? "SHA-256";
  const key = await crypto.subtle.importKey(
    "spki",
    ca.spki as Uint8Array<ArrayBuffer>,
    _importParams(ca.keyType, hash),
    false,
    ["verify"],
  );
  let sig = leaf.signature;
  if (ca.keyType.name === "ECDSA") {
    const size = ca.keyType.namedCurve === "P-384" ? 48 : 32;
    try {
      sig = _ecdsaRaw(sig, size);
    } catch {
      return false;
    }
  }
  return await crypto.subtle.verify(
    _signParams(ca.keyType, hash),
    key,
    sig as Uint8Array<ArrayBuffer>,
    leaf.tbs.raw as Uint8Array<ArrayBuffer>,
  ).catch(() => false);
}

/** An X.509 ECDSA signature (DER SEQUENCE of r and s) as WebCrypto's fixed-size r‖s. */
function _ecdsaRaw(der: Uint8Array, size: number): Uint8Array {
  const [seq] = readTlv(der);
  const ints = children(seq.content);
  if (seq.tag !== TAG.sequence || ints.length !== 2) throw new Error("ECDSA signature malformed");
  const out = new Uint8Array(2 * size);
  ints.forEach((int, i) => {
    let v = int.content;
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (int.tag !== TAG.integer || v.length > size) throw new Error("ECDSA signature malformed");
    out.set(v, (i + 1) * size - v.length);
  });
  return out;
}

function _sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** What a certificate's subject says: `CN` is the name, `OU=role:<r>` the role, `OU=group:<g>` groups. */
export function subjectOf(subject: Tlv): { role: string; name: string; groups: string[] } {
  let role = "", name = "";
  const groups: string[] = [];
  const text = new TextDecoder();
  for (const set of children(subject.content)) {
    for (const attr of children(set.content)) {
      const [type, value] = children(attr.content);
      const id = oidText(type.content), v = text.decode(value.content);
      if (id === "2.5.4.3") name = v;
      else if (id === "2.5.4.11" && v.startsWith("role:")) role = v.slice(5);
      else if (id === "2.5.4.11" && v.startsWith("group:")) groups.push(v.slice(6));
    }
  }
  return { role, name, groups };
}
