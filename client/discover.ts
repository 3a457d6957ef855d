/**
 * Discovery datagrams (SPEC §9.4) and the client side of discovery: probe an IPv4 multicast group
 * for servers and take the first valid answer. Needs `--unstable-net` (UDP). The server side
 * (server/discovery/multicast.ts) uses the same datagram codec.
 *
 * @module
 */
import { discoveryKey, macPayload, verifyPayload } from "../wire/crypto/discovery_mac.ts";
import { CircuitError, ConnectionError } from "../wire/errors.ts";
import { formatCircuitUrl, parseCircuitUrl } from "../wire/url.ts";

/** Probes go out at 0, 1, 2, 3 and 4 s, so one lost datagram does not fail discovery. */
const _PROBE_TIMES_MS = [0, 1_000, 2_000, 3_000, 4_000];

/** Give up this long after the first probe (SPEC §9.4). */
const _DEADLINE_MS = 5_000;

/** Larger datagrams are not circuit's and are ignored (SPEC §9.4). */
export const MAX_DATAGRAM = 7_000;

const _encoder = new TextEncoder();
const _decoder = new TextDecoder();

/** An IPv4 multicast group and port. */
export interface DiscoveryAddr {
  hostname: string;
  port: number;
}

/**
 * Parses a discovery address, an IPv4 multicast `ip:port` (224.0.0.0/4). Throws
 * `CircuitError("discovery address must be an IPv4 multicast ip:port")`.
 *
 * @example
 * ```ts
 * import { parseDiscoveryAddr } from "./discover.ts";
 * console.log(parseDiscoveryAddr("228.8.8.8:8822")); // { hostname: "228.8.8.8", port: 8822 }
 * ```
 */
export function parseDiscoveryAddr(addr: string): DiscoveryAddr {
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3}):([0-9]{1,5})$/.exec(addr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const port = m ? Number(m[5]) : 0;
  if (!m || octets.some((o) => o > 255) || octets[0] < 224 || octets[0] > 239 || port < 1 || port > 65535) {
    throw new CircuitError("discovery address must be an IPv4 multicast ip:port");
  }
  return { hostname: octets.join("."), port };
}

/** The inner message of a discovery datagram. */
export interface DiscoveryMessage {
  /** `server`: an announcement or an answer; `client`: a probe. */
  Origin: "server" | "client";
  /** The server's circuit URL; `""` in a probe. */
  Addr: string;
}

/**
 * A random sender tag for the `Key` field, fixed per process: below 2^53 so every JSON parser
 * reads it exactly. Receivers ignore it.
 *
 * @example
 * ```ts
 * import { senderTag } from "./discover.ts";
 * console.log(senderTag() < 2 ** 53); // true
 * ```
 */
export function senderTag(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (hi & 0x1fffff) * 2 ** 32 + lo;
}

/**
 * Encodes a datagram: `{"Key":…,"Payload":"<base64 JSON>"}`, plus `HMAC` under the discovery key
 * `dk` of a keyed cluster.
 *
 * @example
 * ```ts
 * import { encodeDatagram, senderTag } from "./discover.ts";
 * const bytes = await encodeDatagram({ Origin: "client", Addr: "" }, senderTag(), null);
 * console.log(Object.keys(JSON.parse(new TextDecoder().decode(bytes)))); // ["Key", "Payload"]
 * ```
 */
export async function encodeDatagram(
  msg: DiscoveryMessage,
  tag: number,
  dk: CryptoKey | null,
): Promise<Uint8Array> {
  const payload = _encoder.encode(JSON.stringify({ Origin: msg.Origin, Addr: msg.Addr }));
  const envelope: Record<string, unknown> = { Key: tag, Payload: _base64(payload) };
  if (dk) envelope.HMAC = _base64(await macPayload(dk, payload));
  return _encoder.encode(JSON.stringify(envelope));
}

/**
 * Decodes a datagram: the message; `"ignored"` for one that is not for this receiver (too large,
 * unsigned in a keyed cluster, signed in an unkeyed one, bad HMAC); `"malformed"` for garbage.
 * A server message's `Addr` is a valid circuit URL.
 *
 * @example
 * ```ts
 * import { decodeDatagram, encodeDatagram } from "./discover.ts";
 * const bytes = await encodeDatagram({ Origin: "client", Addr: "" }, 1, null);
 * console.log(await decodeDatagram(bytes, null)); // { Origin: "client", Addr: "" }
 * ```
 */
export async function decodeDatagram(
  data: Uint8Array,
  dk: CryptoKey | null,
): Promise<DiscoveryMessage | "ignored" | "malformed"> {
  if (data.length > MAX_DATAGRAM) return "ignored";
  let envelope;
  let payload: Uint8Array;
  try {
    envelope = JSON.parse(_decoder.decode(data));
    if (typeof envelope !== "object" || envelope === null || typeof envelope.Payload !== "string") {
      return "malformed";
    }
    if (
      typeof envelope.Key !== "number" || (envelope.HMAC !== undefined && typeof envelope.HMAC !== "string")
    ) {
      return "malformed";
    }
    payload = _unbase64(envelope.Payload);
  } catch {
    return "malformed";
  }
  if (dk) {
    if (typeof envelope.HMAC !== "string") return "ignored";
    let mac: Uint8Array;
    try {
      mac = _unbase64(envelope.HMAC);
    } catch {
      return "ignored";
    }
    if (!await verifyPayload(dk, payload, mac)) return "ignored";
  } else if (envelope.HMAC !== undefined) {
    return "ignored";
  }
  try {
    const inner = JSON.parse(_decoder.decode(payload));
    if (inner?.Origin === "client" && inner.Addr === "") return { Origin: "client", Addr: "" };
    if (inner?.Origin !== "server" || typeof inner.Addr !== "string") return "malformed";
    parseCircuitUrl(inner.Addr);
    return { Origin: "server", Addr: inner.Addr };
  } catch {
    return "malformed";
  }
}

/**
 * Replaces a wildcard host (`0.0.0.0`, `::`) in an announced URL by the datagram's source IP
 * (SPEC §9.4); other URLs are returned unchanged.
 *
 * @example
 * ```ts
 * import { withSourceHost } from "./discover.ts";
 * console.log(withSourceHost("circuit://0.0.0.0:4000/812/Q0de74570a61e9688", "10.0.0.5"));
 * // circuit://10.0.0.5:4000/812/Q0de74570a61e9688
 * ```
 */
export function withSourceHost(url: string, source: string): string {
  const u = parseCircuitUrl(url);
  return u.host === "0.0.0.0" || u.host === "::" ? formatCircuitUrl({ ...u, host: source }) : url;
}

/**
 * Finds a server by multicast: sends a probe to the group at 0, 1, 2, 3 and 4 s from an
 * ephemeral UDP port and resolves with the circuit URL of the first valid answer. With a key,
 * only answers with a valid HMAC count; without one, answers carrying an HMAC are ignored.
 * Throws `ConnectionError("no server answered within 5s")`.
 *
 * @example
 * ```ts ignore
 * import { discover } from "./discover.ts";
 * const url = await discover("228.8.8.8:8822", {});
 * ```
 */
export async function discover(addr: string, opts: { key?: Uint8Array } = {}): Promise<string> {
  const group = parseDiscoveryAddr(addr);
  const dk = opts.key ? await discoveryKey(opts.key) : null;
  const probe = await encodeDatagram({ Origin: "client", Addr: "" }, senderTag(), dk);
  const socket = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
  const timers = _PROBE_TIMES_MS.map((ms) =>
    setTimeout(() => {
      // A failed send (e.g. no multicast route) is one more probe nobody answers.
      socket.send(probe, { transport: "udp", ...group }).catch(() => {});
    }, ms)
  );
  // Closing the socket at the deadline ends the receive loop below.
  timers.push(setTimeout(() => socket.close(), _DEADLINE_MS));
  try {
    for (;;) {
      let data: Uint8Array;
      let from: Deno.Addr;
      try {
        [data, from] = await socket.receive();
      } catch {
        throw new ConnectionError(`no server answered within ${_DEADLINE_MS / 1000}s`);
      }
      const msg = await decodeDatagram(data, dk);
      if (typeof msg === "object" && msg.Origin === "server") {
        return withSourceHost(msg.Addr, (from as Deno.NetAddr).hostname);
      }
    }
  } finally {
    for (const t of timers) clearTimeout(t);
    try {
      socket.close();
    } catch {
      // already closed at the deadline
    }
  }
}

function _base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function _unbase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
