/**
 * What the security tests share: fresh keys from `circuit keygen` in a temp dir, timed CLI runs,
 * the server anchors a keyed `ls /` lists, and the port of a circuit URL.
 *
 * @module
 */
import assert from "node:assert/strict";
import { circuit, type RunResult } from "./_harness.ts";

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asserts exit 0 and nothing on stderr. */
export function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  assert.equal(r.stderr, "", what);
}

/** Runs `fn` with a fresh temp dir, removed afterwards. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-security-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes two fresh keys from `circuit keygen` to `<dir>/k1` and `<dir>/k2`. */
export async function keygen(dir: string): Promise<{ k1: string; k2: string }> {
  const [r1, r2] = await Promise.all([circuit(["keygen"]), circuit(["keygen"])]);
  ok(r1, "keygen");
  ok(r2, "keygen");
  await Deno.writeTextFile(`${dir}/k1`, r1.stdout);
  await Deno.writeTextFile(`${dir}/k2`, r2.stdout);
  return { k1: `${dir}/k1`, k2: `${dir}/k2` };
}

/** Runs a CLI command and returns its result with its wall time in ms. */
export async function timed(args: string[], env?: Record<string, string>): Promise<[RunResult, number]> {
  const t0 = performance.now();
  const r = await circuit(args, { env, timeoutMs: 10_000 });
  return [r, performance.now() - t0];
}

/** The server anchors `ls /` prints through `url`. */
export async function servers(url: string, key: string): Promise<string[]> {
  const r = await circuit(["ls", "-hmac", key, "-d", url, "/"], { timeoutMs: 10_000 });
  ok(r, "ls /");
  return r.stdout.trim().split("\n").sort();
}

/** The port of a circuit URL. */
export function portOf(url: string): number {
  return Number(/:(\d+)\//.exec(url)![1]);
}
