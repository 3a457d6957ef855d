/**
 * Choosing what to listen on and what to advertise (SPEC §3.2).
 *
 * @module
 */

/** A listen address: host and port (0 = any free port). */
export interface ListenAddr {
  hostname: string;
  port: number;
}

/**
 * Parses `-a host[:port]`, `:port`, `[v6]:port`. Throws with a one-line cause.
 *
 * @example
 * ```ts
 * import { parseListenAddr } from "./address.ts";
 * console.log(parseListenAddr("127.0.0.1")); // { hostname: "127.0.0.1", port: 0 }
 * ```
 */
export function parseListenAddr(text: string): ListenAddr {
  let host = text;
  let port = "0";
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw new Error(`bad listen address ${text}`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest.startsWith(":")) port = rest.slice(1);
    else if (rest !== "") throw new Error(`bad listen address ${text}`);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0 && text.indexOf(":") === colon) {
      host = text.slice(0, colon);
      port = text.slice(colon + 1);
    }
  }
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) {
    throw new Error(`bad port in listen address ${text}`);
  }
  return { hostname: host === "" ? "0.0.0.0" : host, port: Number(port) };
}

/**
 * The first IPv4 address of an interface. Throws `interface <name> not found` or
 * `interface <name> has no IPv4 address`.
 */
export function interfaceAddress(name: string): string {
  const all = Deno.networkInterfaces().filter((i) => i.name === name);
  if (all.length === 0) throw new Error(`interface ${name} not found`);
  const v4 = all.find((i) => i.family === "IPv4");
  if (!v4) throw new Error(`interface ${name} has no IPv4 address`);
  return v4.address;
}

/**
 * The host to advertise for a bound address: the address itself unless it is a wildcard,
 * else the first non-loopback IPv4 address of the host, else 127.0.0.1.
 */
export function advertisedHost(bound: string): string {
  if (bound !== "0.0.0.0" && bound !== "::" && bound !== "") return bound;
  try {
    const v4 = Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."));
    if (v4) return v4.address;
  } catch {
    // no permission or no interfaces: fall back to loopback
  }
  return "127.0.0.1";
}
