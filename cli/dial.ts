/**
 * Choosing and dialing the server a client command talks to (SPEC §4.4), with the key read
 * first from `-hmac` or `CIRCUIT_HMAC`.
 *
 * @module
 */
import { connectEarly } from "../wire/dial.ts";
import type { Connection } from "../wire/connection.ts";
import { parseKeyText } from "../wire/crypto/keys.ts";
import { CircuitError } from "../wire/errors.ts";
import { parseCircuitUrl } from "../wire/url.ts";
import type { ParsedArgs } from "./flags.ts";
import { causeText, ContextError, errorReport, printError } from "./fail.ts";
import { chooseContext } from "./context.ts";

/**
 * Reads the key named by `-hmac`, else by `CIRCUIT_HMAC`; a flag given empty means no key even
 * when the variable is set. Throws `CircuitError` with the texts of SPEC §2.5.
 *
 * @example
 * ```ts ignore
 * import { readKey } from "./dial.ts";
 * const key = await readKey(".hmac"); // Uint8Array of the decoded key
 * ```
 */
export async function readKey(flag: string | undefined): Promise<Uint8Array | undefined> {
  const path = flag ?? Deno.env.get("CIRCUIT_HMAC") ?? "";
  if (path === "") return undefined;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new CircuitError(`problem reading private key file (${path}): ${causeText(err)}`);
  }
  return parseKeyText(text, path);
}

/**
 * Dials the server chosen by the common client flags and the environment: `-dial`, else
 * discovery on `-discover` or `CIRCUIT_DISCOVER` (`-discover ""` skips discovery), else the URL
 * in the file named by `CIRCUIT`. Connection failures throw a {@link ContextError} naming
 * `dial <url>` or `discover <addr>`.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { dialServer } from "./dial.ts";
 * const conn = await dialServer(parseFlags(["-d", "circuit://127.0.0.1:4000/812/Q0de74570a61e9688"], []));
 * console.log(conn.serverId);
 * ```
 */
export async function dialServer(parsed: ParsedArgs, knownKey?: Uint8Array): Promise<Connection> {
  const key = knownKey ?? await readKey(parsed.strings.get("hmac"));
  const dial = parsed.strings.get("dial") ?? "";
  if (dial !== "") return await _dialUrl(dial, key);
  const addr = parsed.strings.get("discover") ?? Deno.env.get("CIRCUIT_DISCOVER") ?? "";
  if (addr !== "") {
    let url: string;
    try {
      // Loaded only here: discovery needs UDP and crypto code that dialing by URL does not.
      const { discover } = await import("../client/discover.ts");
      url = await discover(addr, { key });
    } catch (err) {
      throw new ContextError(`discover ${addr}`, err);
    }
    return await _dialUrl(url, key);
  }
  const file = Deno.env.get("CIRCUIT") ?? "";
  if (file !== "") {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new CircuitError(`circuit environment file ${file} is not readable: ${causeText(err)}`);
    }
    return await _dialUrl(text.trim(), key);
  }
  // SPEC §15.4: a URL in CIRCUIT_URL, then the chosen context of the config file.
  const envUrl = Deno.env.get("CIRCUIT_URL") ?? "";
  if (envUrl !== "") return await _dialUrl(envUrl, key);
  const ctx = chooseContext(parsed.strings.get("context"));
  if (ctx?.url || ctx?.discover) {
    // The context's key only when neither -hmac nor CIRCUIT_HMAC named one.
    const ctxKey = key ?? (ctx.hmac ? await readKey(ctx.hmac) : undefined);
    if (ctx.url) return await _dialUrl(ctx.url, ctxKey);
    return await dialServer({ ...parsed, strings: new Map([["discover", ctx.discover!]]) }, ctxKey);
  }
  throw new CircuitError("no dial or discovery addresses available; use -dial or -discover");
}

async function _dialUrl(url: string, key: Uint8Array | undefined): Promise<Connection> {
  // A malformed URL is the user's input error, reported under the command rather than as a dial failure.
  parseCircuitUrl(url);
  let conn: Connection;
  try {
    // The command's first calls go out with the hello (without a key), a round trip sooner.
    conn = await connectEarly(url, { key });
  } catch (err) {
    throw new ContextError(`dial ${url}`, err);
  }
  // A refused hello also fails the calls sent behind it; the refusal is what to report. This
  // runs before those calls' rejections reach the command.
  conn.welcomed.catch((err) => {
    printError(errorReport("dial", new ContextError(`dial ${url}`, err)).line);
    Deno.exit(1);
  });
  return conn;
}
