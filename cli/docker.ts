/**
 * `circuit mkdkr` (SPEC §5, §7.6).
 *
 * @module
 */
import { CircuitError } from "../wire/errors.ts";
import { parseRun } from "../server/docker/run.ts";
import { elementArg } from "./anchor.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { SLOW_CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { readStdinText } from "./io.ts";

/**
 * `mkdkr [-scrub] <anchor>`: starts the container described by the Run JSON on stdin.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { mkdkr } from "./docker.ts";
 * await mkdkr({ command: "mkdkr", parsed: parseFlags(["/X88550014d4c82e4d/d"], []) });
 * ```
 */
export async function mkdkr(inv: Invocation): Promise<number> {
  const Path = elementArg(inv.parsed.positionals[0]);
  const conn = await dialServer(inv.parsed);
  const run = parseRunJson(await readStdinText());
  if (inv.parsed.bools.has("scrub")) run.Scrub = true;
  await conn.call("mk", { Path, Kind: "docker", Arg: run }, { timeoutMs: SLOW_CALL_TIMEOUT_MS });
  return 0;
}

/**
 * Parses the text of a Run object: strict JSON, keys matched case-insensitively. Throws
 * `CircuitError("command json not parsing: <reason>")`.
 *
 * @example
 * ```ts
 * import { parseRunJson } from "./docker.ts";
 * console.log(parseRunJson('{"image": "busybox"}').Image); // "busybox"
 * ```
 */
export function parseRunJson(text: string): ReturnType<typeof parseRun> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CircuitError(`command json not parsing: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseRun(value);
}
