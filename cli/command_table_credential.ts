/**
 * The credential commands of the CLI table (SPEC §10.5), as plain data; cli/command_table.ts
 * lists them after `keygen`.
 *
 * @module
 */
import type { CommandDef } from "./command_types.ts";
import type { FlagDef } from "./flags.ts";

/** `-cred`, among the flags of every client command. */
export const CRED_FLAG: FlagDef = {
  names: ["cred"],
  type: "string",
  value: "file",
  usage: "credential from 'circuit issue', instead of the key (env CIRCUIT_CRED)",
};

/** `circuit issue`. */
export const CREDENTIAL_COMMANDS: readonly CommandDef[] = [
  {
    name: "issue",
    synopsis: "",
    summary: "print a client credential for a name and its groups",
    description:
      "Prints a credential (PEM: a client certificate for -name with its groups, signed by the cluster CA\n" +
      "derived from the key, the CA certificate and the private key). A client uses it with -cred FILE or\n" +
      "CIRCUIT_CRED instead of the key; it cannot run a server or issue credentials. Names and groups: 1-64 of\n" +
      "[a-z0-9._-]. Typical use: circuit issue -hmac .hmac -name alice -group ops > alice.cred",
    flags: [
      { names: ["hmac"], type: "string", value: "file", usage: "the cluster key file (env CIRCUIT_HMAC)" },
      { names: ["name"], type: "string", value: "name", usage: "the identity the credential names" },
      {
        names: ["group"],
        type: "string",
        value: "group",
        usage: "a group of the identity (repeatable)",
        repeat: true,
      },
      { names: ["ttl"], type: "string", value: "duration", usage: "valid this long from now (default 720h)" },
    ],
    dials: false,
    arity: [0, 0],
    usage: "issue takes no arguments",
  },
];
