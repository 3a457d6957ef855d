/**
 * The shapes of the CLI's command table and of a command implementation, apart from both so
 * that the table, the help text and the implementations import neither each other nor a cycle.
 *
 * @module
 */
import type { FlagDef, ParsedArgs } from "./flags.ts";

/** What a command implementation receives. */
export interface Invocation {
  /** The command name, the context of its error lines. */
  command: string;
  /** Parsed flags and positional arguments (already counted). */
  parsed: ParsedArgs;
}

/** A command implementation: resolves with the exit code, or throws to print one error line and exit 1. */
export type CommandFn = (inv: Invocation) => Promise<number>;

/** One command of the table. */
export interface CommandDef {
  name: string;
  /** The arguments after the flags, for help (e.g. `<anchor> <capacity>`). */
  synopsis: string;
  /** One-line description for the command list. */
  summary: string;
  /** Longer description for `circuit help <command>`. */
  description: string;
  /** The command's own flags. */
  flags: readonly FlagDef[];
  /** Whether the command dials a server, and so takes the common client flags (SPEC §4.3). */
  dials: boolean;
  /** Smallest and largest number of positional arguments. */
  arity: readonly [number, number];
  /** The usage message for a wrong number of arguments (SPEC §5, last column). */
  usage: string;
}
