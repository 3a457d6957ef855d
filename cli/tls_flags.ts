/**
 * `-tls-ca`, `-tls-cert` and `-tls-key` (env `CIRCUIT_TLS_CA`, `CIRCUIT_TLS_CERT`,
 * `CIRCUIT_TLS_KEY`): an operator's PKI instead of the key (SPEC §10.1), for `start` and every
 * client command. All three or none; not with a key or a credential.
 *
 * @module
 */
import type { OperatorPkiFiles } from "../wire/tls/operator_files.ts";
import type { ParsedArgs } from "./flags.ts";
import { UsageError } from "./fail.ts";

const _FLAGS = ["tls-ca", "tls-cert", "tls-key"] as const;
const _ENVS = ["CIRCUIT_TLS_CA", "CIRCUIT_TLS_CERT", "CIRCUIT_TLS_KEY"] as const;

/**
 * The PKI files the flags name, else the variables (a flag level beats the variable level, like
 * `-hmac`); undefined when neither names any. Some but not all three at one level is a usage error.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * const choice = tlsFiles(parseFlags(["-tls-ca", "ca.pem", "-tls-cert", "c.pem", "-tls-key", "c.key"], TLS_FLAGS));
 * ```
 */
export function tlsFiles(parsed: ParsedArgs): TlsChoice | undefined {
  const flags = _FLAGS.map((f) => parsed.strings.get(f));
  if (flags.some((v) => v !== undefined)) {
    const files = _allOrNone(flags, _FLAGS.map((f) => `-${f}`));
    return files && { files, fromFlags: true };
  }
  const files = _allOrNone(_ENVS.map((e) => Deno.env.get(e)), [..._ENVS]);
  return files && { files, fromFlags: false };
}

/** The PKI files chosen, and whether flags named them (they then beat a key's variable). */
export interface TlsChoice {
  files: OperatorPkiFiles;
  fromFlags: boolean;
}

function _allOrNone(values: (string | undefined)[], names: string[]): OperatorPkiFiles | undefined {
  const given = values.map((v) => v !== undefined && v !== "");
  if (given.every((g) => !g)) return undefined;
  const missing = names.filter((_, i) => !given[i]);
  if (missing.length > 0) {
    throw new UsageError(`${names.join(", ")} go together: ${missing.join(" and ")} missing`);
  }
  return { ca: values[0]!, cert: values[1]!, key: values[2]! };
}
