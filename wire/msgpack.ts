/**
 * The msgpack subset the wire protocol uses (docs/PROTOCOL.md): nil, booleans, integers,
 * float64, strings, binary, arrays and maps with string or integer keys. Extension types are
 * refused. The codec is ours rather than a general library's because every CLI command pays for
 * the codec's cold start, and because decoding bounded by the input is a security property here:
 * a container that declares more elements than bytes remain is refused before anything is
 * allocated, so no frame can make the decoder allocate more than O(its own length).
 *
 * @module
 */

/** A decode failure: the frame is undecodable and its connection is closed. */
export class MsgpackError extends Error {
  /** Creates the error with what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "MsgpackError";
  }
}

/** Strings up to this many UTF-16 units are coded by hand: cheaper than a TextEncoder/TextDecoder call. */
export const SHORT_STRING = 64;

/** Values nested deeper than this are refused (a cycle would otherwise recurse for ever). */
export const MAX_DEPTH = 64;
