/**
 * The operator commands of the CLI table (SPEC §15): `run`, `ps`, `context`, `version`,
 * `completion`, as plain data; cli/command_table.ts lists them after the original commands.
 *
 * @module
 */
import type { CommandDef } from "./command_types.ts";

/** The commands of SPEC §15, in the order `circuit help` lists them. */
export const OPERATOR_COMMANDS: readonly CommandDef[] = [
  {
    name: "run",
    synopsis: "-- PATH [ARG…]",
    summary: "run a program on one server or many, wait, and pass its exit code",
    description:
      "Starts the program on the dialed server, or on every server matching -on, under /X…/run/<id>; streams stdin\n" +
      "(one target) and output (several: lines prefixed '<host>: '), waits, scrubs and exits with its exit code\n" +
      "(several: 0 if all exited 0, else 1). Ctrl-C sends SIGINT, a second one or -timeout SIGKILL. The run ends\n" +
      "if this client goes away, unless -detach, which prints the anchors and returns at once.",
    flags: [
      { names: ["on"], type: "string", value: "selector", usage: "KEY=VALUE[,…], host=NAME, id=X… or all" },
      {
        names: ["env"],
        type: "string",
        value: "K=V",
        usage: "add K=V to the server's environment (repeatable)",
        repeat: true,
      },
      { names: ["dir"], type: "string", value: "dir", usage: "working directory" },
      {
        names: ["timeout"],
        type: "string",
        value: "duration",
        usage: "SIGKILL after this long (e.g. 30s), exit 124",
      },
      { names: ["prefix"], type: "bool", usage: "prefix each output line with '<host>: '" },
      {
        names: ["detach"],
        type: "bool",
        usage: "print the anchors and return; the run outlives this client",
      },
    ],
    dials: true,
    arity: [1, Infinity],
    usage: "run needs a program after --",
  },
  {
    name: "ps",
    synopsis: "[<path>]",
    summary: "list processes and containers, with host, phase, exit and command",
    description: "Lists process and container elements below <path> (default /...), one aligned line each.",
    flags: [
      { names: ["json"], type: "bool", usage: "print a JSON array" },
      { names: ["on"], type: "string", value: "selector", usage: "only servers matching this selector" },
    ],
    dials: true,
    arity: [0, 1],
    usage: "ps takes at most one path argument",
  },
  {
    name: "context",
    synopsis: "[NAME]",
    summary: "list the contexts of the config file, or switch to one",
    description:
      "Lists the contexts of $XDG_CONFIG_HOME/circuit/config.json (* marks the current one); NAME makes it current.",
    flags: [],
    dials: false,
    arity: [0, 1],
    usage: "context takes at most one name",
  },
  {
    name: "version",
    synopsis: "",
    summary: "print the version",
    description: "Prints circuit <version> (deno <version>, protocol <n>).",
    flags: [],
    dials: false,
    arity: [0, 0],
    usage: "version takes no arguments",
  },
  {
    name: "completion",
    synopsis: "bash|zsh|fish",
    summary: "print a shell completion script",
    description:
      'Prints a completion script for commands, flags and anchor paths, e.g. eval "$(circuit completion bash)".',
    flags: [],
    dials: false,
    arity: [1, 1],
    usage: "completion needs a shell name",
  },
];
