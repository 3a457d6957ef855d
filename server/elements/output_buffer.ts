/**
 * The server-side buffer behind a process's (or container's) stdout and stderr (SPEC §7.2, §7.7):
 * it reads the pipe from the process's birth, holds up to a limit, and hands bytes to one
 * reader at a time with acknowledged delivery.
 *
 * @module
 */
import { CircuitError } from "../../wire/errors.ts";
import type { AckedReader, AckedSource } from "../../wire/streams.ts";
import { TailRing } from "./tail_ring.ts";

// SPEC §7.2: output is buffered up to 1 MiB per stream before the process blocks on write.
const DEFAULT_LIMIT = 1 << 20;
// A piece at least this long goes out as a view of its chunk; shorter pieces are gathered with
// the following chunks into one copy, so a process writing tiny lines does not cost one wire
// frame per line, while the bulk path (full pipe reads) is never copied here.
const GATHER_BELOW = 16 * 1024;
// One pipe read: a Linux pipe holds 64 KiB, so a full pipe empties in one read.
const PIPE_READ_BYTES = 64 * 1024;
// A read at least this long is kept in its buffer; a shorter one is copied out. At most twice
// the limit of buffer memory is then held for a limit of bytes.
const KEEP_READS_FROM = 32 * 1024;
// Acknowledged read buffers kept for reuse: enough to refill a full buffer.
const MAX_SPARES = 17;
// How many consumed chunk slots the queue tolerates at its head before compacting the array,
// so dropping acknowledged chunks stays O(1) amortised instead of an O(n) `shift()` each time.
const COMPACT_AFTER = 1024;

/**
 * A bounded byte buffer fed from a `ReadableStream` (a child's stdout or stderr) and read through
 * a single {@link AckedReader} at a time. Bytes leave the buffer only when acknowledged; a
 * released reader's unacknowledged bytes are handed out again to the next reader.
 *
 * @example
 * ```ts
 * import { OutputBuffer } from "./output_buffer.ts";
 * const child = new Deno.Command("/bin/echo", { args: ["hi"], stdout: "piped" }).spawn();
 * const out = new OutputBuffer("stdout");
 * const pumped = out.pump(child.stdout);
 * const reader = out.openReader();
 * const bytes = await reader.read(65536); // "hi\n"
 * reader.ack(bytes!.length);
 * console.log(await reader.read(65536)); // null: end of stream
 * reader.ackEnd();
 * await pumped;
 * await child.status;
 * ```
 */
export class OutputBuffer implements AckedSource {
  /** The stream's name, used in error texts (`stdout is being read by another client`). */
  readonly name: "stdout" | "stderr";
  /** The last output, kept for `tail` whether or not anyone reads the stream (SPEC §13.2). */
  readonly ring: TailRing = new TailRing();
  readonly #limit: number;
  // Chunks not yet acknowledged; entries before #head are consumed and wait for compaction.
  #chunks: Uint8Array[] = [];
  // Read buffers this buffer owns outright (chunks kept in place), and spare ones to read into.
  #owned = new WeakSet<ArrayBufferLike>();
  #spares: Uint8Array[] = [];
  #head = 0;
  // Offset of the first unacknowledged byte within #chunks[#head].
  #headOffset = 0;
  // Bytes in the queue (unacknowledged, including those handed out).
  #buffered = 0;
  // Read cursor: the next byte to hand out is #chunks[#readIndex][#readOffset].
  #readIndex = 0;
  #readOffset = 0;
  // Bytes handed out but not acknowledged (they lie between the head and the read cursor).
  #handed = 0;
  #ended = false;
  #discarded = false;
  #reader: AckedReader | null = null;
  // Wake the reads waiting for data, end of stream or the reader's release.
  #dataWaiters: (() => void)[] = [];
  // Wakes the pump waiting for room below the limit.
  #roomWaiter: (() => void) | null = null;

  /** A buffer for the stream called `name`, holding up to `limit` bytes before it stops reading. */
  constructor(name: "stdout" | "stderr", limit: number = DEFAULT_LIMIT) {
    this.name = name;
    this.#limit = limit;
  }

  /**
   * Reads `source` into the buffer until it ends or fails (either marks end of stream). While
   * `limit` bytes are buffered it stops reading, so the writing process blocks on its pipe.
   * Resolves at end of stream.
   *
   * @example
   * ```ts
   * import { OutputBuffer } from "./output_buffer.ts";
   * const out = new OutputBuffer("stderr");
   * await out.pump(new Blob(["boom"]).stream());
   * ```
   */
  async pump(source: ReadableStream<Uint8Array>): Promise<void> {
    let byob: ReadableStreamBYOBReader;
    try {
      byob = source.getReader({ mode: "byob" });
    } catch {
      return this.#pumpChunks(source);
    }
    // A child's pipe is a byte stream: reading it into our own buffers is ~2× faster than the
    // default reader, and acknowledged buffers are reused, as fresh memory is costly to touch.
    let buf = this.#spares.pop() ?? new Uint8Array(PIPE_READ_BYTES);
    try {
      while (true) {
        await this.#room();
        const { done, value } = await byob.read(buf);
        if (done || value === undefined) break;
        // The read transferred the buffer; take it back.
        buf = new Uint8Array(value.buffer);
        // The ring copies, before the buffer is reused; it keeps discarded output too (SPEC §13.2).
        this.ring.write(value);
        if (this.#discarded || value.length === 0) continue;
        if (value.length < KEEP_READS_FROM) {
          // A short read is copied out, so a chatty process does not pin a buffer per line.
          this.#push(value.slice());
          continue;
        }
        this.#owned.add(value.buffer);
        this.#push(value);
        buf = this.#spares.pop() ?? new Uint8Array(PIPE_READ_BYTES);
      }
    } catch {
      // A failing pipe ends the stream like EOF: the process's output is what was read so far.
    } finally {
      this.#end();
      byob.releaseLock();
    }
  }

  async #pumpChunks(source: ReadableStream<Uint8Array>): Promise<void> {
    const reader = source.getReader();
    try {
      while (true) {
        await this.#room();
        const { done, value } = await reader.read();
        if (done) break;
        this.ring.write(value);
        if (this.#discarded || value.length === 0) continue;
        this.#push(value);
      }
    } catch {
      // As above: a failing stream ends like EOF.
    } finally {
      this.#end();
      reader.releaseLock();
    }
  }

  // While `limit` bytes are buffered, waits: the writing process then blocks on its pipe.
  async #room(): Promise<void> {
    while (this.#buffered >= this.#limit && !this.#discarded) {
      await new Promise<void>((resolve) => this.#roomWaiter = resolve);
    }
  }

  #push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#wakeReaders();
  }

  #end(): void {
    this.ring.end();
    this.#ended = true;
    this.#wakeReaders();
  }

  /**
   * Opens the single reader. Throws `CircuitError("<name> is being read by another client")`
   * while another reader is open.
   *
   * @example
   * ```ts
   * import { OutputBuffer } from "./output_buffer.ts";
   * const out = new OutputBuffer("stdout");
   * const reader = out.openReader();
   * reader.release(); // the next openReader() succeeds
   * ```
   */
  openReader(): AckedReader {
    if (this.#reader !== null) throw new CircuitError(`${this.name} is being read by another client`);
    // Inert once released, so a late call from a consumer that went away cannot disturb the next one.
    let open = true;
    const reader: AckedReader = {
      read: (max, signal) => this.#read(reader, max, signal),
      ack: (n) => {
        if (open) this.#ack(reader, n);
      },
      ackEnd: () => reader.release(),
      release: () => {
        if (!open) return;
        open = false;
        this.#release(reader);
      },
    };
    this.#reader = reader;
    return reader;
  }

  /**
   * Throws away everything buffered and all future output; the pipe keeps being drained so the
   * process never blocks on it. Readers see end of stream from now on.
   *
   * @example
   * ```ts
   * import { OutputBuffer } from "./output_buffer.ts";
   * const out = new OutputBuffer("stdout");
   * out.discard();
   * console.log(await out.openReader().read(10)); // null
   * ```
   */
  discard(): void {
    this.#discarded = true;
    this.#chunks = [];
    this.#head =
      this.#headOffset =
      this.#readIndex =
      this.#readOffset =
        0;
    this.#buffered = this.#handed = 0;
    this.#wakeReaders();
    this.#wakeRoom();
  }

  async #read(reader: AckedReader, max: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    while (true) {
      signal?.throwIfAborted();
      if (this.#reader !== reader) throw new Error(`${this.name} reader already released`);
      if (this.#discarded) return null;
      if (this.#buffered > this.#handed) return this.#take(Math.max(1, max));
      if (this.#ended) return null;
      await this.#waitForData(signal);
    }
  }

  #ack(reader: AckedReader, n: number): void {
    if (this.#reader !== reader || this.#discarded) return;
    if (n > this.#handed) throw new RangeError(`ack of ${n} bytes exceeds the ${this.#handed} handed out`);
    this.#handed -= n;
    this.#buffered -= n;
    while (n > 0) {
      const left = this.#chunks[this.#head].length - this.#headOffset;
      if (n < left) {
        this.#headOffset += n;
        break;
      }
      n -= left;
      this.#dropHead();
    }
    if (this.#buffered < this.#limit) this.#wakeRoom();
  }

  // Unacknowledged bytes go back to the front for the next reader.
  #release(reader: AckedReader): void {
    if (this.#reader !== reader) return;
    this.#reader = null;
    this.#handed = 0;
    this.#readIndex = this.#head;
    this.#readOffset = this.#headOffset;
    this.#wakeReaders();
  }

  #take(max: number): Uint8Array {
    const chunk = this.#chunks[this.#readIndex];
    const piece = chunk.subarray(this.#readOffset, Math.min(chunk.length, this.#readOffset + max));
    const available = this.#buffered - this.#handed;
    if (piece.length >= GATHER_BELOW || piece.length === max || piece.length === available) {
      this.#advance(piece.length);
      return piece;
    }
    const out = new Uint8Array(Math.min(max, available));
    let filled = 0;
    while (filled < out.length) {
      const current = this.#chunks[this.#readIndex];
      const part = current.subarray(this.#readOffset, this.#readOffset + (out.length - filled));
      out.set(part, filled);
      filled += part.length;
      this.#advance(part.length);
    }
    return out;
  }

  // Moves the read cursor `n` bytes forward, never past the end of the current chunk.
  #advance(n: number): void {
    this.#handed += n;
    this.#readOffset += n;
    if (this.#readOffset === this.#chunks[this.#readIndex].length) {
      this.#readIndex++;
      this.#readOffset = 0;
    }
  }

  #dropHead(): void {
    // Every byte of the head chunk is acknowledged, and what was handed out of it has been
    // copied on (the wire layer copies each piece as it sends it): its buffer can be reused.
    const buffer = this.#chunks[this.#head].buffer;
    if (this.#owned.has(buffer) && this.#spares.length < MAX_SPARES) {
      this.#owned.delete(buffer);
      this.#spares.push(new Uint8Array(buffer));
    }
    this.#head++;
    this.#headOffset = 0;
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#readIndex -= this.#head;
      this.#head = 0;
    }
  }

  #waitForData(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#dataWaiters = this.#dataWaiters.filter((w) => w !== wake);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#dataWaiters.push(wake);
    });
  }

  #wakeReaders(): void {
    const waiters = this.#dataWaiters;
    this.#dataWaiters = [];
    for (const wake of waiters) wake();
  }

  #wakeRoom(): void {
    const wake = this.#roomWaiter;
    this.#roomWaiter = null;
    wake?.();
  }
}
