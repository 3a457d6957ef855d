/**
 * Small helpers every kind of test uses: waiting, a seedable PRNG, bytes, ports, temp dirs.
 *
 * @module
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * mulberry32: small, fast and seedable, so a failing fuzz run can be replayed from its seed.
 * Returns numbers in [0, 1).
 *
 * @example
 * ```ts
 * import { prng } from "./_util.ts";
 * const rand = prng(42);
 * console.log(rand() === prng(42)()); // true
 * ```
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * The port of a circuit URL (`circuit://127.0.0.1:4000/812/Q…`) or of an address
 * (`127.0.0.1:5353`, `[::1]:53`).
 *
 * @example
 * ```ts
 * import { portOf } from "./_util.ts";
 * console.log(portOf("circuit://127.0.0.1:4000/812/Q0de74570a61e9688"), portOf("[::1]:53")); // 4000 53
 * ```
 */
export function portOf(urlOrAddress: string): number {
  const m = /:(\d+)(?:\/|$)/.exec(urlOrAddress);
  if (!m) throw new Error(`no port in ${urlOrAddress}`);
  return Number(m[1]);
}

/** Runs `fn` with a fresh temp dir, removed afterwards. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
