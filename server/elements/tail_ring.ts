/**
 * The ring of a stream's last output, read by `tail` without consuming anything (SPEC §13.2).
 * It is fed by the stream's {@link OutputBuffer} as bytes arrive, whether or not anyone reads
 * them, and grows only as output arrives, so an idle process costs nothing.
 *
 * @module
 */
import { CircuitError } from "../../wire/errors.ts";
import type { AckedReader } from "../../wire/streams.ts";

/** SPEC §13.2: every output stream keeps its last 256 KiB unless `start -tail` says otherwise. */
export const DEFAULT_TAIL_BYTES = 256 * 1024;

// Process-wide: one server per process, and `start -tail` sets it before any element exists.
let _capacity = DEFAULT_TAIL_BYTES;

/** Sets the ring size of streams created from now on (`start -tail BYTES`; 0 turns tail off). */
export function setTailCapacity(bytes: number): void {
  _capacity = bytes;
}

// The first allocation: small, so a process that prints one line does not cost a full ring.
const _FIRST_ALLOCATION = 4096;

/**
 * The last `capacity` bytes of a stream. Byte number `o` (counted from the stream's start) lies
 * at index `o` while the buffer is still growing, and at `o % capacity` once it is full size.
 *
 * @example
 * ```ts
 * import { TailRing } from "./tail_ring.ts";
 * const ring = new TailRing(4);
 * ring.write(new TextEncoder().encode("abcdef"));
 * console.log(new TextDecoder().decode(ring.slice(0, 10).bytes)); // "cdef"
 * ```
 */
export class TailRing {
  readonly capacity: number;
  #buf = new Uint8Array(0);
  #written = 0;
  #ended = false;
  #waiters = new Set<() => void>();

  /** A ring of `capacity` bytes (default: the server's `-tail` setting). */
  constructor(capacity: number = _capacity) {
    this.capacity = capacity;
  }

  /** Bytes written since the stream began. */
  get written(): number {
    return this.#written;
  }

  /** The offset of the oldest byte still held. */
  get start(): number {
    return Math.max(0, this.#written - this.capacity);
  }

  /** Whether the stream has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Copies `chunk` in (the caller may reuse its buffer afterwards). */
  write(chunk: Uint8Array): void {
    if (this.capacity === 0 || chunk.length === 0) return;
    const need = this.#written + chunk.length;
    if (this.#buf.length < this.capacity && need > this.#buf.length) {
      const size = Math.min(this.capacity, Math.max(need, this.#buf.length * 2, _FIRST_ALLOCATION));
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, this.#written));
      this.#buf = grown;
    }
    const cap = this.#buf.length;
    // Only the last `cap` bytes of a long chunk can survive.
    const skip = Math.max(0, chunk.length - cap);
    let at = (this.#written + skip) % cap;
    let from = skip;
    while (from < chunk.length) {
      const n = Math.min(chunk.length - from, cap - at);
      this.#buf.set(chunk.subarray(from, from + n), at);
      from += n;
      at = (at + n) % cap;
    }
    this.#written = need;
    this.#wake();
  }

  /** Marks the end of the stream. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** A copy of at most `max` bytes from offset `from` (moved up to `start` if older), and where they begin. */
  slice(from: number, max: number): { at: number; bytes: Uint8Array } {
    const at = Math.max(from, this.start);
    const n = Math.max(0, Math.min(max, this.#written - at));
    const out = new Uint8Array(n);
    const cap = this.#buf.length;
    let copied = 0;
    while (copied < n) {
      const i = (at + copied) % cap;
      const k = Math.min(n - copied, cap - i);
      out.set(this.#buf.subarray(i, i + k), copied);
      copied += k;
    }
    return { at, bytes: out };
  }

  /** Resolves when bytes arrive or the stream ends. */
  changed(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const waiter = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  #wake(): void {
    if (this.#waiters.size === 0) return;
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  /**
   * A reader of the last `bytes` bytes held and, with `follow`, of everything after them until
   * the stream ends. It takes nothing from the stream's own reader; a follower slower than the
   * ring skips what was overwritten. Throws `tail is off on this server` for a ring of size 0.
   */
  openTail(bytes: number, follow: boolean): AckedReader {
    if (this.capacity === 0) throw new CircuitError("tail is off on this server");
    let pos = Math.max(this.start, this.#written - bytes);
    const stop = follow ? Infinity : this.#written;
    return {
      read: async (max, signal) => {
        while (true) {
          if (pos < Math.min(stop, this.#written)) {
            const { at, bytes } = this.slice(pos, Math.min(max, stop - pos));
            pos = at + bytes.length;
            return bytes;
          }
          if (!follow || this.#ended) return null;
          await this.changed(signal);
        }
      },
      // Nothing is taken from the stream, so there is nothing to acknowledge or give back.
      ack: () => {},
      ackEnd: () => {},
      release: () => {},
    };
  }
}
