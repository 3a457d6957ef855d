/**
 * DNS commands: `mkdns`, `set`, `unset` (SPEC §5, §7.5).
 *
 * @module
 */
import { anchorArg, elementArg } from "./anchor.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";

const _opts = { timeoutMs: CALL_TIMEOUT_MS };

/**
 * `mkdns <anchor> [<ip:port>]`: starts a name server; without an address on `0.0.0.0` and a
 * free port.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { mkdns } from "./dns.ts";
 * await mkdns({ command: "mkdns", parsed: parseFlags(["/X88550014d4c82e4d/dns", "127.0.0.1:5353"], []) });
 * ```
 */
export async function mkdns(inv: Invocation): Promise<number> {
  const [anchor, addr] = inv.parsed.positionals;
  const Path = elementArg(anchor);
  const conn = await dialServer(inv.parsed);
  await conn.call("mk", { Path, Kind: "dns", Arg: addr ?? null }, _opts);
  return 0;
}

/**
 * `set <anchor> "<record>"`: adds one resource record in zone-file syntax.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { set } from "./dns.ts";
 * await set({ command: "set", parsed: parseFlags(["/X88550014d4c82e4d/dns", "ex.org. IN A 192.0.2.1"], []) });
 * ```
 */
export async function set(inv: Invocation): Promise<number> {
  const [anchor, Record] = inv.parsed.positionals;
  const conn = await dialServer(inv.parsed);
  await conn.call("set", { Path: anchorArg(anchor), Record }, _opts);
  return 0;
}

/**
 * `unset <anchor> <name>`: removes every record of the name; no error when there is none.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { unset } from "./dns.ts";
 * await unset({ command: "unset", parsed: parseFlags(["/X88550014d4c82e4d/dns", "ex.org"], []) });
 * ```
 */
export async function unset(inv: Invocation): Promise<number> {
  const [anchor, Name] = inv.parsed.positionals;
  const conn = await dialServer(inv.parsed);
  await conn.call("unset", { Path: anchorArg(anchor), Name }, _opts);
  return 0;
}
