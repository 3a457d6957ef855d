/**
 * Authentication of discovery datagrams in keyed clusters (SPEC §9.4): HMAC-SHA256 over the decoded
 * payload bytes, under a key derived from the cluster key by HKDF-SHA256 (info `"circuit v1 discovery"`,
 * empty salt: the key must be the same for every process of the cluster, with no nonce to mix in).
 *
 * @module
 */

const _INFO = new TextEncoder().encode("circuit v1 discovery");

/**
 * Derives the discovery key from the cluster key. Derive it once per process.
 *
 * @example
 * ```ts
 * import { discoveryKey } from "./discovery_mac.ts";
 * const dk = await discoveryKey(crypto.getRandomValues(new Uint8Array(64)));
 * console.log(dk.algorithm.name); // "HMAC"
 * ```
 */
export async function discoveryKey(key: Uint8Array): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", key as Uint8Array<ArrayBuffer>, "HKDF", false, [
    "deriveKey",
  ]);
  return await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: _INFO },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

/**
 * Returns the 32-byte HMAC of a datagram's decoded payload.
 *
 * @example
 * ```ts
 * import { discoveryKey, macPayload } from "./discovery_mac.ts";
 * const dk = await discoveryKey(crypto.getRandomValues(new Uint8Array(64)));
 * console.log((await macPayload(dk, new TextEncoder().encode("{}"))).length); // 32
 * ```
 */
export async function macPayload(dk: CryptoKey, payload: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", dk, payload as Uint8Array<ArrayBuffer>));
}

/**
 * Whether `mac` is the HMAC of `payload` under `dk`, compared in constant time.
 *
 * @example
 * ```ts
 * import { discoveryKey, macPayload, verifyPayload } from "./discovery_mac.ts";
 * const dk = await discoveryKey(crypto.getRandomValues(new Uint8Array(64)));
 * const payload = new TextEncoder().encode('{"Origin":"client","Addr":""}');
 * console.log(await verifyPayload(dk, payload, await macPayload(dk, payload))); // true
 * ```
 */
export async function verifyPayload(dk: CryptoKey, payload: Uint8Array, mac: Uint8Array): Promise<boolean> {
  // WebCrypto's HMAC verify compares in constant time.
  return await crypto.subtle.verify(
    "HMAC",
    dk,
    mac as Uint8Array<ArrayBuffer>,
    payload as Uint8Array<ArrayBuffer>,
  );
}
