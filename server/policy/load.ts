/**
 * Reads a policy file (SPEC §10.5): at start a mistake is fatal, at SIGHUP it keeps the old policy.
 *
 * @module
 */
import { Policy } from "./policy.ts";

/**
 * Reads and parses the policy at `path`; throws an Error `policy <path>: <cause at line:column>`.
 *
 * @example
 * ```ts ignore
 * import { loadPolicy } from "./load.ts";
 * const policy = await loadPolicy("/etc/circuit/policy.json");
 * ```
 */
export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const cause = err instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : err instanceof Error
      ? err.message.replace(/ \(os error \d+\)$/, "").toLowerCase()
      : String(err);
    throw new Error(`policy ${path}: ${cause}`);
  }
  try {
    return Policy.parse(text);
  } catch (err) {
    throw new Error(`policy ${path}: ${err instanceof Error ? err.message : err}`);
  }
}
