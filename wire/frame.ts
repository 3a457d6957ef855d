/**
 * Frames: the unit of the wire protocol (docs/PROTOCOL.md). A frame is a 4-byte big-endian
 * length followed by that many bytes of msgpack, an array whose first element is the type.
 *
 * @module
 */
import { decode } from "./msgpack_decode.ts";
import { encodeArrayBinHead, encodeShared } from "./msgpack_encode.ts";

/**
 * Largest frame body accepted or sent (SPEC §11: 1 MiB). Checked against the length prefix
 * before anything is allocated, so a hostile prefix costs nothing.
 */
export const MAX_FRAME_BYTES = 1 << 20;

/** Frame type tags, the first element of every frame array. */
export const T = {
  /** `[0, id, op, args]` starts a call. */
  Call: 0,
  /** `[1, id, value]` ends a call successfully. */
  Result: 1,
  /** `[2, id, kind, message]` ends a call with an error; kind 0 application, 1 system. */
  Error: 2,
  /** `[3, id]` the caller gives up on a call. */
  Cancel: 3,
  /** `[4, id, bytes]` stream bytes, in either direction. */
  Data: 4,
  /** `[5, id, n]` the receiver of stream bytes grants n more bytes (and acknowledges n taken). */
  Credit: 5,
  /** `[6, id]` end of stream bytes; sent back by an output's consumer, it acknowledges the end. */
  End: 6,
  /** `[7]` keep-alive probe of an idle connection. */
  Ping: 7,
  /** `[8]` answer to a ping. */
  Pong: 8,
} as const;

/** Error kinds carried by error frames. */
export const ErrorKind = { App: 0, System: 1 } as const;

/** A decoded frame. */
export type Frame =
  | [typeof T.Call, number, string, unknown]
  | [typeof T.Result, number, unknown]
  | [typeof T.Error, number, number, string]
  | [typeof T.Cancel, number]
  | [typeof T.Data, number, Uint8Array]
  | [typeof T.Credit, number, number]
  | [typeof T.End, number]
  | [typeof T.Ping]
  | [typeof T.Pong];

/**
 * Encodes a frame body (without the length prefix). The returned view is only valid until the
 * next call: copy it before encoding again.
 *
 * @example
 * ```ts
 * import { encodeBodyShared, T } from "./frame.ts";
 * console.log(encodeBodyShared([T.Ping])); // Uint8Array [ 145, 7 ]
 * ```
 */
export function encodeBodyShared(frame: Frame | unknown[] | Record<string, unknown>): Uint8Array {
  return encodeShared(frame);
}

/**
 * Encodes the msgpack head of a data frame `[4, id, bin(length)]`, without the payload, so a
 * payload can be copied once, straight into the outgoing batch. Decodes like any frame. The
 * result is only valid until the next encoding, like {@link encodeBodyShared}'s.
 *
 * @example
 * ```ts
 * import { decodeFrame, encodeDataHead } from "./frame.ts";
 * const head = encodeDataHead(2, 3);
 * const body = new Uint8Array([...head, 7, 8, 9]);
 * console.log(decodeFrame(body)); // [ 4, 2, Uint8Array(3) [ 7, 8, 9 ] ]
 * ```
 */
export function encodeDataHead(id: number, length: number): Uint8Array {
  return encodeArrayBinHead([T.Data, id], length);
}

/**
 * Decodes and validates a frame body. Throws on undecodable or ill-shaped input, which closes
 * the connection. Byte payloads are copies: `body` may be reused at once.
 *
 * @example
 * ```ts
 * import { decodeFrame } from "./frame.ts";
 * console.log(decodeFrame(new Uint8Array([0x91, 0x07]))); // [ 7 ]
 * ```
 */
export function decodeFrame(body: Uint8Array): Frame {
  const f = decode(body);
  if (!Array.isArray(f) || typeof f[0] !== "number") throw new Error("frame is not an array");
  const id = f[1];
  const okId = typeof id === "number" && Number.isSafeInteger(id) && id > 0;
  switch (f[0]) {
    case T.Call:
      if (f.length === 4 && okId && typeof f[2] === "string") return f as Frame;
      break;
    case T.Result:
      if (f.length === 3 && okId) return f as Frame;
      break;
    case T.Error:
      if (f.length === 4 && okId && (f[2] === 0 || f[2] === 1) && typeof f[3] === "string") return f as Frame;
      break;
    case T.Cancel:
    case T.End:
      if (f.length === 2 && okId) return f as Frame;
      break;
    case T.Data:
      if (f.length === 3 && okId && f[2] instanceof Uint8Array) return f as Frame;
      break;
    case T.Credit:
      if (f.length === 3 && okId && Number.isSafeInteger(f[2]) && f[2] >= 0) return f as Frame;
      break;
    case T.Ping:
    case T.Pong:
      if (f.length === 1) return f as Frame;
      break;
  }
  throw new Error(`malformed frame of type ${f[0]}`);
}

/**
 * Decodes a handshake message: a msgpack map.
 *
 * @example
 * ```ts
 * import { decodeMessage } from "./frame.ts";
 * console.log(decodeMessage(new Uint8Array([0x81, 0xa1, 0x56, 0x01]))); // { V: 1 }
 * ```
 */
export function decodeMessage(body: Uint8Array): Record<string, unknown> {
  const m = decode(body);
  if (m === null || typeof m !== "object" || Array.isArray(m) || m instanceof Uint8Array) {
    throw new Error("handshake message is not a map");
  }
  return m as Record<string, unknown>;
}
