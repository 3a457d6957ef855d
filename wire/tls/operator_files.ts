/**
 * Reading an operator's PKI (SPEC §10.1) from its three PEM files, for `start` and the CLI; the
 * library takes the texts themselves (client/dial_options.ts).
 *
 * @module
 */
import { loadOperatorPki, type OperatorPki } from "../crypto/operator_pki.ts";

/** The three files of `-tls-ca`, `-tls-cert` and `-tls-key`. */
export interface OperatorPkiFiles {
  ca: string;
  cert: string;
  key: string;
}

/**
 * Reads and loads the PKI. Throws an `Error` with a one-line cause naming the flag and file.
 *
 * @example
 * ```ts ignore
 * import { readOperatorPki } from "./operator_files.ts";
 * const pki = await readOperatorPki({ ca: "ca.pem", cert: "me.pem", key: "me.key" });
 * ```
 */
export async function readOperatorPki(files: OperatorPkiFiles): Promise<OperatorPki> {
  const read = async (flag: string, path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (err) {
      throw new Error(`problem reading ${flag} file (${path}): ${_cause(err)}`);
    }
  };
  const [ca, cert, key] = [
    await read("-tls-ca", files.ca),
    await read("-tls-cert", files.cert),
    await read("-tls-key", files.key),
  ];
  return await loadOperatorPki(ca, cert, key, {
    ca: `-tls-ca ${files.ca}`,
    cert: `-tls-cert ${files.cert}`,
    key: `-tls-key ${files.key}`,
  });
}

function _cause(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/ \(os error \d+\)$/, "").replace(/:.*$/, "").toLowerCase();
}
