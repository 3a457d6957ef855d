/**
 * Sealing of frames after a keyed handshake (SPEC §10.2): AES-256-GCM under one key per direction
 * and connection, the 96-bit nonce being the direction's frame counter, the 4-byte length prefix
 * authenticated as additional data. Because both ends count frames, a frame that is altered,
 * replayed, reordered, dropped or truncated fails to authenticate.
 *
 * Wire form of a sealed frame: `[u32 BE n][n bytes: ciphertext ‖ 16-byte tag]`, n = plaintext + 16.
 *
 * @module
 */
import { ConnectionError } from "../errors.ts";

/** Bytes a sealed frame body is longer than its plaintext: the GCM tag. */
export const SEAL_OVERHEAD = 16;

/**
 * Frames each direction may carry before refusing (SPEC §10.2 "a counter about to wrap"). The
 * counter is a JS number, so it stops at 2^53 - 1 instead of 2^64; at ten million frames a second
 * that is 28 years, so no real connection reaches it.
 */
export const MAX_FRAMES = Number.MAX_SAFE_INTEGER;

/** GCM's standard tag: full 128 bits, the strongest and only length every WebCrypto supports. */
const _TAG_BITS = SEAL_OVERHEAD * 8;

/** The 12-byte GCM nonce for frame `n`: zeros, then `n` big-endian in the last 8 bytes. */
function _nonce(n: number): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  const v = new DataView(iv.buffer);
  v.setUint32(4, Math.floor(n / 2 ** 32));
  v.setUint32(8, n >>> 0);
  return iv;
}

/**
 * Seals outgoing frame bodies for one direction of one connection.
 *
 * The counter is taken when `seal` is called and the returned promises resolve in call order, so
 * writing each result as it resolves keeps the wire in counter order even when calls overlap.
 *
 * @example
 * ```ts
 * import { FrameOpener, FrameSealer } from "./sealer.ts";
 * const alg = { name: "AES-GCM", length: 256 };
 * const key = await crypto.subtle.generateKey(alg, false, ["encrypt", "decrypt"]);
 * const wire = await new FrameSealer(key).seal(new TextEncoder().encode("hi"));
 * const plain = await new FrameOpener(key).open(wire.subarray(0, 4), wire.subarray(4));
 * console.log(new TextDecoder().decode(plain)); // "hi"
 * ```
 */
export class FrameSealer {
  #key: CryptoKey;
  #maxFrames: number;
  #next = 0;
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * Uses `key` (an AES-GCM 256 key allowing `encrypt`, imported once per connection) from counter 0.
   * `maxFrames` lowers the refusal bound of {@linkcode MAX_FRAMES}, which lets tests reach it.
   */
  constructor(key: CryptoKey, maxFrames: number = MAX_FRAMES) {
    this.#key = key;
    this.#maxFrames = maxFrames;
  }

  /**
   * Returns the complete wire bytes of one frame carrying `plain`: its length prefix, then
   * {@linkcode FrameSealer.sealBody}. Rejects as `sealBody` does.
   */
  async seal(plain: Uint8Array): Promise<Uint8Array> {
    const body = await this.sealBody(plain);
    const wire = new Uint8Array(4 + body.length);
    new DataView(wire.buffer).setUint32(0, body.length);
    wire.set(body, 4);
    return wire;
  }

  /**
   * Returns what follows the length prefix on the wire for a frame carrying `plain`
   * (ciphertext ‖ tag, `plain.length + SEAL_OVERHEAD` bytes; the prefix is that length). Rejects
   * with a {@linkcode ConnectionError} once the counter is exhausted; the connection must then
   * close.
   */
  sealBody(plain: Uint8Array): Promise<Uint8Array> {
    if (this.#next >= this.#maxFrames) {
      return Promise.reject(new ConnectionError("frame counter exhausted"));
    }
    const iv = _nonce(this.#next++);
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, plain.length + SEAL_OVERHEAD);
    // WebCrypto copies its inputs synchronously, so the caller may reuse `plain` at once.
    const sealed = crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: prefix, tagLength: _TAG_BITS },
      this.#key,
      plain as Uint8Array<ArrayBuffer>,
    );
    // No copy: the transport gathers the records of one write into its own reused buffer.
    const done = Promise.all([sealed, this.#tail]).then(([body]) => new Uint8Array(body));
    this.#tail = done;
    return done;
  }
}

/**
 * Opens incoming sealed frames of one direction of one connection, in the order they arrived.
 *
 * Each call takes the next counter when it is made, so calls may overlap (to use both cores) as
 * long as they are made in arrival order and their results are used in that order, stopping at the
 * first failure.
 *
 * @example
 * ```ts
 * import { FrameOpener, FrameSealer } from "./sealer.ts";
 * const alg = { name: "AES-GCM", length: 256 };
 * const key = await crypto.subtle.generateKey(alg, false, ["encrypt", "decrypt"]);
 * const wire = await new FrameSealer(key).seal(new Uint8Array([1, 2, 3]));
 * const opener = new FrameOpener(key);
 * console.log(await opener.open(wire.subarray(0, 4), wire.subarray(4))); // Uint8Array(3) [ 1, 2, 3 ]
 * // A replay: "frame authentication failed"
 * await opener.open(wire.subarray(0, 4), wire.subarray(4)).catch((e) => console.log(e.message));
 * ```
 */
export class FrameOpener {
  #key: CryptoKey;
  #maxFrames: number;
  #next = 0;
  #failed = false;

  /**
   * Uses `key` (an AES-GCM 256 key allowing `decrypt`, imported once per connection) from counter 0.
   * `maxFrames` lowers the refusal bound of {@linkcode MAX_FRAMES}, which lets tests reach it.
   */
  constructor(key: CryptoKey, maxFrames: number = MAX_FRAMES) {
    this.#key = key;
    this.#maxFrames = maxFrames;
  }

  /**
   * Returns the plaintext of the next frame, given its 4-byte length prefix and its body. Rejects
   * with a {@linkcode ConnectionError} when the frame does not authenticate or the counter is
   * exhausted; after one failure every later call fails too, as the connection must close.
   */
  async open(lengthPrefix: Uint8Array, body: Uint8Array): Promise<Uint8Array> {
    if (this.#failed) throw new ConnectionError("frame authentication failed");
    if (this.#next >= this.#maxFrames) throw new ConnectionError("frame counter exhausted");
    const iv = _nonce(this.#next++);
    try {
      const plain = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv,
          additionalData: lengthPrefix as Uint8Array<ArrayBuffer>,
          tagLength: _TAG_BITS,
        },
        this.#key,
        body as Uint8Array<ArrayBuffer>,
      );
      return new Uint8Array(plain);
    } catch {
      this.#failed = true;
      throw new ConnectionError("frame authentication failed");
    }
  }
}
