/**
 * Channel commands: `mkchan`, `send`, `recv`, `close` (SPEC §5, §7.3). `recv` also consumes
 * subscription events (§7.4).
 *
 * @module
 */
import { CircuitError } from "../wire/errors.ts";
import { anchorArg, elementArg } from "./anchor.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { copyToStdout, writeStdout } from "./io.ts";

/**
 * `mkchan <anchor> <capacity>`: creates a channel.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { mkchan } from "./chan.ts";
 * await mkchan({ command: "mkchan", parsed: parseFlags(["/X88550014d4c82e4d/c", "3"], []) });
 * ```
 */
export async function mkchan(inv: Invocation): Promise<number> {
  const [anchor, capacity] = inv.parsed.positionals;
  const Path = elementArg(anchor);
  if (!/^[0-9]+$/.test(capacity) || !Number.isSafeInteger(Number(capacity))) {
    throw new CircuitError("second argument to mkchan must be a non-negative integral capacity");
  }
  const conn = await dialServer(inv.parsed);
  await conn.call("mk", { Path, Kind: "chan", Arg: Number(capacity) }, { timeoutMs: CALL_TIMEOUT_MS });
  return 0;
}

/**
 * `send <anchor>`: waits until the channel admits a message, then streams stdin as its body and
 * ends it at EOF; returns once the server holds every byte.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { send } from "./chan.ts";
 * await send({ command: "send", parsed: parseFlags(["/X88550014d4c82e4d/c"], []) });
 * ```
 */
export async function send(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  const { writable, result } = await conn.openInput("send", { Path: anchorArg(inv.parsed.positionals[0]) });
  // `result` may fail while stdin is idle (e.g. the channel is scrubbed): do not wait for stdin then.
  await Promise.all([Deno.stdin.readable.pipeTo(writable), result]);
  return 0;
}

/**
 * `recv <anchor>`: prints one message body, or one subscription event and a newline.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { recv } from "./chan.ts";
 * await recv({ command: "recv", parsed: parseFlags(["/X88550014d4c82e4d/c"], []) });
 * ```
 */
export async function recv(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  const { stream, result } = conn.openOutput("recv", { Path: anchorArg(inv.parsed.positionals[0]) });
  await copyToStdout(stream);
  const { Kind } = await result;
  if (Kind === "@join" || Kind === "@leave") await writeStdout("\n");
  return 0;
}

/**
 * `close <anchor>`: closes the channel.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { close } from "./chan.ts";
 * await close({ command: "close", parsed: parseFlags(["/X88550014d4c82e4d/c"], []) });
 * ```
 */
export async function close(inv: Invocation): Promise<number> {
  const conn = await dialServer(inv.parsed);
  await conn.call("close", { Path: anchorArg(inv.parsed.positionals[0]) }, { timeoutMs: CALL_TIMEOUT_MS });
  return 0;
}
