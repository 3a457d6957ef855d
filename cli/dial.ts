/**
 * Choosing and dialing the server a client command talks to (SPEC §4.4), with the key read
 * first from `-hmac` or `CIRCUIT_HMAC`, or a credential from `-cred` or `CIRCUIT_CRED` (SPEC §10.5),
 * or an operator's certificate from `-tls-ca/-tls-cert/-tls-key` or `CIRCUIT_TLS_*` (SPEC §10.1).
 *
 * @module
 */
import { connectEarly } from "../wire/dial.ts";
import type { Connection } from "../wire/connection.ts";
import { parseKeyText } from "../wire/crypto/keys.ts";
import { type Credential, parseCredential } from "../wire/crypto/credential.ts";
import { CircuitError } from "../wire/errors.ts";
import { parseCircuitUrl } from "../wire/url.ts";
import type { ParsedArgs } from "./flags.ts";
import { causeText, ContextError, errorReport, printError, UsageError } from "./fail.ts";
import { chooseContext } from "./context.ts";
import { tlsFiles } from "./tls_flags.ts";
import { readOperatorPki } from "../wire/tls/operator_files.ts";

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

/** How a client authenticates: the key, a credential (or operator certificate), or neither (an unkeyed cluster). */
interface _Auth {
  key?: Uint8Array;
  credential?: Credential;
}

/** Reads the credential bundle at `path`; errors are one line naming the file. */
export async function readCredential(path: string): Promise<Credential> {
  try {
    return await parseCredential(await Deno.readTextFile(path));
  } catch (err) {
    throw new CircuitError(`credential ${path}: ${causeText(err)}`);
  }
}

/**
 * The key or credential of a client command: a flag beats a variable (`-hmac` / `-cred`, then
 * `CIRCUIT_HMAC` / `CIRCUIT_CRED`), and a key and a credential at the same level conflict.
 */
async function _auth(parsed: ParsedArgs): Promise<_Auth> {
  const pick = (hmac: string | undefined, cred: string | undefined, where: string) => {
    if (hmac && cred) throw new UsageError(`${where}: a key and a credential cannot be used together`);
    return hmac ? { hmac } : cred ? { cred } : null;
  };
  const flags = parsed.strings;
  const tls = tlsFiles(parsed);
  const keyFlags = flags.has("hmac") || flags.has("cred");
  // A flag beats a variable: a PKI named by flags ignores the key's variables, and a key's flag the PKI's.
  const chosen = keyFlags
    ? pick(flags.get("hmac"), flags.get("cred"), "-hmac and -cred")
    : tls?.fromFlags
    ? null
    : pick(Deno.env.get("CIRCUIT_HMAC"), Deno.env.get("CIRCUIT_CRED"), "CIRCUIT_HMAC and CIRCUIT_CRED");
  const pki = keyFlags && !tls?.fromFlags ? undefined : tls;
  if (pki && chosen) {
    const what = pki.fromFlags
      ? `-${chosen.hmac ? "hmac" : "cred"} and -tls-ca`
      : `CIRCUIT_${chosen.hmac ? "HMAC" : "CRED"} and CIRCUIT_TLS_CA`;
    throw new UsageError(`${what}: a key or credential and an operator PKI cannot be used together`);
  }
  if (pki) {
    try {
      return { credential: (await readOperatorPki(pki.files)).credential };
    } catch (err) {
      throw new CircuitError(causeText(err));
    }
  }
  if (chosen?.hmac) return { key: await readKey(chosen.hmac) };
  if (chosen?.cred) return { credential: await readCredential(chosen.cred) };
  return {};
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
export async function dialServer(parsed: ParsedArgs, known?: _Auth): Promise<Connection> {
  const auth = known ?? await _auth(parsed);
  const dial = parsed.strings.get("dial") ?? "";
  if (dial !== "") return await _dialUrl(dial, auth);
  const addr = parsed.strings.get("discover") ?? Deno.env.get("CIRCUIT_DISCOVER") ?? "";
  if (addr !== "") {
    if (auth.credential) {
      // Discovery answers are HMAC'd under the key (SPEC §10.3), which a credential lacks.
      throw new UsageError("discovery needs the cluster key; with a credential, use -dial");
    }
    const key = auth.key;
    let url: string;
    try {
      // Loaded only here: discovery needs UDP and crypto code that dialing by URL does not.
      const { discover } = await import("../client/discover.ts");
      url = await discover(addr, { key });
    } catch (err) {
      throw new ContextError(`discover ${addr}`, err);
    }
    return await _dialUrl(url, auth);
  }
  const file = Deno.env.get("CIRCUIT") ?? "";
  if (file !== "") {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new CircuitError(`circuit environment file ${file} is not readable: ${causeText(err)}`);
    }
    return await _dialUrl(text.trim(), auth);
  }
  // SPEC §15.4: a URL in CIRCUIT_URL, then the chosen context of the config file.
  const envUrl = Deno.env.get("CIRCUIT_URL") ?? "";
  if (envUrl !== "") return await _dialUrl(envUrl, auth);
  const ctx = chooseContext(parsed.strings.get("context"));
  if (ctx?.url || ctx?.discover) {
    // The context's key or credential only when no flag or variable named one.
    const ctxAuth = auth.key || auth.credential
      ? auth
      : ctx.hmac
      ? { key: await readKey(ctx.hmac) }
      : ctx.cred
      ? { credential: await readCredential(ctx.cred) }
      : {};
    if (ctx.url) return await _dialUrl(ctx.url, ctxAuth);
    return await dialServer({ ...parsed, strings: new Map([["discover", ctx.discover!]]) }, ctxAuth);
  }
  throw new CircuitError("no dial or discovery addresses available; use -dial or -discover");
}

async function _dialUrl(url: string, auth: _Auth): Promise<Connection> {
  // A malformed URL is the user's input error, reported under the command rather than as a dial failure.
  parseCircuitUrl(url);
  let conn: Connection;
  try {
    // The command's first calls go out with the hello (without a key), a round trip sooner.
    conn = await connectEarly(url, auth);
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
