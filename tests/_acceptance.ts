/**
 * What the acceptance tests of `circuit start`, the server element and the CLI (SPEC §12) share:
 * a client bound to a server, timing, a temp dir whose servers are stopped afterwards, and a
 * circuit URL's parts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { clientOf, type TestServer } from "./_harness.ts";

/** Runs `circuit <cmd> -d <server URL> <rest>`, as §12 runs every client command. */
export const on = clientOf;

/** Runs `fn` and returns its result with the wall time it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

/** A fresh temp dir and a list of servers that are all stopped, and the dir removed, after `fn`. */
export async function withServers(fn: (dir: string, servers: TestServer[]) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-acc-" });
  const servers: TestServer[] = [];
  try {
    await fn(dir, servers);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await Deno.remove(dir, { recursive: true });
  }
}

/** The URL's parts (SPEC §2.2). */
export function parts(url: string): { host: string; port: number; pid: number; workerId: string } {
  const m = url.match(/^circuit:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/(\d+)\/(Q[0-9a-f]{16})$/);
  assert.ok(m, `not a circuit URL: ${url}`);
  return { host: m[1], port: Number(m[2]), pid: Number(m[3]), workerId: m[4] };
}
