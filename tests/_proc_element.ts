/**
 * What the unit tests of the process element share: a Cmd with defaults, an element context
 * that counts detachSelf() calls, reading an output buffer to its end, matching CircuitError
 * causes, and polling.
 *
 * @module
 */
import type { Cmd } from "../wire/cmd.ts";
import { CircuitError } from "../wire/errors.ts";
import type { OutputBuffer } from "../server/elements/output_buffer.ts";
import { procInfo } from "./_proc.ts";
import { sleep } from "./_util.ts";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** A Cmd running /bin/true with no arguments, overridden by `fields`. */
export function cmd(fields: Partial<Cmd>): Cmd {
  return { Path: "/bin/true", Args: [], Env: null, Dir: "", Scrub: false, ...fields };
}

// An element context that counts detachSelf() calls.
export function context() {
  return {
    path: "/X0123456789abcdef/p",
    detached: 0,
    detachSelf() {
      this.detached++;
    },
    log() {},
  };
}

/** Reads `out` to its end with one reader, acknowledging as it goes. */
export async function readAll(out: OutputBuffer): Promise<string> {
  const reader = out.openReader();
  let text = "";
  while (true) {
    const piece = await reader.read(65536);
    if (piece === null) break;
    text += decoder.decode(piece, { stream: true });
    reader.ack(piece.length);
  }
  reader.ackEnd();
  return text;
}

/** Matches a CircuitError with exactly this message. */
export function isCause(message: string): (err: unknown) => boolean {
  return (err) => err instanceof CircuitError && err.message === message;
}

// The process group of a live process.
export function pgid(pid: number): number | null {
  return procInfo(pid)?.pgid ?? null;
}

// The children of this (server) process, from every thread's children list.
export function children(): number[] {
  const pids: number[] = [];
  for (const task of Deno.readDirSync("/proc/self/task")) {
    const text = Deno.readTextFileSync(`/proc/self/task/${task.name}/children`).trim();
    if (text !== "") pids.push(...text.split(" ").map(Number));
  }
  return pids;
}

/** Polls `check` every 20 ms for up to `ms`; whether it became true. */
export async function within(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}
