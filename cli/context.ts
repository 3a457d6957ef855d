/**
 * Named contexts (SPEC §15.4): `$XDG_CONFIG_HOME/circuit/config.json` (default
 * `~/.config/circuit/config.json`) holds `{"current": …, "contexts": {name: {url | discover,
 * hmac?, cred?}}}`; `-context NAME` or `CIRCUIT_CONTEXT` picks one, else `current`. Also the
 * `circuit context [NAME]` command.
 *
 * @module
 */
import { CircuitError } from "../wire/errors.ts";
import type { Invocation } from "./command_types.ts";
import { causeText } from "./fail.ts";
import { writeStdout } from "./io.ts";

/** Where to dial and with which key, as one context names it. */
export interface Context {
  url?: string;
  discover?: string;
  hmac?: string;
  cred?: string;
}

interface _Config {
  current?: string;
  contexts: Record<string, Context>;
}

/** The config file's path. */
export function configPath(): string {
  const xdg = Deno.env.get("XDG_CONFIG_HOME") ?? "";
  const base = xdg !== "" ? xdg : `${Deno.env.get("HOME") ?? ""}/.config`;
  return `${base}/circuit/config.json`;
}

/** The config, or null when there is no file; a broken file throws one line naming it. */
function _load(path: string): _Config | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new CircuitError(`config file ${path} is not readable: ${causeText(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CircuitError(`config file ${path} is broken: ${(err as Error).message}`);
  }
  const v = value as { current?: unknown; contexts?: unknown };
  const ok = typeof v === "object" && v !== null && !Array.isArray(v) &&
    (v.current === undefined || typeof v.current === "string") &&
    (v.contexts === undefined || (typeof v.contexts === "object" && v.contexts !== null &&
      Object.values(v.contexts).every((c) =>
        typeof c === "object" && c !== null &&
        ["url", "discover", "hmac", "cred"].every((k) => {
          const f = (c as Record<string, unknown>)[k];
          return f === undefined || typeof f === "string";
        })
      )));
  if (!ok) {
    throw new CircuitError(`config file ${path} is broken: not {"current", "contexts": {name: {url…}}}`);
  }
  return {
    current: v.current as string | undefined,
    contexts: (v.contexts ?? {}) as Record<string, Context>,
  };
}

/**
 * The context to dial with (`-context`, else `CIRCUIT_CONTEXT`, else `current`), or null when
 * none is configured. A name that is not in the file is an error.
 *
 * @example
 * ```ts ignore
 * import { chooseContext } from "./context.ts";
 * const ctx = chooseContext(undefined); // e.g. { url: "circuit://…" }
 * ```
 */
export function chooseContext(flag: string | undefined): Context | null {
  const path = configPath();
  const named = flag ?? Deno.env.get("CIRCUIT_CONTEXT") ?? "";
  const config = _load(path);
  const name = named !== "" ? named : config?.current ?? "";
  if (name === "") return null;
  const ctx = config?.contexts[name];
  if (!ctx) throw new CircuitError(`context ${JSON.stringify(name)} is not in ${path}`);
  return ctx;
}

/**
 * `context [NAME]`: lists the contexts (`*` marks the current one) or makes NAME current.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { context } from "./context.ts";
 * await context({ command: "context", parsed: parseFlags(["lab"], []) });
 * ```
 */
export async function context(inv: Invocation): Promise<number> {
  const path = configPath();
  const config = _load(path) ?? { contexts: {} };
  const [name] = inv.parsed.positionals;
  if (name === undefined) {
    const lines = Object.entries(config.contexts).sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, c]) =>
      `${n === config.current ? "*" : " "} ${n}\t${c.url ?? (c.discover ? `discover ${c.discover}` : "")}\n`
    );
    await writeStdout(lines.join(""));
    return 0;
  }
  if (!config.contexts[name]) throw new CircuitError(`context ${JSON.stringify(name)} is not in ${path}`);
  const raw = JSON.parse(Deno.readTextFileSync(path));
  raw.current = name;
  Deno.writeTextFileSync(path, JSON.stringify(raw, null, 2) + "\n");
  return 0;
}
