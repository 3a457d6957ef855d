/**
 * Web streams over a raw pipe descriptor, read and written by the runtime's event loop: Node's
 * `net.Socket({ fd })` adopts the descriptor as an asynchronous pipe. (`Deno.open` of
 * `/proc/self/fd/N` would be a file: each pending read holds one of the runtime's blocking
 * threads, and 32 idle processes' pipes stall all file I/O of the server.)
 *
 * @module
 */
import { Socket } from "node:net";

/**
 * The readable end of a pipe; the descriptor is owned from now on and closed at end of stream
 * or on cancel. Reading pauses while the stream's consumer does not pull, so the writer blocks.
 *
 * @example
 * ```ts
 * import { readableFromFd } from "./fd_streams.ts";
 * // (fd from pipe2(2); see posix_spawn.ts)
 * console.log(typeof readableFromFd);
 * ```
 */
export function readableFromFd(fd: number): ReadableStream<Uint8Array> {
  const socket = new Socket({ fd, readable: true, writable: false });
  return new ReadableStream<Uint8Array>({
    start(controller) {
      socket.on("data", (chunk: Uint8Array) => {
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) socket.pause();
      });
      socket.once("end", () => {
        controller.close();
        socket.destroy();
      });
      // A failing pipe ends the stream; the consumer treats it as end of stream.
      socket.once("error", (err) => controller.error(err));
    },
    pull() {
      socket.resume();
    },
    cancel() {
      socket.destroy();
    },
    // One chunk ahead: reads go on while the consumer handles the previous chunk.
  }, { highWaterMark: 1 });
}

/**
 * The writable end of a pipe; the descriptor is owned from now on and closed by `close()` or
 * `abort()`. A write resolves once the bytes are in the pipe; writing after the reader went
 * away rejects (EPIPE).
 *
 * @example
 * ```ts
 * import { writableFromFd } from "./fd_streams.ts";
 * console.log(typeof writableFromFd);
 * ```
 */
export function writableFromFd(fd: number): WritableStream<Uint8Array> {
  const socket = new Socket({ fd, readable: false, writable: true });
  // Errors reach the writer through the write callbacks; this only keeps them from being thrown.
  socket.on("error", () => {});
  return new WritableStream<Uint8Array>({
    write(chunk) {
      return new Promise<void>((resolve, reject) => {
        socket.write(chunk, (err) => err ? reject(err) : resolve());
      });
    },
    close() {
      // Done when flushed, or when the pipe broke (its reader is gone: nothing left to flush).
      return new Promise<void>((resolve) => {
        const done = () => {
          socket.destroy();
          resolve();
        };
        socket.once("finish", done);
        socket.once("error", done);
        socket.once("close", done);
        socket.end();
      });
    },
    abort() {
      socket.destroy();
    },
  });
}
