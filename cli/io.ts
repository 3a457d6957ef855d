/**
 * The CLI's own standard streams: writing all of a buffer, copying an acknowledged stream to
 * stdout, reading stdin to its end.
 *
 * @module
 */

const _encoder = new TextEncoder();

/**
 * Writes all of `data` to stdout.
 *
 * @example
 * ```ts
 * import { writeStdout } from "./io.ts";
 * await writeStdout("hello\n");
 * ```
 */
export async function writeStdout(data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? _encoder.encode(data) : data;
  let off = 0;
  while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
}

/**
 * Copies a stream to stdout, each chunk written out before the next is pulled: pulling is what
 * acknowledges a chunk to the server (SPEC §7.7), so a killed reader never loses bytes.
 *
 * @example
 * ```ts
 * import { copyToStdout } from "./io.ts";
 * await copyToStdout(ReadableStream.from([new TextEncoder().encode("hi\n")]));
 * ```
 */
export async function copyToStdout(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      await writeStdout(value);
    }
  } catch (err) {
    // A failed stdout write must cancel the server-side read, which keeps the unacknowledged bytes.
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
}

/**
 * Reads all of stdin as UTF-8 text.
 *
 * @example
 * ```ts ignore
 * import { readStdinText } from "./io.ts";
 * const cmdJson = await readStdinText();
 * ```
 */
export async function readStdinText(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}
