/**
 * The commands that show the cluster (SPEC §13): `watch`, `tail`, `console`, as plain data;
 * cli/command_table.ts lists them last.
 *
 * @module
 */
import type { CommandDef } from "./command_types.ts";

/** The commands of SPEC §13, in the order `circuit help` lists them. */
export const WATCH_COMMANDS: readonly CommandDef[] = [
  {
    name: "watch",
    synopsis: "<path>",
    summary: "print changes under a path as they happen",
    description:
      "Prints the current state as exists events, then one line per change under the path (/... for the whole cluster) until interrupted.",
    flags: [{ names: ["json"], type: "bool", usage: "print one JSON object per line" }],
    dials: true,
    arity: [1, 1],
    usage: "watch needs one path argument",
  },
  {
    name: "tail",
    synopsis: "<anchor>",
    summary: "print a process's last output without consuming it",
    description:
      "Prints the last output held for the process or container; the single stdout reader still gets every byte.",
    flags: [
      { names: ["f"], type: "bool", usage: "keep printing new output until the process exits" },
      { names: ["n"], type: "string", value: "bytes", usage: "print at most the last BYTES (default 65536)" },
      { names: ["stderr"], type: "bool", usage: "tail stderr instead of stdout" },
    ],
    dials: true,
    arity: [1, 1],
    usage: "tail needs one anchor argument",
  },
  {
    name: "console",
    synopsis: "",
    summary: "serve a live web view of the cluster",
    description:
      "Serves a web page showing the cluster live, on loopback with a fresh token; prints its URL and runs until interrupted.",
    flags: [{
      names: ["addr", "a"],
      type: "string",
      value: "host:port",
      usage: "listen address (default 127.0.0.1:0)",
    }],
    dials: true,
    arity: [0, 0],
    usage: "console takes no arguments",
  },
];
