/**
 * A raw call: one whose stream frames the caller moves itself, as a forwarding server does when
 * it relays a client's call to the server that hosts its element (SPEC §6).
 *
 * @module
 */
import type { T } from "./frame.ts";

/** The stream frame types a raw call relays. */
export type StreamFrameType = typeof T.Data | typeof T.Credit | typeof T.End;

/** What the relaying side is told of a raw outgoing call. */
export interface RawCallHandlers {
  onStream(type: StreamFrameType, payload: Uint8Array | number | undefined): void;
  onResult(value: unknown): void;
  onError(kind: number, message: string): void;
}

/** A raw outgoing call: the caller moves stream frames itself. */
export interface RawCall {
  sendStream(type: StreamFrameType, payload?: Uint8Array | number): void;
  cancel(): void;
}
