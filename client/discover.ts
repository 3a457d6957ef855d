/**
 * The client side of discovery (SPEC §9.4): probe an IPv4 multicast group for servers and take
 * the first valid answer. Needs `--unstable-net` (UDP).
 *
 * @module
 */
import { discoveryKey, macPayload, verifyPayload } from "./crypto/discovery_mac.ts";
import { CircuitError, ConnectionError } from "./errors.ts";
import { parseCircuitUrl } from "./url.ts";

/** Probes go out at 0, 1, 2, 3 and 4 s, so one lost datagram does not fail discovery. */
const _PROBE_TIMES_MS = [0, 1_000, 2_000, 3_000, 4_000];

/** Give up this long after the first probe (SPEC §9.4). */
const _DEADLINE_MS = 5_000;

/** Larger datagrams are not circuit's and are ignored (SPEC §9.4). */
const _MAX_DATAGRAM = 7_000;

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
  const probe = await _probe(dk);
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
      try {
        [data] = await socket.receive();
      } catch {
        throw new ConnectionError(`no server answered within ${_DEADLINE_MS / 1000}s`);
      }
      const url = await _answer(data, dk);
      if (url !== null) return url;
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

async function _probe(dk: CryptoKey | null): Promise<Uint8Array> {
  const payload = _encoder.encode(JSON.stringify({ Origin: "client", Addr: "" }));
  // `Key` is only a sender tag receivers ignore; below 2^53 so every JSON parser reads it exactly.
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  const envelope: Record<string, unknown> = { Key: (hi & 0x1fffff) * 2 ** 32 + lo, Payload: _base64(payload) };
  if (dk) envelope.HMAC = _base64(await macPayload(dk, payload));
  return _encoder.encode(JSON.stringify(envelope));
}

/** The URL of a server's answer, or null for anything else (malformed, unsigned, a probe). */
async function _answer(data: Uint8Array, dk: CryptoKey | null): Promise<string | null> {
  if (data.length > _MAX_DATAGRAM) return null;
  try {
    const envelope = JSON.parse(_decoder.decode(data));
    if (typeof envelope !== "object" || envelope === null || typeof envelope.Payload !== "string") return null;
    const payload = _unbase64(envelope.Payload);
    if (dk) {
      if (typeof envelope.HMAC !== "string") return null;
      if (!await verifyPayload(dk, payload, _unbase64(envelope.HMAC))) return null;
    } else if (envelope.HMAC !== undefined) {
      return null;
    }
    const inner = JSON.parse(_decoder.decode(payload));
    if (inner?.Origin !== "server" || typeof inner.Addr !== "string") return null;
    parseCircuitUrl(inner.Addr);
    return inner.Addr;
  } catch {
    // Malformed JSON, base64 or URL: not an answer.
    return null;
  }
}

function _base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function _unbase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
