/**
 * `circuit start` (SPEC §3): resolves the flags against the environment and runs the server.
 *
 * @module
 */
import type { Invocation } from "./command_types.ts";
import { UsageError } from "./fail.ts";
import { parseTags } from "../wire/select.ts";
import { tlsFiles } from "./tls_flags.ts";

/**
 * Runs a server until it stops; resolves with its exit code. `-a` and `-if` together are a usage
 * error. `-hmac` and `-discover` beat `CIRCUIT_HMAC` and `CIRCUIT_DISCOVER`; given empty, they
 * turn the feature off. `-tls-ca/-tls-cert/-tls-key` (or `CIRCUIT_TLS_*`) replace the key with
 * an operator's PKI (cli/tls_flags.ts); a key and a PKI at the same level are a usage error.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { start } from "./start.ts";
 * await start({ command: "start", parsed: parseFlags(["-a", "127.0.0.1:0"], [{ names: ["addr", "a"], type: "string", usage: "" }]) });
 * ```
 */
export async function start(inv: Invocation): Promise<number> {
  const { strings, bools, lists } = inv.parsed;
  const tags = parseTags(lists.get("tag") ?? []);
  const addr = strings.get("addr");
  const iface = strings.get("if");
  // `-a ""` is how the original's scripts asked for `-if`, so only a real address conflicts.
  if (addr !== undefined && addr !== "" && iface !== undefined) {
    throw new UsageError("-addr and -if cannot be used together");
  }
  // A flag beats a variable, so only a key and a PKI named at the same level conflict.
  const choice = tlsFiles(inv.parsed);
  const hmacFlag = strings.get("hmac");
  const envHmac = choice?.fromFlags ? undefined : Deno.env.get("CIRCUIT_HMAC") || undefined;
  const hmac = hmacFlag !== undefined ? hmacFlag || undefined : envHmac;
  const tls = hmacFlag !== undefined && !choice?.fromFlags ? undefined : choice?.files;
  if (hmac && tls) throw new UsageError(_conflict(choice!.fromFlags));
  // SPEC §10.5: a credential can never act as a server; without the key this would start unkeyed.
  if (strings.get("cred") || (!hmac && !tls && Deno.env.get("CIRCUIT_CRED"))) {
    throw new UsageError("a credential cannot run a server; start needs the cluster key (-hmac)");
  }
  // Loaded here, not at the top: every client command then skips initialising the server's
  // modules (~3 ms of each CLI run). A literal specifier stays in the bundle and the binary.
  const { runServer } = await import("../server/main.ts");
  return await runServer({
    addr: addr === "" ? undefined : addr,
    iface,
    varDir: strings.get("var"),
    join: strings.get("join"),
    hmac,
    tls,
    discover: _flagOrEnv(strings.get("discover"), "CIRCUIT_DISCOVER"),
    docker: bools.has("docker"),
    // Given empty, like -hmac "", it is off.
    metrics: strings.get("metrics") || undefined,
    tags,
    policy: strings.get("policy") || undefined,
    tail: _tailBytes(strings.get("tail")),
  });
}

/** `-tail BYTES`: a non-negative integer. */
function _tailBytes(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new UsageError(`invalid -tail ${text}: want a byte count`);
  }
  return n;
}

function _conflict(flags: boolean): string {
  const what = flags ? "-hmac and -tls-ca" : "CIRCUIT_HMAC and CIRCUIT_TLS_CA";
  return `${what}: a key and an operator PKI cannot be used together`;
}

/** A flag beats its variable; either one empty means off. */
function _flagOrEnv(flag: string | undefined, env: string): string | undefined {
  const value = flag ?? Deno.env.get(env) ?? "";
  return value === "" ? undefined : value;
}
