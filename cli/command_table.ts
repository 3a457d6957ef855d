/**
 * The table of CLI commands (SPEC §5) as plain data: synopsis, help text, flags and argument
 * count. The implementations are bound to these names in cli/implementations.ts, so `help`
 * can read the table without importing the commands it describes.
 *
 * @module
 */
import type { CommandDef } from "./command_types.ts";
import type { FlagDef } from "./flags.ts";
import { OPERATOR_COMMANDS } from "./command_table_operator.ts";
import { WATCH_COMMANDS } from "./command_table_watch.ts";
import { CRED_FLAG, CREDENTIAL_COMMANDS } from "./command_table_credential.ts";
import { TLS_FLAGS } from "./command_table_tls.ts";

/** The flags every dialing command accepts (SPEC §4.3). */
export const CLIENT_FLAGS: readonly FlagDef[] = [
  { names: ["dial", "d"], type: "string", value: "url", usage: "circuit URL of the server to dial" },
  {
    names: ["discover"],
    type: "string",
    value: "ip:port",
    usage: "find a server by UDP multicast on this IPv4 group (env CIRCUIT_DISCOVER)",
  },
  {
    names: ["hmac"],
    type: "string",
    value: "file",
    usage: "key file; must match the cluster's key (env CIRCUIT_HMAC)",
  },
  CRED_FLAG,
  ...TLS_FLAGS,
  {
    names: ["context"],
    type: "string",
    value: "name",
    usage: "a context of ~/.config/circuit/config.json (env CIRCUIT_CONTEXT)",
  },
];

const _SCRUB: FlagDef = { names: ["scrub"], type: "bool", usage: "detach the element when it exits" };

/** The commands in the order `circuit help` lists them. */
export const COMMANDS: readonly CommandDef[] = [
  {
    name: "start",
    synopsis: "",
    summary: "run a circuit server",
    description: "Runs a server: prints its circuit URL on stdout, then logs to stderr until it is stopped.",
    flags: [
      {
        names: ["addr", "a"],
        type: "string",
        value: "host[:port]",
        usage: "listen address; port 0 or none: any",
      },
      {
        names: ["if"],
        type: "string",
        value: "name",
        usage: "listen on this interface's first IPv4 address",
      },
      { names: ["var"], type: "string", value: "dir", usage: "var dir; %W is replaced by the worker ID" },
      { names: ["join", "j"], type: "string", value: "url", usage: "join the cluster of this server" },
      {
        names: ["hmac"],
        type: "string",
        value: "file",
        usage: "key file: authenticate and encrypt (env CIRCUIT_HMAC)",
      },
      CRED_FLAG, // only to refuse it: a credential cannot run a server
      ...TLS_FLAGS,
      {
        names: ["discover"],
        type: "string",
        value: "ip:port",
        usage: "UDP multicast discovery on this IPv4 group (env CIRCUIT_DISCOVER)",
      },
      { names: ["docker"], type: "bool", usage: "enable docker elements (engine from DOCKER_HOST)" },
      {
        names: ["metrics"],
        type: "string",
        value: "host:port",
        usage: "serve Prometheus metrics at http://host:port/metrics (unauthenticated, read-only)",
      },
      {
        names: ["tag"],
        type: "string",
        value: "key=value",
        usage: "a tag for selectors (repeatable; key [a-z0-9._-]{1,32})",
        repeat: true,
      },
      {
        names: ["policy"],
        type: "string",
        value: "file",
        usage: "authorization policy (JSON); reloaded on SIGHUP",
      },
      {
        names: ["tail"],
        type: "string",
        value: "bytes",
        usage: "keep the last BYTES of each output stream for tail (default 262144; 0: off)",
      },
    ],
    dials: false,
    arity: [0, 0],
    usage: "start takes no arguments",
  },
  {
    name: "keygen",
    synopsis: "",
    summary: "print a new random cluster key",
    description: "Prints a new key (base64 of 64 random bytes). Typical use: circuit keygen > .hmac",
    flags: [],
    dials: false,
    arity: [0, 0],
    usage: "keygen takes no arguments",
  },
  ...CREDENTIAL_COMMANDS,
  {
    name: "help",
    synopsis: "[command]",
    summary: "list the commands, or describe one",
    description: "Lists the commands, or prints one command's usage and flags.",
    flags: [],
    dials: false,
    arity: [0, 1],
    usage: "help takes at most one command argument",
  },
  {
    name: "ls",
    synopsis: "<path>",
    summary: "list anchors",
    description:
      "Lists the children of an anchor, or with a trailing /... all its descendants, as full paths.\n" +
      "ls / lists the servers the dialed server knows.",
    flags: [
      { names: ["long", "l"], type: "bool", usage: "prefix each path with the kind of its element" },
      { names: ["depth", "de"], type: "bool", usage: "list descendants in post-order (subtree first)" },
      { names: ["json"], type: "bool", usage: "print a JSON array of {Path, Kind}" },
    ],
    dials: true,
    arity: [1, 1],
    usage: "ls needs a glob argument",
  },
  {
    name: "peek",
    synopsis: "<anchor>",
    summary: "print the state of an element as JSON",
    description: "Prints the state of the element at the anchor as JSON; null for an anchor without element.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "peek needs one anchor argument",
  },
  {
    name: "scrub",
    synopsis: "<anchor>",
    summary: "abort and detach an element",
    description:
      "Aborts and detaches the element at the anchor. No element, server anchor or /: nothing happens.",
    flags: [{ names: ["kill"], type: "bool", usage: "kill a process's group, or a container, first" }],
    dials: true,
    arity: [1, 1],
    usage: "scrub needs one anchor argument",
  },
  {
    name: "mkchan",
    synopsis: "<anchor> <capacity>",
    summary: "create a channel",
    description: "Creates a channel holding up to <capacity> queued messages (0: rendezvous).",
    flags: [],
    dials: true,
    arity: [2, 2],
    usage: "mkchan needs an anchor and a capacity arguments",
  },
  {
    name: "send",
    synopsis: "<anchor>",
    summary: "send stdin as one message on a channel",
    description: "Waits until the channel admits a message, then sends all of stdin as its body.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "send needs one anchor argument",
  },
  {
    name: "recv",
    synopsis: "<anchor>",
    summary: "receive one message or event",
    description:
      "Waits for a message on a channel and prints its body, or for one event of a subscription\n" +
      "and prints it on a line.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "recv needs one anchor argument",
  },
  {
    name: "close",
    synopsis: "<anchor>",
    summary: "close a channel",
    description: "Closes a channel: later sends fail, receivers drain the queue.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "close needs one anchor argument",
  },
  {
    name: "mkproc",
    synopsis: "<anchor>",
    summary: "start a process (Cmd JSON on stdin)",
    description: 'Reads a Cmd object from stdin, e.g. {"Path": "/bin/echo", "Args": ["hi"], "Env": null,\n' +
      '"Dir": "", "Scrub": false}, and starts that process at the anchor.',
    flags: [_SCRUB],
    dials: true,
    arity: [1, 1],
    usage: "mkproc needs an anchor argument",
  },
  {
    name: "mkdkr",
    synopsis: "<anchor>",
    summary: "start a docker container (Run JSON on stdin)",
    description:
      'Reads a Run object from stdin, e.g. {"Image": "busybox", "Path": "/bin/sh", "Args": ["-c", "date"]},\n' +
      "and starts that container at the anchor (server started with -docker).",
    flags: [_SCRUB],
    dials: true,
    arity: [1, 1],
    usage: "mkdkr needs an anchor argument",
  },
  {
    name: "signal",
    synopsis: "<SIGNAL> <anchor>",
    summary: "send a signal to a process or container",
    description:
      "Sends a signal, named like TERM, kill or SIGHUP, to the process or container at the anchor.",
    flags: [],
    dials: true,
    arity: [2, 2],
    usage: "signal needs a signal name and an anchor arguments",
  },
  {
    name: "wait",
    synopsis: "<anchor>",
    summary: "wait for a process or container to finish",
    description: "Waits until the process or container has finished and prints its final state as JSON.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "wait needs one anchor argument",
  },
  {
    name: "waitall",
    synopsis: "",
    summary: "wait for every process or container named on stdin",
    description: "Reads anchor paths from stdin, one per line, and waits until all of them have finished.",
    flags: [],
    dials: true,
    arity: [0, 0],
    usage: "waitall takes no arguments",
  },
  {
    name: "stdin",
    synopsis: "<anchor>",
    summary: "copy stdin into a process or container",
    description: "Copies this tool's stdin into the stdin of the process or container, then closes it.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "stdin needs one anchor argument",
  },
  {
    name: "stdout",
    synopsis: "<anchor>",
    summary: "copy a process's stdout to stdout",
    description: "Copies the stdout of the process or container to this tool's stdout until it ends.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "stdout needs one anchor argument",
  },
  {
    name: "stderr",
    synopsis: "<anchor>",
    summary: "copy a process's stderr to stdout",
    description: "Copies the stderr of the process or container to this tool's stdout until it ends.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "stderr needs one anchor argument",
  },
  {
    name: "mkdns",
    synopsis: "<anchor> [<ip:port>]",
    summary: "start a DNS name server",
    description:
      "Starts an authoritative DNS server on ip:port (UDP and TCP); default 0.0.0.0 and a free port.",
    flags: [],
    dials: true,
    arity: [1, 2],
    usage: "mkdns needs an anchor and an optional address arguments",
  },
  {
    name: "set",
    synopsis: '<anchor> "<record>"',
    summary: "add a DNS resource record",
    description: 'Adds one resource record in zone-file syntax, e.g. "miek.nl. 3600 IN MX 10 mx.miek.nl."',
    flags: [],
    dials: true,
    arity: [2, 2],
    usage: "set needs an anchor and a resource record arguments",
  },
  {
    name: "unset",
    synopsis: "<anchor> <name>",
    summary: "remove the DNS records of a name",
    description: "Removes every resource record of the name.",
    flags: [],
    dials: true,
    arity: [2, 2],
    usage: "unset needs an anchor and a resource name arguments",
  },
  {
    name: "mk@join",
    synopsis: "<anchor>",
    summary: "subscribe to servers joining",
    description:
      "Creates a subscription to the servers that join the hosting server's view (recv reads them).",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "mk@join needs an anchor argument",
  },
  {
    name: "mk@leave",
    synopsis: "<anchor>",
    summary: "subscribe to servers leaving",
    description:
      "Creates a subscription to the servers that leave the hosting server's view (recv reads them).",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "mk@leave needs an anchor argument",
  },
  {
    name: "join",
    synopsis: "<server-anchor> <url>",
    summary: "merge a server's cluster with another",
    description: "Asks the server at <server-anchor> to merge its cluster with that of the server at <url>.",
    flags: [],
    dials: true,
    arity: [2, 2],
    usage: "join needs one anchor argument and one circuit address argument",
  },
  {
    name: "suicide",
    synopsis: "<server-anchor>",
    summary: "shut a server down",
    description: "Asks the server to shut down gracefully.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "suicide needs one server anchor argument",
  },
  {
    name: "stk",
    synopsis: "<server-anchor>",
    summary: "print a server's diagnostic dump",
    description: "Prints a diagnostic dump of the server, ending with a line •••.",
    flags: [],
    dials: true,
    arity: [1, 1],
    usage: "stk needs one anchor argument",
  },
  ...OPERATOR_COMMANDS,
  ...WATCH_COMMANDS,
];

/**
 * Finds a command by name.
 *
 * @example
 * ```ts
 * import { findCommand } from "./command_table.ts";
 * console.log(findCommand("mkchan")?.usage); // "mkchan needs an anchor and a capacity arguments"
 * ```
 */
export function findCommand(name: string): CommandDef | undefined {
  return COMMANDS.find((c) => c.name === name);
}
