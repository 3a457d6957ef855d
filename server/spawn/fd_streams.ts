/**
 * Web streams over a raw pipe descriptor, read and written by the runtime's event loop: Node's
 * `net.Socket({ fd })` adopts the descriptor as an asynchronous pipe. (`Deno.open` of
 * `/proc/self/fd/N` would be a file: each pending read holds one of the runtime's blocking
 * threads, and 32 idle processes' pipes stall all file I/O of the server.)
 *
 * @module
 */
import { Socket } from "node:net";

// One pipe read: a Linux pipe holds 64 KiB, so a full pipe empties in one read.
const READ_BYTES = 64 * 1024;

/**
 * The readable end of a pipe, as a byte stream; the descriptor is owned from now on and closed at
 * end of stream or on cancel. Each read lands in one reused scratch buffer and is copied into the
 * consumer's BYOB buffer: no fresh memory per read, which costs page faults here (the default
 * `data` events, a new Buffer per read, ran at about half the throughput). Reading pauses until
 * the consumer asks again, so a process whose output is not taken blocks on its pipe.
 *
 * @example
 * ```ts
 * import { readableFromFd } from "./fd_streams.ts";
 * // (fd from pipe2(2); see posix_spawn.ts)
 * console.log(typeof readableFromFd);
 * ```
 */
export function readableFromFd(fd: number): ReadableStream<Uint8Array> {
  const scratch = new Uint8Array(READ_BYTES);
  let controller!: ReadableByteStreamController;
  let ended = false;
  // Hands one read to the consumer; `false` pauses the socket until the next pull.
  const deliver = (bytes: Uint8Array): boolean => {
    const request = controller.byobRequest;
    const view = request?.view;
    if (request && view) {
      const target = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      const n = Math.min(target.length, bytes.length);
      target.set(bytes.subarray(0, n));
      request.respond(n);
      if (n < bytes.length) controller.enqueue(bytes.slice(n));
    } else {
      controller.enqueue(bytes.slice());
    }
    return (controller.desiredSize ?? 0) > 0;
  };
  const socket = new Socket(
    {
      fd,
      readable: true,
      writable: false,
      onread: { buffer: scratch, callback: (n: number, buf: Uint8Array) => deliver(buf.subarray(0, n)) },
    } as ConstructorParameters<typeof Socket>[0],
  );
  return new ReadableStream({
    type: "bytes",
    start(c) {
      controller = c;
      socket.pause();
      socket.once("end", () => {
        ended = true;
        controller.close();
        controller.byobRequest?.respond(0);
        socket.destroy();
      });
      // A failing pipe errors the stream; the output buffer treats that as end of stream.
      socket.once("error", (err) => controller.error(err));
    },
    pull() {
      if (!ended) socket.resume();
    },
    cancel() {
      socket.destroy();
    },
  });
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
