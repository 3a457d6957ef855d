/**
 * Framed I/O over a byte connection: length-prefixed frame bodies in, and batched frame
 * bodies out. With a key the byte connection is a TLS 1.3 stream (SPEC §10.2), which does
 * the sealing; frames are the same either way.
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

/**
 * Sizes of a connection's read buffer. It starts small, because zeroed pages are costly to fault
 * in and most connections (a CLI command, a handshake) carry a few small frames; a read that
 * fills it makes the next buffer four times larger, up to a size where a 64 KiB data frame
 * rarely straddles two reads.
 */
const _READ_CHUNK_FIRST = 16 * 1024;
const _READ_CHUNK_MAX = 256 * 1024;

/** Refuse to queue more than this much unsent output: a peer that stops reading gets disconnected. */
const _MAX_PENDING_WRITE = 64 * 1024 * 1024;

/** A written batch buffer is kept for reuse unless it grew beyond this (a burst's memory is returned). */
const _SPARE_LIMIT = 4 * 1024 * 1024;

/** First size of a batch buffer: small, so a short-lived CLI allocates little; it grows to fit (doubling) and is reused. */
const _BATCH_INITIAL = 16 * 1024;

/** Frames queued for one write: their bytes back to back, and where each frame starts. */
class _Batch {
  buf = new Uint8Array(_BATCH_INITIAL);
  len = 0;
  starts: number[] = [];

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  clear(): void {
    this.len = 0;
    this.starts.length = 0;
  }
}

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
  #chunk = _READ_CHUNK_FIRST;
  #start = 0;
  #end = 0;
  #filling = new _Batch();
  #spare: _Batch | null = null;
  #flushing = false;
  #corked = false;
  #closed = false;
  #onWriteError: (err: unknown) => void = () => {};

  /** Wraps a connection; nothing is read or written until asked. */
  constructor(conn: ByteConn) {
    this.#conn = conn;
  }

  /**
   * Holds the next frame back until another one joins it, so both leave in one write (a hello
   * and the first call behind it).
   */
  cork(): void {
    this.#corked = true;
  }

  /** Called once when a write fails (the connection is then unusable). */
  set onWriteError(fn: (err: unknown) => void) {
    this.#onWriteError = fn;
  }

  /**
   * Reads the next frame body, or `null` at a clean end of stream (the handshake's messages).
   * Throws on an oversized length, a truncated frame or a read error. The body is a view of
   * the read buffer, valid until the next read.
   */
  async read(): Promise<Uint8Array | null> {
    if (!await this.#fill(4)) return null;
    const len = this.#length();
    if (!await this.#fill(4 + len)) throw new Error("connection closed inside a frame");
    const body = this.#buf.subarray(this.#start + 4, this.#start + 4 + len);
    this.#start += 4 + len;
    return body;
  }

  /**
   * Reads every frame that is available now (at least one, waiting for it), or `null` at a
   * clean end of stream. The bodies are views of the read buffer, valid until the next read.
   */
  async readBatch(): Promise<Uint8Array[] | null> {
    if (!await this.#fill(4)) return null;
    const first = this.#length();
    if (!await this.#fill(4 + first)) throw new Error("connection closed inside a frame");
    const bodies: Uint8Array[] = [];
    for (;;) {
      const len = this.#length();
      bodies.push(this.#buf.subarray(this.#start + 4, this.#start + 4 + len));
      this.#start += 4 + len;
      if (this.#end - this.#start < 4 || this.#end - this.#start < 4 + this.#length()) break;
    }
    return bodies;
  }

  /**
   * The first `n` unread bytes, left unread, or `null` when the stream ends before them. The
   * handshake uses it to recognise a TLS record where a frame was expected (SPEC §10.3).
   */
  async peek(n: number): Promise<Uint8Array | null> {
    try {
      if (!await this.#fill(n)) return null;
    } catch {
      return null;
    }
    return this.#buf.subarray(this.#start, this.#start + n);
  }

  /** Writes `bytes` as they are, outside any frame (a TLS alert to a peer that spoke TLS to a plain server). */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  #length(): number {
    const b = this.#buf;
    const s = this.#start;
    const len = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
    if (len > MAX_FRAME_BYTES) {
      throw new Error(`frame of ${len} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
    }
    return len;
  }

  /**
   * Ensures `need` unread bytes are buffered. Returns false at a clean end of stream (nothing
   * unread); throws when the stream ends inside a frame.
   */
  async #fill(need: number): Promise<boolean> {
    if (this.#end - this.#start >= need) return true;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#buf.length - this.#start < need) {
      // Bodies handed out are valid only until the next read, so the buffer is reused: its
      // unread tail moves to the front, into a larger buffer when it must grow. (Fresh memory
      // is costly to fault in, and most of a connection's bytes pass through here.)
      const size = Math.max(this.#chunk, need);
      const target = size > this.#buf.length ? new Uint8Array(size) : this.#buf;
      target.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = target;
    }
    while (this.#end - this.#start < need) {
      const n = await this.#conn.read(this.#buf.subarray(this.#end));
      if (n === null) {
        if (this.#end === this.#start) return false;
        throw new Error("connection closed inside a frame");
      }
      this.#end += n;
      if (this.#end === this.#buf.length && this.#chunk < _READ_CHUNK_MAX) this.#chunk *= 4;
    }
    return true;
  }

  /**
   * Queues one frame body for sending; frames queued in the same tick go out in one write.
   * `body` is copied, so the caller may reuse it at once.
   */
  send(body: Uint8Array): void {
    this.sendParts(body);
  }

  /**
   * Queues one frame whose body is `head` followed by `tail` (a data frame's header and its
   * payload), copying both once, straight into the outgoing batch.
   */
  sendParts(head: Uint8Array, tail?: Uint8Array): void {
    if (this.#closed) return;
    const len = head.length + (tail?.length ?? 0);
    if (len > MAX_FRAME_BYTES) throw new Error(`frame of ${len} bytes exceeds the limit`);
    const b = this.#filling;
    if (b.len + 4 + len > _MAX_PENDING_WRITE) {
      this.#fail(new Error("peer is not reading"));
      return;
    }
    b.reserve(4 + len);
    b.starts.push(b.len);
    const buf = b.buf;
    buf[b.len] = len >>> 24;
    buf[b.len + 1] = (len >>> 16) & 0xff;
    buf[b.len + 2] = (len >>> 8) & 0xff;
    buf[b.len + 3] = len & 0xff;
    buf.set(head, b.len + 4);
    if (tail) buf.set(tail, b.len + 4 + head.length);
    b.len += 4 + len;
    if (this.#corked && b.starts.length > 1) this.#corked = false;
    if (!this.#flushing && !this.#corked) {
      this.#flushing = true;
      queueMicrotask(() => this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#filling.len > 0 && !this.#closed) {
        // Double buffering: frames queued while this batch is written go to the other one.
        const batch = this.#filling;
        this.#filling = this.#spare ?? new _Batch();
        this.#spare = null;
        const chunk = batch.buf.subarray(0, batch.len);
        let off = 0;
        while (off < chunk.length) off += await this.#conn.write(chunk.subarray(off));
        batch.clear();
        if (batch.buf.length <= _SPARE_LIMIT) this.#spare = batch;
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
    this.#filling.clear();
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
  }

  /** Resolves once everything queued so far has been written (used before closing on purpose). */
  async drain(): Promise<void> {
    while ((this.#flushing || this.#filling.len > 0) && !this.#closed) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
