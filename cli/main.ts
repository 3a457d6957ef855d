/**
 * The CLI dispatcher: picks the command, parses its flags, counts its arguments, runs it, and
 * turns every failure into one error line and an exit code (SPEC §4.1, §4.5).
 *
 * @module
 */
import { CLIENT_FLAGS, findCommand } from "./command_table.ts";
import { IMPLEMENTATIONS } from "./implementations.ts";
import { errorReport, printError, UsageError } from "./fail.ts";
import { parseFlags } from "./flags.ts";
import { commandHelp, commandList } from "./help.ts";
import { writeStdout } from "./io.ts";
import { versionLine } from "./version.ts";

/** `circuit --version` is `circuit version` (SPEC §15.4). */
const _TOP_VERSION = new Set(["-version", "--version"]);

/**
 * Common client flags may stand before the command (SPEC §15.4): `circuit -d URL ls /` is
 * `circuit ls -d URL /`. Leading client flags (and their values) move behind the command name;
 * anything else is left for the usual error.
 */
function _commandFirst(args: readonly string[]): readonly string[] {
  let i = 0;
  while (i < args.length && args[i].startsWith("-") && args[i] !== "--") {
    const body = args[i].replace(/^--?/, "");
    const eq = body.indexOf("=");
    const def = CLIENT_FLAGS.find((f) => f.names.includes(eq < 0 ? body : body.slice(0, eq)));
    if (!def) break;
    i += def.type === "string" && eq < 0 ? 2 : 1;
  }
  if (i === 0 || i >= args.length) return args;
  return [args[i], ...args.slice(0, i), ...args.slice(i + 1)];
}

/** What `circuit` alone, and these first arguments, mean: print the command list. */
const _TOP_HELP = new Set(["-h", "-help", "--help"]);

/**
 * Runs one CLI invocation and resolves with its exit code; it never throws. Output goes to
 * stdout, the error line (if any) to stderr.
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./main.ts";
 * Deno.exit(await runCli(["ls", "-d", "circuit://127.0.0.1:4000/812/Q0de74570a61e9688", "/"]));
 * ```
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const args = _commandFirst(argv);
  const name = args[0] ?? "help";
  // A promise rejected outside the command's await chain would otherwise crash with a stack trace.
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    const { line, code } = errorReport(name, e.reason);
    printError(line);
    Deno.exit(code);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  try {
    if (_TOP_HELP.has(name)) {
      await writeStdout(commandList());
      return 0;
    }
    if (_TOP_VERSION.has(name)) {
      await writeStdout(versionLine());
      return 0;
    }
    const def = findCommand(name);
    if (def === undefined) throw new UsageError(`unknown command "${name}" (see 'circuit help')`);
    const parsed = parseFlags(args.slice(1), def.dials ? [...def.flags, ...CLIENT_FLAGS] : def.flags);
    if (parsed.help) {
      await writeStdout(commandHelp(def));
      return 0;
    }
    const n = parsed.positionals.length;
    if (n < def.arity[0] || n > def.arity[1]) throw new UsageError(def.usage);
    return await IMPLEMENTATIONS[name]({ command: name, parsed });
  } catch (err) {
    const { line, code } = errorReport(name, err);
    printError(line);
    return code;
  } finally {
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
}
