/**
 * The cluster key: generating one (`circuit keygen`) and parsing the text of a key file (SPEC §2.5).
 *
 * @module
 */
import { CircuitError } from "../errors.ts";

/** Bytes of a generated key: 512 bits, far beyond any brute force and a full SHA-256 block for HKDF. */
const _GENERATED_BYTES = 64;

/** Shortest key accepted: 128 bits, the smallest size that still resists brute force. */
const _MIN_KEY_BYTES = 16;

/** Standard base64 (RFC 4648 §4): alphabet characters, then at most two `=` closing a 4-character group. */
const _BASE64_CHAR = /[A-Za-z0-9+/]/;

/**
 * Generates a new cluster key: base64 of 64 bytes from the CSPRNG (88 characters, no newline).
 *
 * @example
 * ```ts
 * import { generateKey } from "./keys.ts";
 * console.log(generateKey().length); // 88
 * ```
 */
export function generateKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(_GENERATED_BYTES));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * Decodes the text of a key file: standard base64 with `=` padding, all whitespace ignored, at least
 * 16 bytes. `path` only appears in error messages. Throws a {@linkcode CircuitError} with the cause
 * text of SPEC §2.5.
 *
 * @example
 * ```ts
 * import { parseKeyText } from "./keys.ts";
 * const key = parseKeyText("AAECAwQFBgcICQoLDA0ODw==\n", ".hmac");
 * console.log(key.length); // 16
 * ```
 */
export function parseKeyText(text: string, path: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/\s+/g, "");
  if (b64 === "") throw new CircuitError(`key file ${path} is empty`);
  const bad = _firstInvalidByte(b64);
  if (bad >= 0) {
    throw new CircuitError(`problem decoding base64 private key: illegal base64 data at input byte ${bad}`);
  }
  const bin = atob(b64);
  const key = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) key[i] = bin.charCodeAt(i);
  if (key.length < _MIN_KEY_BYTES) {
    throw new CircuitError(`key too short (${key.length} bytes; at least ${_MIN_KEY_BYTES})`);
  }
  return key;
}

/**
 * Index (in the whitespace-free text) of the first byte that makes `b64` invalid padded base64, or
 * -1. `atob` alone is too forgiving (it accepts missing padding), so the format is checked first.
 */
function _firstInvalidByte(b64: string): number {
  let pad = 0;
  for (let i = 0; i < b64.length; i++) {
    if (b64[i] === "=") {
      // Padding may only close the final group, leaving at least two data characters in it.
      if (i % 4 < 2 || pad === 0 && i < b64.length - 2) return i;
      pad++;
    } else if (pad > 0 || !_BASE64_CHAR.test(b64[i])) {
      return i;
    }
  }
  return b64.length % 4 === 0 ? -1 : b64.length;
}
