/**
 * The key holders' proof inside TLS (SPEC §10.1): `Deno.listenTls` cannot ask a dialer for a
 * certificate, so the dialer (and, belt and braces, the acceptor) proves it holds the cluster key
 * by the framed HMAC-SHA256 challenge–response of the previous revision, run inside the TLS 1.3
 * channel. These functions only compute; framing and transport are the caller's.
 *
 * Protocol, for a dialer D connecting to an acceptor A whose identity is `"<workerID>/<pid>"`:
 * 1. D and A each send a fresh 32-byte nonce from {@linkcode newNonce}.
 * 2. Both call `HandshakeKeys.derive(key, dialerNonce, acceptorNonce)`: HKDF-SHA256 with salt
 *    dialerNonce ‖ acceptorNonce and info `"circuit v1 auth"` yields an HMAC key fresh for every
 *    connection.
 * 3. Each side sends `prove(ownRole, identity)` = HMAC-SHA256(auth key, role label ‖ dialerNonce ‖
 *    acceptorNonce ‖ utf8(identity)) and checks the peer's with `verify(peerRole, identity, proof)`.
 *    The role label differs, so a proof reflected back to its sender fails; the nonces make it
 *    useless on any other connection.
 *
 * @module
 */

/** Which end of a connection: the side that dialed or the side that accepted. */
export type Role = "dialer" | "acceptor";

/** Bytes of a handshake nonce: 256 bits, so two connections never share one. */
export const NONCE_BYTES = 32;

const _enc = new TextEncoder();

/** HKDF `info` label of the proof key; distinct from every other use of the key. */
const _INFO_AUTH = _enc.encode("circuit v1 auth");

/**
 * First bytes of each role's proof input. They differ in their first byte, so no proof input of
 * one role can equal one of the other (the nonces that follow have a fixed length).
 */
const _PROOF_LABEL: Record<Role, Uint8Array> = {
  dialer: _enc.encode("dialer"),
  acceptor: _enc.encode("acceptor"),
};

/**
 * Returns a fresh random handshake nonce of {@linkcode NONCE_BYTES} bytes.
 *
 * @example
 * ```ts
 * import { newNonce } from "./handshake.ts";
 * console.log(newNonce().length); // 32
 * ```
 */
export function newNonce(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
}

/**
 * The proof key of one connection, derived from the cluster key and both nonces.
 *
 * @example
 * ```ts
 * import { HandshakeKeys, newNonce } from "./handshake.ts";
 * const key = crypto.getRandomValues(new Uint8Array(64));
 * const dn = newNonce(), an = newNonce();
 * const dialer = await HandshakeKeys.derive(key, dn, an);
 * const acceptor = await HandshakeKeys.derive(key, dn, an);
 * const proof = await dialer.prove("dialer", "Q1234567890abcdef/42");
 * console.log(await acceptor.verify("dialer", "Q1234567890abcdef/42", proof)); // true
 * console.log(await acceptor.verify("acceptor", "Q1234567890abcdef/42", proof)); // false: reflected
 * ```
 */
export class HandshakeKeys {
  #auth: CryptoKey;
  #nonces: Uint8Array;

  private constructor(auth: CryptoKey, nonces: Uint8Array) {
    this.#auth = auth;
    this.#nonces = nonces;
  }

  /**
   * Derives the keys of a connection from the cluster key and the two nonces. Both sides must pass
   * the nonces in the same order (dialer's first). Throws a `RangeError` when a nonce is not
   * {@linkcode NONCE_BYTES} long, so a malformed handshake message cannot weaken the derivation.
   */
  static async derive(
    key: Uint8Array,
    dialerNonce: Uint8Array,
    acceptorNonce: Uint8Array,
  ): Promise<HandshakeKeys> {
    if (dialerNonce.length !== NONCE_BYTES || acceptorNonce.length !== NONCE_BYTES) {
      throw new RangeError(`handshake nonces must be ${NONCE_BYTES} bytes`);
    }
    const nonces = new Uint8Array(2 * NONCE_BYTES);
    nonces.set(dialerNonce);
    nonces.set(acceptorNonce, NONCE_BYTES);
    const base = await crypto.subtle.importKey("raw", key as Uint8Array<ArrayBuffer>, "HKDF", false, [
      "deriveKey",
    ]);
    const auth = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: nonces, info: _INFO_AUTH },
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign", "verify"],
    );
    return new HandshakeKeys(auth, nonces);
  }

  /** The proof that the side playing `role` knows the key, bound to the target's `identity`. */
  async prove(role: Role, identity: string): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await crypto.subtle.sign("HMAC", this.#auth, this.#proofInput(role, identity)));
  }

  #proofInput(role: Role, identity: string): Uint8Array<ArrayBuffer> {
    const label = _PROOF_LABEL[role];
    const id = _enc.encode(identity);
    const input = new Uint8Array(label.length + this.#nonces.length + id.length);
    input.set(label);
    input.set(this.#nonces, label.length);
    input.set(id, label.length + this.#nonces.length);
    return input;
  }

  /** Whether `proof` is the proof of the side playing `role` for `identity`; compared in constant time. */
  async verify(role: Role, identity: string, proof: Uint8Array): Promise<boolean> {
    // WebCrypto's HMAC verify compares in constant time (and needs no node:crypto, whose
    // import costs the CLI tens of milliseconds at start).
    return await crypto.subtle.verify(
      "HMAC",
      this.#auth,
      proof as Uint8Array<ArrayBuffer>,
      this.#proofInput(role, identity),
    );
  }
}
