/**
 * Helpers for unit tests of elements: promise states and acknowledged reading.
 *
 * @module
 */
import type { AckedReader } from "../wire/streams.ts";

/** Reads a whole body, acknowledging as it goes, the way the wire layer does. */
export async function readAll(reader: AckedReader): Promise<string> {
  const dec = new TextDecoder();
  let text = "";
  for (;;) {
    const chunk = await reader.read(65536);
    if (chunk === null) break;
    text += dec.decode(chunk, { stream: true });
    reader.ack(chunk.length);
  }
  reader.ackEnd();
  return text + dec.decode();
}

/** Whether `p` has settled after pending timers and microtasks ran. */
export async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => done = true, () => done = true);
  await new Promise((r) => setTimeout(r, 10));
  return done;
}

/** The reason `p` rejects with; throws if it fulfils. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}
