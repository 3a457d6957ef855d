/**
 * Go-style command-line flags (SPEC §4.2): one or two dashes, `-name=value` or `-name value`,
 * boolean flags without a value, flags before or after positional arguments, `--` to stop,
 * no bundling.
 *
 * @module
 */
import { UsageError } from "./fail.ts";

/** One flag a command accepts. */
export interface FlagDef {
  /** Names without dashes; the first is the key under which the result reports the flag. */
  names: readonly string[];
  /** A `bool` flag takes no separate value; a `string` flag takes one. */
  type: "bool" | "string";
  /** What `<name>` the value stands for in help, for string flags (e.g. `url`). */
  value?: string;
  /** One-line description for help. */
  usage: string;
  /** A string flag that may be given many times (`-tag a=1 -tag b=2`): every value is kept in `lists`. */
  repeat?: boolean;
}

/** The result of {@link parseFlags}. */
export interface ParsedArgs {
  /** String flags that were given, by first name; the last occurrence wins. */
  strings: Map<string, string>;
  /** Boolean flags that are set, by first name. */
  bools: Set<string>;
  /** Every value of repeatable string flags, in order, by first name. */
  lists: Map<string, string[]>;
  /** Arguments that are not flags, in order. */
  positionals: string[];
  /** `-h`, `-help` or `--help` was given: the caller prints help instead of running. */
  help: boolean;
}

/** Go's `strconv.ParseBool` spellings, which its flag package accepts after `=`. */
const _BOOLS = new Map<string, boolean>([
  ...["1", "t", "T", "true", "TRUE", "True"].map((v): [string, boolean] => [v, true]),
  ...["0", "f", "F", "false", "FALSE", "False"].map((v): [string, boolean] => [v, false]),
]);

/** A negative number is an argument (e.g. a capacity to reject later), not an unknown flag. */
const _NEGATIVE_NUMBER = /^-[0-9]+(\.[0-9]*)?$/;

/**
 * Parses `args` against the flags a command accepts. Throws {@link UsageError} with Go's
 * messages: `flag provided but not defined: -x`, `flag needs an argument: -x`,
 * `invalid boolean value "v" for -x: parse error`, `bad flag syntax: ---x`.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * const p = parseFlags(["/Xa/...", "--long", "-d=circuit://h:1/2/Q0000000000000001"], [
 *   { names: ["long", "l"], type: "bool", usage: "print kinds" },
 *   { names: ["dial", "d"], type: "string", value: "url", usage: "server to dial" },
 * ]);
 * console.log(p.positionals, p.bools.has("long"), p.strings.get("dial"));
 * // ["/Xa/..."] true "circuit://h:1/2/Q0000000000000001"
 * ```
 */
export function parseFlags(args: readonly string[], defs: readonly FlagDef[]): ParsedArgs {
  const byName = new Map<string, FlagDef>();
  for (const def of defs) for (const name of def.names) byName.set(name, def);
  const parsed: ParsedArgs = {
    strings: new Map(),
    bools: new Set(),
    lists: new Map(),
    positionals: [],
    help: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      parsed.positionals.push(...args.slice(i + 1));
      break;
    }
    // The digit test first keeps the regular expression (costly to compile) off the usual path.
    if (arg.length < 2 || arg[0] !== "-" || (_isDigit(arg[1]) && _NEGATIVE_NUMBER.test(arg))) {
      parsed.positionals.push(arg);
      continue;
    }
    const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    if (body === "" || body[0] === "-" || body[0] === "=") throw new UsageError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const def = byName.get(name);
    if (def === undefined) {
      if (name === "h" || name === "help") {
        parsed.help = true;
        return parsed;
      }
      throw new UsageError(`flag provided but not defined: -${name}`);
    }
    const key = def.names[0];
    if (def.type === "bool") {
      const value = inline === undefined ? true : _BOOLS.get(inline);
      if (value === undefined) {
        throw new UsageError(`invalid boolean value "${inline}" for -${name}: parse error`);
      }
      if (value) parsed.bools.add(key);
      else parsed.bools.delete(key);
    } else {
      if (inline === undefined && i + 1 >= args.length) {
        throw new UsageError(`flag needs an argument: -${name}`);
      }
      const value = inline ?? args[++i];
      parsed.strings.set(key, value);
      if (def.repeat) parsed.lists.set(key, [...(parsed.lists.get(key) ?? []), value]);
    }
  }
  return parsed;
}

function _isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}
