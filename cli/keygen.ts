/**
 * `circuit keygen` (SPEC §5): prints a new cluster key.
 *
 * @module
 */
import { generateKey } from "../wire/crypto/keys.ts";
import { writeStdout } from "./io.ts";

/**
 * Prints base64 of 64 bytes from the CSPRNG (88 characters) and a newline.
 *
 * @example
 * ```ts ignore
 * import { keygen } from "./keygen.ts";
 * await keygen();
 * ```
 */
export async function keygen(): Promise<number> {
  await writeStdout(generateKey() + "\n");
  return 0;
}
