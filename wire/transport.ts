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

/** Seals outgoing records; the result is what follows the record's length prefix on the wire. */
export interface FrameSealer {
  sealBody(record: Uint8Array): Promise<Uint8Array>;
}

/** Opens incoming sealed frames; throws when one does not authenticate. */
export interface FrameOpener {
  open(prefix: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
}

/** AES-GCM's tag, appended to every sealed record. */
const _TAG_BYTES = 16;

/** Largest plaintext of a sealed record: one largest frame with its length prefix. */
const _MAX_RECORD_BYTES = MAX_FRAME_BYTES + 4;

/**
 * A record is closed once it holds this much: WebCrypto seals and opens the records of one
 * write concurrently, on both cores, and a ~64 KiB record amortises the fixed ~50 µs per call.
 */
const _RECORD_TARGET = 64 * 1024;

/**
 * Cuts a batch into records of whole frames: a record ends at the first frame boundary at or
 * past {@link _RECORD_TARGET}, or before a frame that would take it past {@link _MAX_RECORD_BYTES}.
 */
function _records(batch: _Batch): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (let i = 1; i <= batch.starts.length; i++) {
    const end = i < batch.starts.length ? batch.starts[i] : batch.len;
    const next = i < batch.starts.length
      ? (i + 1 < batch.starts.length ? batch.starts[i + 1] : batch.len)
      : end;
    if (i === batch.starts.length || end - from >= _RECORD_TARGET || next - from > _MAX_RECORD_BYTES) {
      out.push(batch.buf.subarray(from, end));
      from = end;
    }
  }
  return out;
}

/** Appends the frames of an opened record to `bodies`; throws if they do not fill it exactly. */
function _splitRecord(record: Uint8Array, bodies: Uint8Array[]): void {
  let off = 0;
  while (off < record.length) {
    if (record.length - off < 4) throw new Error("sealed record ends inside a frame header");
    const len = ((record[off] << 24) | (record[off + 1] << 16) | (record[off + 2] << 8) | record[off + 3]) >>>
      0;
    if (len > MAX_FRAME_BYTES || off + 4 + len > record.length) throw new Error("bad frame in sealed record");
    bodies.push(record.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
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

/**
 * Writes being sealed at once per connection: two keep WebCrypto (which runs on its own threads)
 * busy on one while the other is written, without cutting a busy connection's output into many
 * small records, each of which costs a fixed ~50 µs.
 */
const _SEALS_IN_FLIGHT = 2;

/**
 * Records read ahead and being opened (WebCrypto works on its own threads) while the frames of
 * earlier ones are dispatched; bounds the sealed bytes held per connection to 8 records.
 */
const _OPENS_AHEAD = 8;

/** First size of a batch buffer: small, so a short-lived CLI allocates little; it grows to fit (doubling) and is reused. */
const _BATCH_INITIAL = 16 * 1024;

/** A record being opened: its plaintext once WebCrypto is done. */
interface _Opening {
  opened: Promise<Uint8Array>;
  plain: Uint8Array | null;
}

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
  #sealer: FrameSealer | null = null;
  // Keyed output: writes being sealed or written, in wire order, and their plaintext bytes.
  #sealJobs = 0;
  #sealedBytes = 0;
  #written: Promise<void> = Promise.resolve();
  // Keyed input: records being opened, in arrival order, and the read ahead that finds more.
  #opening: _Opening[] = [];
  #ahead: Promise<boolean> | null = null;
  // Sealed records of one write, gathered with their prefixes; reused, as fresh pages are costly.
  #sealedOut = new Uint8Array(0);
  #opener: FrameOpener | null = null;
  #onWriteError: (err: unknown) => void = () => {};

  /** Wraps a connection; nothing is read or written until asked. */
  constructor(conn: ByteConn) {
    this.#conn = conn;
  }

  /**
   * From now on, seal outgoing and open incoming traffic (called once the handshake is done).
   * The sealed unit is a record: the frames of one write (length-prefixed, back to back, at
   * most {@link MAX_FRAME_BYTES} + 4 bytes in all unless a single frame is that large), sealed
   * together, so a burst of small frames costs one AES-GCM operation instead of one each.
   */
  encrypt(sealer: FrameSealer, opener: FrameOpener): void {
    this.#sealer = sealer;
    this.#opener = opener;
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
   * Reads the next frame body, or `null` at a clean end of stream (before encryption starts:
   * the handshake's messages). Throws on an oversized length, a truncated frame or a read error.
   * The body is a view of the read buffer, valid until the next read.
   */
  async read(): Promise<Uint8Array | null> {
    if (this.#opener) throw new Error("read() is for the handshake; use readBatch()");
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
   * Once encrypted, the unit on the wire is a sealed record holding one or more whole frames
   * (see {@link FrameTransport.encrypt}); records are opened concurrently, as they arrive, and
   * their frames returned in order.
   */
  async readBatch(): Promise<Uint8Array[] | null> {
    if (this.#opener) return this.#readOpened();
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

  // The frames of the oldest record being opened. While it is decrypted the socket is read
  // ahead and further records start opening, so decryption overlaps reading and dispatching.
  async #readOpened(): Promise<Uint8Array[] | null> {
    for (;;) {
      if (this.#opening.length > 0) {
        if (this.#ahead === null && this.#opening.length < _OPENS_AHEAD) this.#readAhead();
        // The oldest record, and after it every following one already opened, in one batch.
        const bodies: Uint8Array[] = [];
        _splitRecord(await this.#opening.shift()!.opened, bodies);
        while (this.#opening.length > 0 && this.#opening[0].plain !== null) {
          _splitRecord(this.#opening.shift()!.plain!, bodies);
        }
        return bodies;
      }
      const ahead = this.#ahead ?? this.#readRecords();
      this.#ahead = null;
      if (!await ahead) return null;
    }
  }

  #readAhead(): void {
    const ahead = this.#readRecords();
    this.#ahead = ahead;
    // A successful read ahead is done with; an end or an error stays for #readOpened to report.
    ahead.then((more) => {
      if (more && this.#ahead === ahead) this.#ahead = null;
    }, () => {});
  }

  // Reads at least one whole record and starts opening every whole record buffered; false at a
  // clean end of stream. WebCrypto copies its input at once, so the buffer may then move on.
  async #readRecords(): Promise<boolean> {
    if (!await this.#fill(4)) return false;
    const first = this.#length();
    if (!await this.#fill(4 + first)) throw new Error("connection closed inside a frame");
    const opener = this.#opener!;
    for (;;) {
      const len = this.#length();
      const prefix = this.#buf.subarray(this.#start, this.#start + 4);
      const entry: _Opening = {
        opened: opener.open(prefix, this.#buf.subarray(this.#start + 4, this.#start + 4 + len)),
        plain: null,
      };
      // Failures surface, in order, when the record is taken; until then they are not unhandled.
      entry.opened.then((plain) => (entry.plain = plain), () => {});
      this.#opening.push(entry);
      this.#start += 4 + len;
      if (this.#end - this.#start < 4 || this.#end - this.#start < 4 + this.#length()) break;
    }
    return true;
  }

  #length(): number {
    const b = this.#buf;
    const s = this.#start;
    const len = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
    const limit = this.#opener ? _MAX_RECORD_BYTES + _TAG_BYTES : MAX_FRAME_BYTES;
    if (len > limit) throw new Error(`frame of ${len} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
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
    if (this.#sealedBytes + b.len + 4 + len > _MAX_PENDING_WRITE) {
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
      queueMicrotask(() => this.#sealer ? this.#flushSealed() : this.#flush());
    }
  }

  // Keyed: cuts the queued frames into records and starts sealing them at once (WebCrypto copies
  // its input, so the batch is reused straight away); writes go out in order as seals complete.
  // With the in-flight limit reached, frames keep queueing and go out in the next, larger cut.
  #flushSealed(): void {
    this.#flushing = false;
    const batch = this.#filling;
    if (batch.len === 0 || this.#closed || this.#sealJobs >= _SEALS_IN_FLIGHT) return;
    const sealer = this.#sealer!;
    const sealing = Promise.all(_records(batch).map((r) => sealer.sealBody(r)));
    const bytes = batch.len;
    batch.clear();
    this.#sealJobs++;
    this.#sealedBytes += bytes;
    this.#written = this.#written.then(async () => {
      const chunk = this.#gather(await sealing);
      let off = 0;
      while (off < chunk.length && !this.#closed) off += await this.#conn.write(chunk.subarray(off));
    }).catch((err) => this.#fail(err)).finally(() => {
      this.#sealJobs--;
      this.#sealedBytes -= bytes;
      this.#flushSealed();
    });
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

  // Lays out `[u32 BE length][sealed body]` per record in the reused output buffer.
  #gather(bodies: Uint8Array[]): Uint8Array {
    let n = 0;
    for (const body of bodies) n += 4 + body.length;
    // A burst beyond the spare limit gets a buffer of its own, returned to the OS afterwards.
    if (n <= _SPARE_LIMIT && this.#sealedOut.length < n) {
      this.#sealedOut = new Uint8Array(Math.min(_SPARE_LIMIT, Math.max(n, 2 * this.#sealedOut.length)));
    }
    const out = n > _SPARE_LIMIT ? new Uint8Array(n) : this.#sealedOut;
    let off = 0;
    for (const body of bodies) {
      const len = body.length;
      out[off] = len >>> 24;
      out[off + 1] = (len >>> 16) & 0xff;
      out[off + 2] = (len >>> 8) & 0xff;
      out[off + 3] = len & 0xff;
      out.set(body, off + 4);
      off += 4 + len;
    }
    return out.subarray(0, n);
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
    while ((this.#flushing || this.#filling.len > 0 || this.#sealJobs > 0) && !this.#closed) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
