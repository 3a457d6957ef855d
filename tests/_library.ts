/**
 * What the library test's steps share (tests/library_test.ts and the _library_*_steps.ts modules):
 * the cluster they work on, reading and sending text, and asserting how a call settles.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Anchor, Chan, CircuitError, Client, ConnectionError } from "../mod.ts";
import type { TestServer } from "./_harness.ts";
import { sleep } from "./_util.ts";

/**
 * Three joined servers and a client dialing A; the steps work on B's anchors (`onB`), so every
 * call, stream and cancellation goes through forwarding. `servers` holds every server started,
 * for the test to stop.
 */
export interface LibraryCluster {
  dir: string;
  servers: TestServer[];
  a: TestServer;
  b: TestServer;
  c: TestServer;
  /** The client, dialing A. */
  cl: Client;
  XA: string;
  XB: string;
  XC: string;
  /** The anchor `/XB/<rel>`. */
  onB: (rel: string) => Anchor;
}

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** The flow-control window of SPEC §11: the most a cancelled reader may see again. */
export const WINDOW = 64 * 1024;

/** A stream's bytes as text. */
export function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

/** Sends one message with body `body`. */
export async function sendText(chan: Chan, body: string): Promise<void> {
  const w = (await chan.send()).getWriter();
  await w.write(enc.encode(body));
  await w.close();
}

/** Whether `p` settles within `ms`. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  const watched = p.then(() => done = true, () => done = true);
  await Promise.race([watched, sleep(ms)]);
  return done;
}

/** Asserts that `p` rejects with an error of class `kind` whose message contains `text`. */
export async function rejectsWith(
  p: Promise<unknown>,
  kind: typeof CircuitError | typeof ConnectionError,
  text: string,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof kind, `expected ${kind.name}, got ${err}`);
    assert.ok((err as Error).message.includes(text), `expected "${text}" in "${(err as Error).message}"`);
    return true;
  });
}
