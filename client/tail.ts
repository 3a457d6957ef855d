/**
 * `tail` as the library sees it: the ring of a process's last output (SPEC §13.2).
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";
import type { Target } from "../wire/ops.ts";

/** SPEC §13.2: without `bytes`, the last 64 KiB held. */
const _DEFAULT_BYTES = 64 * 1024;

/** Options of `tail()`. */
export interface TailOptions {
  /** Keep the stream open for new output until the process exits. */
  follow?: boolean;
  /** At most this many of the last bytes held (default 64 KiB). */
  bytes?: number;
  /** Which stream (default `stdout`). */
  stream?: "stdout" | "stderr";
  /** Aborting ends the stream. */
  signal?: AbortSignal;
}

/**
 * Opens `tail` on `target`: a stream of the last output held and, with `follow`, what follows.
 *
 * @example
 * ```ts ignore
 * const text = await new Response(openTail(conn, { Path: "/X…/p" }, {})).text();
 * ```
 */
export function openTail(conn: Connection, target: Target, opts: TailOptions): ReadableStream<Uint8Array> {
  return conn.openOutput("tail", {
    ...target,
    Stream: opts.stream ?? "stdout",
    Bytes: opts.bytes ?? _DEFAULT_BYTES,
    Follow: opts.follow === true,
  }, { signal: opts.signal }).stream;
}
