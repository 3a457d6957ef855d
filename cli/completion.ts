/**
 * `circuit completion bash|zsh|fish` (SPEC §15.4): a script completing command names, each
 * command's flags and, through `circuit ls`, anchor paths. Generated from the command table,
 * so a new command is completed without editing this file.
 *
 * @module
 */
import { CLIENT_FLAGS, COMMANDS } from "./command_table.ts";
import type { Invocation } from "./command_types.ts";
import { UsageError } from "./fail.ts";
import { writeStdout } from "./io.ts";

function _flags(name: string): string[] {
  const def = COMMANDS.find((c) => c.name === name)!;
  const all = def.dials ? [...def.flags, ...CLIENT_FLAGS] : def.flags;
  return all.flatMap((f) => f.names.map((n) => "-" + n));
}

/** Anchor paths: the children of the typed path's parent (`/` for a server ID being typed). */
const _LS = `p=\${cur%/*}; circuit ls "\${p:-/}" 2>/dev/null`;

function _bash(): string {
  const cases = COMMANDS.map((c) => `    ${_quote(c.name)}) flags="${_flags(c.name).join(" ")}" ;;`).join(
    "\n",
  );
  return `# bash completion for circuit: eval "$(circuit completion bash)"
_circuit() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${COMMANDS.map((c) => c.name).join(" ")}" -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
  esac
  case "$cur" in
    -*) COMPREPLY=($(compgen -W "$flags" -- "$cur")) ;;
    /*) COMPREPLY=($(compgen -W "$(${_LS})" -- "$cur")) ;;
  esac
}
complete -o default -F _circuit circuit
`;
}

function _zsh(): string {
  const cases = COMMANDS.map((c) => `    ${_quote(c.name)}) flags=(${_flags(c.name).join(" ")}) ;;`).join(
    "\n",
  );
  return `#compdef circuit
# zsh completion for circuit: source <(circuit completion zsh)
_circuit() {
  local cur=\${words[CURRENT]} cmd=\${words[2]}
  local -a flags
  if (( CURRENT == 2 )); then
    compadd -- ${COMMANDS.map((c) => _quote(c.name)).join(" ")}
    return
  fi
  case "$cmd" in
${cases}
  esac
  case "$cur" in
    -*) compadd -- $flags ;;
    /*) local p; compadd -- \${(f)"$(${_LS})"} ;;
    *) _files ;;
  esac
}
if (( $+functions[compdef] )); then compdef _circuit circuit; fi
`;
}

function _fish(): string {
  const lines = [
    "# fish completion for circuit: circuit completion fish | source",
    "complete -c circuit -f",
    ...COMMANDS.map((c) =>
      `complete -c circuit -n __fish_use_subcommand -a ${_quote(c.name)} -d ${_quote(c.summary)}`
    ),
    ...COMMANDS.flatMap((c) => {
      const all = c.dials ? [...c.flags, ...CLIENT_FLAGS] : c.flags;
      return all.map((f) =>
        `complete -c circuit -n '__fish_seen_subcommand_from ${c.name}' -o ${f.names[0]}` +
        (f.type === "string" ? " -r" : "") + ` -d ${_quote(f.usage)}`
      );
    }),
    `complete -c circuit -n 'not __fish_use_subcommand' -a '(set -l t (commandline -ct); ` +
    `string match -q "/*" -- $t; and set -l p (string replace -r "/[^/]*\\$" "" -- $t); ` +
    `test -n "$p"; or set p /; circuit ls $p 2>/dev/null)'`,
  ];
  return lines.join("\n") + "\n";
}

/** Single-quoted for all three shells. */
function _quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Prints the completion script of one shell.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { completion } from "./completion.ts";
 * await completion({ command: "completion", parsed: parseFlags(["bash"], []) });
 * ```
 */
export async function completion(inv: Invocation): Promise<number> {
  const shell = inv.parsed.positionals[0];
  const script = shell === "bash" ? _bash() : shell === "zsh" ? _zsh() : shell === "fish" ? _fish() : null;
  if (script === null) {
    throw new UsageError(`completion supports bash, zsh and fish, not ${JSON.stringify(shell)}`);
  }
  await writeStdout(script);
  return 0;
}
