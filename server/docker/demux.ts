/**
 * Splits the multiplexed stream of a Docker attach (no TTY) into stdout and stderr. Each frame
 * is an 8-byte header — stream type (1 stdout, 2 stderr), three zero bytes, payload length as a
 * big-endian uint32 — then the payload.
 *
 * @module
 */

/** The two output streams of a container. */
export interface DemuxedStreams {
  /** Frames of type 1 (and any unknown type). */
  stdout: ReadableStream<Uint8Array>;
  /** Frames of type 2. */
  stderr: ReadableStream<Uint8Array>;
}

const HEADER = 8;

/**
 * Demultiplexes `source`. A slow consumer of one stream holds back the other (the engine then
 * holds back the container), which is how back-pressure reaches the container. Both streams end
 * when `source` ends or fails; a cancelled output stream has its further bytes dropped.
 *
 * @example
 * ```ts
 * import { demuxAttach } from "./demux.ts";
 * const frame = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 2, 104, 105]);
 * const { stdout, stderr } = demuxAttach(ReadableStream.from([frame]));
 * console.log(await new Response(stdout).text()); // "hi"
 * await stderr.cancel();
 * ```
 */
export function demuxAttach(source: ReadableStream<Uint8Array>): DemuxedStreams {
  const out = new TransformStream<Uint8Array, Uint8Array>();
  const err = new TransformStream<Uint8Array, Uint8Array>();
  _pump(source, [out.writable.getWriter(), err.writable.getWriter()]);
  return { stdout: out.readable, stderr: err.readable };
}

async function _pump(
  source: ReadableStream<Uint8Array>,
  writers: WritableStreamDefaultWriter<Uint8Array>[],
): Promise<void> {
  const alive = [true, true];
  const reader = source.getReader();
  let buf: Uint8Array = new Uint8Array(0);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf = buf.length === 0 ? value : _concat(buf, value);
      while (buf.length >= HEADER) {
        const size = new DataView(buf.buffer, buf.byteOffset).getUint32(4);
        if (buf.length < HEADER + size) break;
        // Type 0 (stdin echo) only occurs with a TTY; anything unknown is treated as stdout.
        const i = buf[0] === 2 ? 1 : 0;
        const payload = buf.slice(HEADER, HEADER + size);
        buf = buf.subarray(HEADER + size);
        if (alive[i] && size > 0) {
          try {
            await writers[i].write(payload);
          } catch {
            alive[i] = false;
          }
        }
      }
    }
  } catch {
    // The connection failed; what was delivered stays delivered and both streams end.
  } finally {
    reader.releaseLock();
    for (let i = 0; i < writers.length; i++) {
      if (alive[i]) await writers[i].close().catch(() => {});
    }
  }
}

function _concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
