/**
 * Output of several remote programs on one terminal (SPEC §15.2): raw bytes for one, or whole
 * lines with a `<host>: ` prefix, never interleaved mid-line.
 *
 * @module
 */
import { concat } from "../wire/bytes.ts";

const _encoder = new TextEncoder();

/** One of this CLI's output streams, written in order by concurrent producers. */
export class OrderedOutput {
  #file: { write(p: Uint8Array): Promise<number> };
  #tail: Promise<void> = Promise.resolve();

  /** Wraps `file` (Deno.stdout or Deno.stderr). */
  constructor(file: { write(p: Uint8Array): Promise<number> }) {
    this.#file = file;
  }

  /** Writes all of `bytes` after every earlier write, so concurrent writers never mix. */
  write(bytes: Uint8Array): Promise<void> {
    const next = this.#tail.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await this.#file.write(bytes.subarray(off));
    });
    this.#tail = next.catch(() => {});
    return next;
  }
}

/**
 * Copies one program stream to an {@link OrderedOutput}: verbatim when `prefix` is null, else
 * line by line with `prefix` before each (a last line without newline gets one).
 *
 * @example
 * ```ts
 * import { LineWriter, OrderedOutput } from "./line_output.ts";
 * const out = new OrderedOutput(Deno.stdout);
 * await new LineWriter(out, "web1: ").drain(ReadableStream.from([new TextEncoder().encode("a\nb")]));
 * // web1: a
 * // web1: b
 * ```
 */
export class LineWriter {
  #out: OrderedOutput;
  #prefix: Uint8Array | null;
  #partial: Uint8Array[] = [];

  /** Writes to `out`, each line prefixed with `prefix` unless it is null. */
  constructor(out: OrderedOutput, prefix: string | null) {
    this.#out = out;
    this.#prefix = prefix === null ? null : _encoder.encode(prefix);
  }

  /** Copies `stream` to its end; each chunk is written before the next is pulled (and acknowledged). */
  async drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream) {
      if (this.#prefix === null) await this.#out.write(chunk);
      else await this.#lines(chunk);
    }
    if (this.#prefix !== null && this.#partial.length > 0) {
      await this.#out.write(concat([this.#prefix, ...this.#partial, _encoder.encode("\n")]));
      this.#partial = [];
    }
  }

  async #lines(chunk: Uint8Array): Promise<void> {
    const parts: Uint8Array[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      parts.push(this.#prefix!, ...this.#partial, chunk.subarray(start, nl + 1));
      this.#partial = [];
      start = nl + 1;
    }
    if (start < chunk.length) this.#partial.push(chunk.slice(start));
    if (parts.length > 0) await this.#out.write(concat(parts));
  }
}
