/**
 * TLS 1.3 for a keyed cluster (SPEC §10.1–§10.3): the CA every party derives from the key, the
 * bytes that tell a plain peer from a TLS one, and the one-line causes of a failed TLS handshake.
 *
 * @module
 */
import { type ClusterCa, deriveClusterCa } from "../crypto/ca.ts";

/** Each distinct key's CA, derived once per process: a server dials many peers with the same key. */
const _cas = new Map<string, Promise<ClusterCa>>();

/**
 * The cluster CA of `key`, derived on first use and remembered for the life of the process.
 *
 * @example
 * ```ts
 * import { clusterCa } from "./cluster.ts";
 * const ca = await clusterCa(new Uint8Array(32).fill(1));
 * console.log(ca.certPem.startsWith("-----BEGIN CERTIFICATE-----")); // true
 * ```
 */
export function clusterCa(key: Uint8Array): Promise<ClusterCa> {
  const id = String.fromCharCode(...key);
  let ca = _cas.get(id);
  if (!ca) _cas.set(id, ca = deriveClusterCa(key));
  return ca;
}

/**
 * What an unkeyed server answers a TLS ClientHello with: a plaintext TLS alert record (RFC 8446
 * §6), fatal `access_denied` (49), which rustls reports as `received fatal alert: AccessDenied`.
 * No TLS stack sends it unprompted during a handshake, so the dialer can tell "server does not use
 * a key" from every other failure.
 */
export const ALERT_NO_KEY = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 49]);

/**
 * Whether `head` (a connection's first two bytes) opens a TLS record: a handshake (0x16) or an
 * alert (0x15) of a 3.x record version. No frame starts so: a frame's first two bytes are the top
 * of its length, and 0x15xx_xxxx bytes is far past the largest frame.
 */
export function opensTlsRecord(head: Uint8Array): boolean {
  return head.length >= 2 && (head[0] === 0x16 || head[0] === 0x15) && head[1] === 0x03;
}

/**
 * The cause a dialer reports for a failed TLS handshake with a server (SPEC §10.3): a server
 * certificate of another CA is a key mismatch, the unkeyed server's alert says it uses no key.
 */
export function dialerTlsCause(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/AccessDenied/.test(msg)) return "authentication failed: server does not use a key";
  if (/invalid peer certificate: (BadSignature|UnknownIssuer)/.test(msg)) {
    return "authentication failed: key mismatch";
  }
  if (/certificate expired/i.test(msg)) return "authentication failed: server certificate expired";
  if (/not valid yet/i.test(msg)) return "authentication failed: server certificate not yet valid";
  if (/invalid peer certificate/.test(msg)) return `authentication failed: ${msg}`;
  return "connection lost";
}

/**
 * The reason a keyed server logs and records for a dialer whose TLS handshake failed: plain bytes
 * come from a dialer without a key, a dialer refusing the server's certificate holds another key.
 */
export function acceptorTlsReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/InvalidContentType|corrupt message/.test(msg)) return "authentication failed: server requires a key";
  if (/received fatal alert: (DecryptError|BadCertificate|UnknownCA|CertificateUnknown)/.test(msg)) {
    return "authentication failed: key mismatch";
  }
  return `handshake failed: TLS: ${msg}`;
}
