/**
 * One output stream's bytes gathered between two messages to the console page, of which only the
 * newest `limit` bytes are kept: a process can write far faster than anybody reads or a page can
 * lay out, and what the page shows live is where the output is now. Every byte is still there for
 * `tail` and the stdout reader; the page says how much it skipped.
 *
 * @module
 */
import { concat } from "../../wire/bytes.ts";

/** What one message to the page carries: the text, and the bytes skipped just before it. */
export type OutputSample = { text: string; skipped: number };

/** Gathers one stream's output and hands it on as text, keeping at most `limit` bytes between takes. */
export class OutputSampler {
  readonly #limit: number;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #skipped = 0;
  #decoder = new TextDecoder();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** True when nothing arrived since the last take. */
  get empty(): boolean {
    return this.#bytes === 0;
  }

  /** Adds output; what falls out of the newest `limit` bytes is counted as skipped. */
  add(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#bytes - this.#chunks[0].length >= this.#limit) {
      const dropped = this.#chunks.shift()!;
      this.#bytes -= dropped.length;
      this.#skipped += dropped.length;
    }
  }

  /** The text gathered since the last take, cut to the newest `limit` bytes at a character's start. */
  take(): OutputSample {
    let bytes = concat(this.#chunks);
    let skipped = this.#skipped;
    if (bytes.length > this.#limit) {
      skipped += bytes.length - this.#limit;
      bytes = bytes.subarray(bytes.length - this.#limit);
    }
    if (skipped > 0) {
      // The cut may fall inside a character: start at the next one, with a decoder that holds no
      // half of a character from before the gap.
      let start = 0;
      while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
      skipped += start;
      bytes = bytes.subarray(start);
      this.#decoder = new TextDecoder();
    }
    this.#chunks = [];
    this.#bytes = 0;
    this.#skipped = 0;
    return { text: this.#decoder.decode(bytes, { stream: true }), skipped };
  }
}
