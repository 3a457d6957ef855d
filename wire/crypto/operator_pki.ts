/**
 * An operator's own PKI instead of the CA derived from the key (SPEC §10.1): a CA certificate,
 * and this party's certificate and private key, all PEM. A server presents its certificate as
 * its TLS leaf and checks dialers' certificates against the CA; a dialer checks the server's TLS
 * certificate against the CA and proves itself inside TLS like a credential holder (its
 * certificate in the hello, a signature by its key; wire/handshake.ts). Who a certificate is: its
 * subject's `OU=role:server` makes it a server's, else `CN` names a client and each
 * `OU=group:<g>` is one of its groups.
 *
 * @module
 */
import type { Credential, LeafInfo } from "./credential.ts";
import {
  type CertParts,
  certParts,
  importProofKey,
  importSigningKey,
  issuedBy,
  signProof,
  subjectOf,
  verifyProof,
} from "./x509.ts";

/** A loaded operator PKI, ready to serve or dial with. */
export interface OperatorPki {
  /** What a dialer dials with: this certificate and key, and the CA for the server's leaf. */
  readonly credential: Credential;
  /** This party's certificate file as given (PEM, possibly with intermediates), as a TLS leaf. */
  readonly certPem: string;
  /** This party's private key (PKCS#8 PEM), for the TLS listener. */
  readonly keyPem: string;
  /** The CA certificate, parsed: what dialers' certificates must be signed by. */
  readonly ca: CertParts;
}

function _pemBlocks(text: string, label: string): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, "g");
  return [...text.matchAll(re)].map((m) =>
    Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0))
  );
}

/** The first certificate of a PEM text, parsed; `what` names the file in the error. */
function _firstCert(text: string, what: string): { der: Uint8Array; parts: CertParts; pem: string } {
  const [der] = _pemBlocks(text, "CERTIFICATE");
  if (!der) throw new Error(`${what}: no PEM certificate`);
  let parts: CertParts;
  try {
    parts = certParts(der);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
  const pem = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/)![0] + "\n";
  return { der, parts, pem };
}

/**
 * Loads a PKI from the texts of its three PEM files. Throws an `Error` with a one-line cause
 * naming the file when one is not what it should be, or the key is not the certificate's.
 *
 * @example
 * ```ts ignore
 * import { loadOperatorPki } from "./operator_pki.ts";
 * const pki = await loadOperatorPki(caPem, certPem, keyPem);
 * console.log(pki.credential.name);
 * ```
 */
export async function loadOperatorPki(
  caText: string,
  certText: string,
  keyText: string,
  names = { ca: "-tls-ca", cert: "-tls-cert", key: "-tls-key" },
): Promise<OperatorPki> {
  const ca = _firstCert(caText, names.ca);
  const cert = _firstCert(certText, names.cert);
  const [pkcs8] = _pemBlocks(keyText, "PRIVATE KEY");
  if (!pkcs8) {
    throw new Error(
      `${names.key}: no PKCS#8 private key (BEGIN PRIVATE KEY; convert with openssl pkcs8 -topk8 -nocrypt)`,
    );
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await importSigningKey(pkcs8, cert.parts.keyType);
  } catch {
    throw new Error(`${names.key}: not a private key of the certificate's type (${cert.parts.keyType.name})`);
  }
  // A key that is not the certificate's would pass loading and fail every handshake: say so now.
  const probe = new TextEncoder().encode("circuit operator pki key check");
  if (!await verifyProof(await importProofKey(cert.parts), await signProof(privateKey, probe), probe)) {
    throw new Error(`${names.key}: the private key is not the one of ${names.cert}`);
  }
  const who = subjectOf(cert.parts.subject);
  return {
    credential: {
      certDer: cert.der,
      caPem: ca.pem,
      privateKey,
      name: who.name,
      groups: who.groups,
      notAfter: cert.parts.notAfter,
    },
    certPem: certText,
    keyPem: keyText,
    ca: ca.parts,
  };
}

/**
 * Verifies that `der` is a certificate the PKI's CA issued, and returns what it says. Throws an
 * `Error` whose message is the SPEC §10.3 reason (`key mismatch` for another CA's certificate).
 * Validity is the caller's to judge: {@link LeafInfo} carries it.
 */
export async function verifyOperatorLeaf(pki: OperatorPki, der: Uint8Array): Promise<LeafInfo> {
  let parts: CertParts;
  try {
    parts = certParts(der);
  } catch {
    throw new Error("authentication failed: malformed credential");
  }
  if (!await issuedBy(pki.ca, parts)) throw new Error("authentication failed: key mismatch");
  return {
    ...subjectOf(parts.subject),
    notBefore: parts.notBefore,
    notAfter: parts.notAfter,
    publicKey: await importProofKey(parts),
  };
}
