/**
 * A process's stdin as circuit exposes it (SPEC §5 `stdin`, §7.7): one writer at a time, kept
 * open when a writer goes away, closed for good when a writer ends it.
 *
 * @module
 */
import { CircuitError } from "../../wire/errors.ts";
import type { ByteSink } from "../../wire/streams.ts";

/**
 * The writing end of a child's stdin pipe, shared by successive writers.
 *
 * Claim API: {@link PipeSink.openWriter} hands out the one {@link ByteSink} that may write; it
 * mirrors `AckedSource.openReader`. That sink's `release()` frees the slot and leaves stdin open
 * for the next writer; its `close()` closes stdin for good. A released sink is inert: its late
 * writes fail and it cannot close stdin from under the next writer.
 *
 * @example
 * ```ts
 * import { PipeSink } from "./pipe_sink.ts";
 * const child = new Deno.Command("/bin/cat", { stdin: "piped", stdout: "piped" }).spawn();
 * const stdin = new PipeSink(child.stdin);
 * const first = stdin.openWriter();
 * await first.write(new TextEncoder().encode("a"));
 * first.release(); // stdin stays open
 * const second = stdin.openWriter();
 * await second.write(new TextEncoder().encode("b"));
 * await second.close();
 * console.log(await new Response(child.stdout).text()); // "ab"
 * await child.status;
 * ```
 */
export class PipeSink {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #current: ByteSink | null = null;
  // A writer ended the input: nobody may write or close again.
  #closed = false;
  // The pipe can no longer carry bytes (the process exited or closed its end): writes fail.
  #broken = false;
  // The pipe's file descriptor has been closed by us.
  #shut = false;

  /** Wraps the child's stdin stream; the sink holds its only writer from now on. */
  constructor(stream: WritableStream<Uint8Array>) {
    this.#writer = stream.getWriter();
    // The write or close that failed is reported to its caller; this only keeps the stream's
    // own rejection from surfacing as unhandled.
    this.#writer.closed.catch(() => {});
  }

  /**
   * Opens the single writer. Throws `CircuitError("stdin already closed")` once a writer closed
   * stdin, and `CircuitError("stdin is being written by another client")` while another writer
   * is open.
   *
   * @example
   * ```ts
   * import { PipeSink } from "./pipe_sink.ts";
   * const child = new Deno.Command("/bin/true", { stdin: "piped" }).spawn();
   * await child.status;
   * await new PipeSink(child.stdin).openWriter().close(); // valid after the process exited
   * ```
   */
  openWriter(): ByteSink {
    if (this.#closed) throw new CircuitError("stdin already closed");
    if (this.#current !== null) throw new CircuitError("stdin is being written by another client");
    let open = true;
    const sink: ByteSink = {
      write: async (chunk, signal) => {
        if (!open) throw new CircuitError("stdin writer already released");
        await this.#write(chunk, signal);
      },
      close: async () => {
        if (!open) throw new CircuitError("stdin writer already released");
        open = false;
        this.#current = null;
        this.#closed = true;
        if (this.#shut) return;
        this.#shut = true;
        // close() delivers what is queued first; a failure (EPIPE) means nobody reads any more.
        await this.#writer.close().catch(() => {});
      },
      release: () => {
        if (!open) return;
        open = false;
        this.#current = null;
      },
    };
    this.#current = sink;
    return sink;
  }

  /**
   * Closes the pipe without ending the input for writers: from now on their writes fail with
   * `broken pipe` and a `close()` still succeeds. The process element calls it when the process
   * exits, since nothing can read stdin any more and the descriptor must not leak.
   *
   * @example
   * ```ts
   * import { PipeSink } from "./pipe_sink.ts";
   * const child = new Deno.Command("/bin/true", { stdin: "piped" }).spawn();
   * const stdin = new PipeSink(child.stdin);
   * await child.status;
   * stdin.shut();
   * ```
   */
  shut(): void {
    this.#broken = true;
    if (this.#shut) return;
    this.#shut = true;
    // abort() rather than close(): close() would wait for queued writes that nobody will read.
    this.#writer.abort().catch(() => {});
  }

  async #write(chunk: Uint8Array, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#broken) throw new CircuitError("broken pipe");
    if (chunk.length === 0) return;
    // A pipe write cannot be taken back: on abort the caller stops waiting, the bytes still go.
    const written = this.#writer.write(chunk);
    try {
      if (signal === undefined) {
        await written;
      } else {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal.reason);
          signal.addEventListener("abort", onAbort, { once: true });
          written.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
        });
      }
    } catch (err) {
      if (signal?.aborted && err === signal.reason) throw err;
      // EPIPE: the process closed its stdin or exited.
      this.#broken = true;
      throw new CircuitError("broken pipe");
    }
  }
}
