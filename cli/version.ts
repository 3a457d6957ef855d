/**
 * `circuit version` and `circuit --version` (SPEC §15.4).
 *
 * @module
 */
import { PROTOCOL_VERSION } from "../wire/handshake.ts";
import { VERSION } from "../wire/version.ts";
import type { Invocation } from "./command_types.ts";
import { writeStdout } from "./io.ts";

/** The version line: `circuit <version> (deno <version>, protocol <n>)`. */
export function versionLine(): string {
  return `circuit ${VERSION} (deno ${Deno.version.deno}, protocol ${PROTOCOL_VERSION})\n`;
}

/**
 * Prints the version line.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { version } from "./version.ts";
 * await version({ command: "version", parsed: parseFlags([], []) }); // circuit 0.1.0 (deno 2.9.6, protocol 1)
 * ```
 */
export async function version(_inv: Invocation): Promise<number> {
  await writeStdout(versionLine());
  return 0;
}
