/**
 * Help texts (SPEC §4.1): the command list, and one command's usage and flags. Help goes to
 * stdout and exits 0.
 *
 * @module
 */
import { CLIENT_FLAGS, COMMANDS } from "./command_table.ts";
import type { CommandDef, Invocation } from "./command_types.ts";
import { UsageError } from "./fail.ts";
import type { FlagDef } from "./flags.ts";
import { writeStdout } from "./io.ts";
import { VERSION } from "../wire/version.ts";

/**
 * The text of `circuit help`: every command with its one-line description.
 *
 * @example
 * ```ts
 * import { commandList } from "./help.ts";
 * console.log(commandList().includes("mkchan")); // true
 * ```
 */
export function commandList(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `circuit ${VERSION}: control a cluster of hosts as one tree of anchors.`,
    "",
    "Usage: circuit <command> [flags] [arguments]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run 'circuit help <command>' for a command's arguments and flags.",
    "",
  ].join("\n");
}

/**
 * The text of `circuit help <command>` and `circuit <command> -h`: usage, description, flags.
 *
 * @example
 * ```ts
 * import { findCommand } from "./command_table.ts";
 * import { commandHelp } from "./help.ts";
 * console.log(commandHelp(findCommand("ls")!).split("\n")[0]); // "Usage: circuit ls [flags] <path>"
 * ```
 */
export function commandHelp(def: CommandDef): string {
  const flags = def.dials ? [...def.flags, ...CLIENT_FLAGS] : def.flags;
  const usage = ["Usage: circuit", def.name, flags.length > 0 ? "[flags]" : "", def.synopsis]
    .filter((s) => s !== "").join(" ");
  const out = [usage, "", def.description, ""];
  if (flags.length > 0) {
    const names = flags.map(_flagNames);
    const width = Math.max(...names.map((n) => n.length));
    out.push("Flags:", ...flags.map((f, i) => `  ${names[i].padEnd(width)}  ${f.usage}`), "");
  }
  return out.join("\n");
}

/**
 * The `help` command: the command list, or one command's help.
 *
 * @example
 * ```ts ignore
 * import { help } from "./help.ts";
 * await help({ command: "help", parsed: { strings: new Map(), bools: new Set(), positionals: ["ls"], help: false } });
 * ```
 */
export async function help(inv: Invocation): Promise<number> {
  const [name] = inv.parsed.positionals;
  if (name === undefined) {
    await writeStdout(commandList());
    return 0;
  }
  const def = COMMANDS.find((c) => c.name === name);
  if (def === undefined) throw new UsageError(`unknown command "${name}" (see 'circuit help')`);
  await writeStdout(commandHelp(def));
  return 0;
}

function _flagNames(f: FlagDef): string {
  const names = f.names.map((n) => `-${n}`).join(", ");
  return f.type === "string" ? `${names} <${f.value ?? "value"}>` : names;
}
