/**
 * The CLI's own standard streams: writing all of a buffer, copying an acknowledged stream to
 * stdout, reading stdin to its end.
 *
 * @module
 */

const _encoder = new TextEncoder();

/**
 * Writes all of `data` to stdout: a command's result (a listing, a JSON state, help). The write
 * is synchronous: an asynchronous one starts a thread of Deno's blocking pool, which costs a
 * command ~1 ms, and a command that is printing its result has nothing else to do meanwhile.
 *
 * @example
 * ```ts
 * import { writeStdout } from "./io.ts";
 * await writeStdout("hello\n");
 * ```
 */
export function writeStdout(data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? _encoder.encode(data) : data;
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
  return Promise.resolve();
}

/**
 * Copies a stream to stdout, each chunk written out before the next is pulled: pulling is what
 * acknowledges a chunk to the server (SPEC §7.7), so a killed reader never loses bytes. Writes
 * are asynchronous: while a slow consumer holds stdout back, the connection still answers the
 * server's keep-alive pings.
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
      let off = 0;
      while (off < value.length) off += await Deno.stdout.write(value.subarray(off));
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
