/**
 * What the unit tests of the channel element share: sending and receiving whole text messages,
 * and asserting a CircuitError's cause.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import type { ChanElement } from "../server/elements/chan.ts";
import { readAll } from "./_elements.ts";

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** Sends one message with body `text`. */
export async function sendText(chan: ChanElement, text: string): Promise<void> {
  const sink = await chan.send();
  if (text.length > 0) await sink.write(enc.encode(text));
  await sink.close();
}

/** Receives one message and reads its body to the end. */
export async function recvText(chan: ChanElement): Promise<string> {
  return readAll(await chan.recv());
}

/** Asserts that `err` is a CircuitError with message `cause`. */
export function assertCause(err: unknown, cause: string): void {
  assert.ok(err instanceof CircuitError, `expected CircuitError, got ${err}`);
  assert.equal(err.message, cause);
}
