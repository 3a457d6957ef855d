/**
 * Commands on any anchor (`peek`, `scrub`), subscriptions (`mk@join`, `mk@leave`) and server
 * elements (`join`, `suicide`, `stk`) (SPEC §5, §7.1, §7.4).
 *
 * @module
 */
import { formatJson } from "../client/json.ts";
import { parseCircuitUrl } from "../wire/url.ts";
import { anchorArg, elementArg } from "./anchor.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { CALL_TIMEOUT_MS, SLOW_CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { writeStdout } from "./io.ts";

const _opts = { timeoutMs: CALL_TIMEOUT_MS };

/**
 * `peek <anchor>`: prints the element's state as JSON, `null` for an empty anchor or the root.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { peek } from "./server.ts";
 * await peek({ command: "peek", parsed: parseFlags(["/"], []) }); // prints "null"
 * ```
 */
export async function peek(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  const Path = anchorArg(inv.parsed.positionals[0]);
  // The root exists only in the client: there is no server to ask.
  const state = Path === "/" ? null : await conn.call("peek", { Path }, _opts);
  await writeStdout(formatJson(state));
  return 0;
}

/**
 * `scrub [-kill] <anchor>`: aborts and detaches the element; the root is a no-op.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { scrub } from "./server.ts";
 * await scrub({ command: "scrub", parsed: parseFlags(["/X88550014d4c82e4d/job"], []) });
 * ```
 */
export async function scrub(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  const Path = anchorArg(inv.parsed.positionals[0]);
  if (Path === "/") return 0;
  // The kind is not known here, and stopping a container may take the engine's grace period.
  await conn.call("scrub", { Path, Kill: inv.parsed.bools.has("kill") }, { timeoutMs: SLOW_CALL_TIMEOUT_MS });
  return 0;
}

/**
 * `mk@join <anchor>`: creates a subscription to servers joining the hosting server's view.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { mkJoin } from "./server.ts";
 * await mkJoin({ command: "mk@join", parsed: parseFlags(["/X88550014d4c82e4d/watch"], []) });
 * ```
 */
export async function mkJoin(inv: Invocation): Promise<number> {
  return await _mkSubscription(inv, "@join");
}

/**
 * `mk@leave <anchor>`: creates a subscription to servers leaving the hosting server's view.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { mkLeave } from "./server.ts";
 * await mkLeave({ command: "mk@leave", parsed: parseFlags(["/X88550014d4c82e4d/watch"], []) });
 * ```
 */
export async function mkLeave(inv: Invocation): Promise<number> {
  return await _mkSubscription(inv, "@leave");
}

/**
 * `join <server-anchor> <url>`: merges that server's cluster with the one at the URL, which is
 * checked locally first.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { join } from "./server.ts";
 * await join({ command: "join", parsed: parseFlags(["/X88550014d4c82e4d", "circuit://10.0.0.2:4000/9/Q0de74570a61e9688"], []) });
 * ```
 */
export async function join(inv: Invocation): Promise<number> {
  const [anchor, Url] = inv.parsed.positionals;
  parseCircuitUrl(Url);
  const conn = await dialServer(inv.parsed);
  await conn.call("join", { Path: anchorArg(anchor), Url }, _opts);
  return 0;
}

/**
 * `suicide <server-anchor>`: asks the server to shut down gracefully.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { suicide } from "./server.ts";
 * await suicide({ command: "suicide", parsed: parseFlags(["/X88550014d4c82e4d"], []) });
 * ```
 */
export async function suicide(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  await conn.call("suicide", { Path: anchorArg(inv.parsed.positionals[0]) }, _opts);
  return 0;
}

/**
 * `stk <server-anchor>`: prints the server's diagnostic dump, whose last line is `•••`.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { stk } from "./server.ts";
 * await stk({ command: "stk", parsed: parseFlags(["/X88550014d4c82e4d"], []) });
 * ```
 */
export async function stk(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  const dump = await conn.call("stk", { Path: anchorArg(inv.parsed.positionals[0]) }, _opts);
  await writeStdout(dump.endsWith("\n") ? dump : dump + "\n");
  return 0;
}

async function _mkSubscription(inv: Invocation, Kind: "@join" | "@leave"): Promise<number> {
  const Path = elementArg(inv.parsed.positionals[0]);
  const conn = await dialServer(inv.parsed);
  await conn.call("mk", { Path, Kind, Arg: null }, _opts);
  return 0;
}
