/**
 * How the CLI reports failure (SPEC §4.5): one line `circuit: <context>: <cause>` on stderr,
 * exit 1, or `circuit: usage: <message>`, exit 2, and never a stack trace.
 *
 * @module
 */

/**
 * A usage error: unknown command or flag, missing flag value, wrong number of arguments,
 * conflicting flags. The CLI prints `circuit: usage: <message>` and exits 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./fail.ts";
 * throw new UsageError("keygen takes no arguments");
 * ```
 */
export class UsageError extends Error {
  /** Creates a usage error with the specification's message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * An error whose line names another context than the running command, e.g. `dial <url>` for a
 * server that cannot be reached, or `discover <addr>`.
 *
 * @example
 * ```ts
 * import { ContextError, errorReport } from "./fail.ts";
 * const err = new ContextError("dial circuit://127.0.0.1:1/1/Q0000000000000001", new Error("connection refused"));
 * console.log(errorReport("ls", err).line);
 * // "circuit: dial circuit://127.0.0.1:1/1/Q0000000000000001: connection refused"
 * ```
 */
export class ContextError extends Error {
  /** The context the error line names instead of the command. */
  readonly context: string;

  /** Wraps `cause` (any thrown value) under `context`. */
  constructor(context: string, cause: unknown) {
    super(causeText(cause));
    this.name = "ContextError";
    this.context = context;
  }
}

/**
 * The one-line cause text of any thrown value. Operating-system errors lose Deno's
 * `(os error N)` decoration and start lower-case, like Go's (`no such file or directory`).
 *
 * @example
 * ```ts
 * import { causeText } from "./fail.ts";
 * console.log(causeText(new Deno.errors.NotFound("No such file or directory (os error 2): readfile '/x'")));
 * // "no such file or directory"
 * ```
 */
export function causeText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const os = /^(.*?) \(os error \d+\)/.exec(text);
  const cause = os ? os[1].charAt(0).toLowerCase() + os[1].slice(1) : text;
  // The error line must stay one line whatever the cause says.
  return cause.replace(/\s*\n\s*/g, " ").trim() || "unknown error";
}

/**
 * The line to print for an error raised while running `command`, and the exit code.
 *
 * @example
 * ```ts
 * import { errorReport, UsageError } from "./fail.ts";
 * console.log(errorReport("ls", new UsageError("ls needs a glob argument")));
 * // { line: "circuit: usage: ls needs a glob argument", code: 2 }
 * ```
 */
export function errorReport(command: string, err: unknown): { line: string; code: number } {
  if (err instanceof UsageError) return { line: `circuit: usage: ${causeText(err)}`, code: 2 };
  if (err instanceof ContextError) return { line: `circuit: ${err.context}: ${err.message}`, code: 1 };
  return { line: `circuit: ${command}: ${causeText(err)}`, code: 1 };
}

/**
 * Writes one line to stderr, synchronously so that it is out before the process exits.
 *
 * @example
 * ```ts
 * import { printError } from "./fail.ts";
 * printError("circuit: ls: connection lost");
 * ```
 */
export function printError(line: string): void {
  const bytes = new TextEncoder().encode(line + "\n");
  let off = 0;
  while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
}
