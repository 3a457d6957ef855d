/**
 * The operator PKI flags of the CLI table (SPEC §10.1), as plain data: among the client flags
 * and `start`'s (cli/tls_flags.ts reads them).
 *
 * @module
 */
import type { FlagDef } from "./flags.ts";

/** `-tls-ca`, `-tls-cert`, `-tls-key`. */
export const TLS_FLAGS: readonly FlagDef[] = [
  {
    names: ["tls-ca"],
    type: "string",
    value: "file",
    usage:
      "operator CA certificate (PEM), instead of the key; with -tls-cert and -tls-key (env CIRCUIT_TLS_CA)",
  },
  {
    names: ["tls-cert"],
    type: "string",
    value: "file",
    usage: "this party's certificate (PEM) issued by -tls-ca (env CIRCUIT_TLS_CERT)",
  },
  {
    names: ["tls-key"],
    type: "string",
    value: "file",
    usage: "the private key (PKCS#8 PEM) of -tls-cert (env CIRCUIT_TLS_KEY)",
  },
];
