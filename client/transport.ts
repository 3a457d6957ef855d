/**
 * Framed I/O over a byte connection: length-prefixed frame bodies in, and batched frame
 * bodies out, optionally sealed with AES-256-GCM after a keyed handshake.
 *
 * @module
 */
import { MAX_FRAME_BYTES } from "./frame.ts";

/** A full-duplex byte connection (a `Deno.Conn` has this shape). */
export interface ByteConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** Seals outgoing frame bodies into complete wire frames (prefix included). */
export interface FrameSealer {
  seal(body: Uint8Array): Promise<Uint8Array>;
}

/** Opens incoming sealed frames; throws when one does not authenticate. */
export interface FrameOpener {
  open(prefix: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
}

/** Size of each fresh read buffer: large enough that a 64 KiB data frame rarely straddles two reads. */
const _READ_CHUNK = 256 * 1024;

/** Refuse to queue more than this much unsent output: a peer that stops reading gets disconnected. */
const _MAX_PENDING_WRITE = 64 * 1024 * 1024;

/**
 * Reads frames from, and writes frames to, a byte connection.
 *
 * @example
 * ```ts ignore
 * import { FrameTransport } from "./transport.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 4000 });
 * const t = new FrameTransport(conn);
 * t.send(new Uint8Array([0x91, 0x07])); // a ping
 * ```
 */
export class FrameTransport {
  #conn: ByteConn;
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushing = false;
  #closed = false;
  #sealer: FrameSealer | null = null;
  #opener: FrameOpener | null = null;
  #onWriteError: (err: unknown) => void = () => {};

  /** Wraps a connection; nothing is read or written until asked. */
  constructor(conn: ByteConn) {
    this.#conn = conn;
  }

  /** From now on, seal outgoing and open incoming frames (called once the handshake is done). */
  encrypt(sealer: FrameSealer, opener: FrameOpener): void {
    this.#sealer = sealer;
    this.#opener = opener;
  }

  /** Called once when a write fails (the connection is then unusable). */
  set onWriteError(fn: (err: unknown) => void) {
    this.#onWriteError = fn;
  }

  /**
   * Reads the next frame body, or `null` at a clean end of stream. Throws on an oversized
   * length, a truncated frame, a frame that does not authenticate, or a read error.
   */
  async read(): Promise<Uint8Array | null> {
    const ready = this.#opener ? null : this.readBuffered();
    if (ready) return ready;
    if (!await this.#fill(4, true)) return null;
    const len = this.#length();
    if (!await this.#fill(4 + len, false)) throw new Error("connection closed inside a frame");
    const prefix = this.#buf.subarray(this.#start, this.#start + 4);
    const body = this.#buf.subarray(this.#start + 4, this.#start + 4 + len);
    this.#start += 4 + len;
    return this.#opener ? await this.#opener.open(prefix, body) : body;
  }

  /**
   * The next frame body if it is already buffered (and frames are not sealed), else null. Lets
   * the reader dispatch every frame of one socket read in one go, so the replies they cause
   * leave in one write.
   */
  readBuffered(): Uint8Array | null {
    if (this.#opener || this.#end - this.#start < 4) return null;
    const len = this.#length();
    if (this.#end - this.#start < 4 + len) return null;
    const body = this.#buf.subarray(this.#start + 4, this.#start + 4 + len);
    this.#start += 4 + len;
    return body;
  }

  #length(): number {
    const b = this.#buf;
    const s = this.#start;
    const len = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
    const limit = this.#opener ? MAX_FRAME_BYTES + 16 : MAX_FRAME_BYTES;
    if (len > limit) throw new Error(`frame of ${len} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
    return len;
  }

  /** Ensures `need` unread bytes are buffered; false at EOF (before any byte when `atBoundary`). */
  async #fill(need: number, atBoundary: boolean): Promise<boolean> {
    if (this.#end - this.#start >= need) return true;
    if (this.#buf.length - this.#start < need) {
      // Bodies handed out are views into the old buffer, so move the tail to a fresh one
      // instead of compacting in place.
      const fresh = new Uint8Array(Math.max(_READ_CHUNK, need));
      fresh.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = fresh;
    }
    while (this.#end - this.#start < need) {
      const n = await this.#conn.read(this.#buf.subarray(this.#end));
      if (n === null) {
        if (atBoundary && this.#end === this.#start) return false;
        return false;
      }
      this.#end += n;
    }
    return true;
  }

  /**
   * Queues one frame body for sending; frames queued in the same tick go out in one write.
   * `body` is copied, so the caller may reuse it at once.
   */
  send(body: Uint8Array): void {
    if (this.#closed) return;
    if (body.length > MAX_FRAME_BYTES) throw new Error(`frame of ${body.length} bytes exceeds the limit`);
    const frame = new Uint8Array(4 + body.length);
    new DataView(frame.buffer).setUint32(0, body.length);
    frame.set(body, 4);
    this.#out.push(frame);
    this.#outBytes += frame.length;
    if (this.#outBytes > _MAX_PENDING_WRITE) {
      this.#fail(new Error("peer is not reading"));
      return;
    }
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#out.length > 0 && !this.#closed) {
        const frames = this.#out;
        this.#out = [];
        this.#outBytes = 0;
        let chunk: Uint8Array;
        if (this.#sealer) {
          const sealed: Uint8Array[] = [];
          for (const f of frames) sealed.push(await this.#sealer.seal(f.subarray(4)));
          chunk = _concat(sealed);
        } else {
          chunk = frames.length === 1 ? frames[0] : _concat(frames);
        }
        let off = 0;
        while (off < chunk.length) off += await this.#conn.write(chunk.subarray(off));
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#flushing = false;
    }
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.close();
    this.#onWriteError(err);
  }

  /** Closes the connection; queued frames not yet written are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out = [];
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
  }

  /** Resolves once everything queued so far has been written (used before closing on purpose). */
  async drain(): Promise<void> {
    while ((this.#flushing || this.#out.length > 0) && !this.#closed) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

function _concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
