/**
 * Assertions on CLI runs (SPEC §12's ERR and USAGE, success, silence), re-exported by _harness.ts.
 *
 * @module
 */
import type { RunResult } from "./_harness.ts";

/**
 * Asserts SPEC §12's ERR(t) (`code` 1) or USAGE(t) (`code` 2): that exit code, and stderr exactly one
 * line starting `circuit: ` and containing `text`. With `banner` (for `start`), a `CIRCUIT <version>`
 * line may precede it.
 *
 * @example
 * ```ts
 * assertFails(await circuit(["ls"]), 2, "ls needs a glob argument");
 * ```
 */
export function assertFails(r: RunResult, code: 1 | 2, text: string, opts: { banner?: boolean } = {}): void {
  const what = `stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
  if (r.code !== code) throw new Error(`exit code ${r.code}, want ${code}; ${what}`);
  let err = r.stderr;
  if (opts.banner && err.startsWith("CIRCUIT ")) err = err.slice(err.indexOf("\n") + 1);
  if (!err.endsWith("\n") || err.indexOf("\n") !== err.length - 1) {
    throw new Error(`stderr is not exactly one line; ${what}`);
  }
  if (!err.startsWith("circuit: ")) throw new Error(`stderr does not start with "circuit: "; ${what}`);
  if (!err.includes(text)) throw new Error(`stderr does not contain ${JSON.stringify(text)}; ${what}`);
}

/**
 * Asserts a successful run (exit 0; stderr shown otherwise) and returns it.
 *
 * @example
 * ```ts
 * const key = ok(await circuit(["keygen"]), "keygen").stdout;
 * ```
 */
export function ok(r: RunResult, what = ""): RunResult {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
  return r;
}

/**
 * Asserts success with nothing printed (as `mk*`, `set`, `scrub` succeed).
 *
 * @example
 * ```ts ignore
 * assertQuiet(await circuit(["scrub", "-d", url, anchor]), "scrub");
 * ```
 */
export function assertQuiet(r: RunResult, what = ""): void {
  if (r.code !== 0 || r.stdout !== "" || r.stderr !== "") {
    throw new Error(`${what}: want exit 0 and no output, got ${JSON.stringify(r)}`);
  }
}

/**
 * SPEC §12's ERR(t): exit 1 and one stderr line `circuit: …t…`.
 *
 * @example
 * ```ts
 * assertErr(await circuit(["ls", "-d", "circuit://bad", "/"]), "is not a valid circuit address");
 * ```
 */
export function assertErr(r: RunResult, text: string, opts: { banner?: boolean } = {}): void {
  assertFails(r, 1, text, opts);
}

/**
 * SPEC §12's USAGE(t): exit 2 and one stderr line `circuit: …t…`.
 *
 * @example
 * ```ts
 * assertUsage(await circuit(["bogus"]), "unknown command");
 * ```
 */
export function assertUsage(r: RunResult, text: string): void {
  assertFails(r, 2, text);
}
