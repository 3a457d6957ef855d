/**
 * Flow-control sizes of the wire's byte streams (SPEC §7.7, §11.4; docs/PROTOCOL.md).
 *
 * @module
 */

/**
 * Bytes an input stream's producer (`send`, `stdin`: client to server) may send before the
 * consumer acknowledges any (SPEC §11.4: about 64 KiB). Larger windows raise throughput per
 * round trip but hold more memory per stream.
 */
export const STREAM_WINDOW = 256 * 1024;

/**
 * The window of output streams (`recv`, `read`: server to client). Larger than
 * {@link STREAM_WINDOW} because it costs the server nothing (the bytes are buffered anyway) and
 * keeps a stream moving while records are sealed and opened on a keyed connection; the client
 * holds at most this much unread per stream.
 */
export const OUTPUT_WINDOW = 1024 * 1024;

/**
 * A consumer of an output stream acknowledges at least every this many bytes it has handed on
 * (its first bytes at once): SPEC §7.7 lets the next reader see again at most 64 KiB a killed
 * reader had already handed on, whatever {@link OUTPUT_WINDOW} is. A sixteenth of the window,
 * so the producer always has credit while acks are on their way.
 */
export const ACK_EVERY = 64 * 1024;

/** Largest payload of one data frame: several frames fill a window, so acks flow while data does. */
export const DATA_CHUNK = 64 * 1024;
