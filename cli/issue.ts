/**
 * `circuit issue` (SPEC §10.5): prints a client credential for a name and its groups, signed by
 * the cluster CA derived from the key. Only the key itself can issue: a credential cannot.
 *
 * @module
 */
import type { Invocation } from "./command_types.ts";
import { CircuitError } from "../wire/errors.ts";
import { parseDuration } from "./duration.ts";
import { readKey } from "./dial.ts";
import { writeStdout } from "./io.ts";
import { credentialNameProblem, issueCredential } from "../wire/crypto/credential.ts";
import { clusterCa } from "../wire/tls/cluster.ts";

/**
 * Groups a credential may name: the hello that carries the leaf is at most 4 KiB, and 32 groups of
 * 64 characters (~83 bytes each in the certificate) keep it under 3.2 KiB.
 */
const _MAX_GROUPS = 32;

/** A credential lives 30 days unless `-ttl` says otherwise: as long as a server's own leaf. */
const _DEFAULT_TTL = "720h";

/**
 * Prints the credential PEM bundle (leaf certificate, CA certificate, private key) on stdout. Every
 * error (a bad name, group or ttl, no key) is one line and exit 1 (SPEC §10.5).
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { issue } from "./issue.ts";
 * await issue({ command: "issue", parsed: parseFlags(["-hmac", ".hmac", "-name", "alice"], ISSUE_FLAGS) });
 * ```
 */
export async function issue(inv: Invocation): Promise<number> {
  const { strings, lists } = inv.parsed;
  const name = strings.get("name");
  if (name === undefined) throw new CircuitError("issue needs -name");
  const groups = lists.get("group") ?? [];
  const problem = credentialNameProblem(name, "name") ??
    groups.map((g) => credentialNameProblem(g, "group")).find((p) => p !== null) ?? null;
  if (problem) throw new CircuitError(problem);
  if (new Set(groups).size > _MAX_GROUPS) throw new CircuitError(`at most ${_MAX_GROUPS} groups`);
  const ttl = strings.get("ttl") ?? _DEFAULT_TTL;
  let ttlMs: number;
  try {
    ttlMs = parseDuration(ttl);
  } catch {
    throw new CircuitError(`invalid -ttl "${ttl}": want a duration such as 720h or 90m`);
  }
  // The key file only (never CIRCUIT_CRED or a context's credential): issuing needs the key itself.
  const path = strings.get("hmac") ?? Deno.env.get("CIRCUIT_HMAC") ?? "";
  const text = path === "" ? "" : await Deno.readTextFile(path).catch(() => "");
  if (text.includes("-----BEGIN ")) {
    throw new CircuitError(
      `${path} is a credential: a credential cannot issue credentials, only the key can`,
    );
  }
  const key = await readKey(strings.get("hmac"));
  if (!key) throw new CircuitError("issue needs the cluster key: -hmac FILE or CIRCUIT_HMAC");
  await writeStdout(await issueCredential(await clusterCa(key), name, [...new Set(groups)], ttlMs));
  return 0;
}
