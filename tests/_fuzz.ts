/**
 * What the fuzz tests share: a PRNG seeded from `CIRCUIT_FUZZ_SEED` (else at random) and the
 * random and mutated values, bytes and process/container commands drawn from it; the number of
 * frames (`CIRCUIT_FUZZ_N`), the servers' RSS bounds and RSS from /proc; framing bodies and
 * draining a connection until the server closes it.
 *
 * @module
 */
import { prng } from "./_util.ts";

/** Frames to send in the main fuzz run; the CI default is the minimum. */
export const FRAMES = Number(Deno.env.get("CIRCUIT_FUZZ_N") ?? "100000");

/**
 * RSS bounds of a fuzzed server (an idle one holds about 50 MiB). Peak: garbage from bursts of
 * hostile frames is collected late, so RSS may briefly rise well above the live set. Settled: what
 * stays once the fuzz has stopped and its connections are closed; a leak would pile up here.
 */
export const RSS_PEAK_MIB = 256;
export const RSS_SETTLED_MIB = 192;

/** The seed of {@linkcode rand}: `CIRCUIT_FUZZ_SEED`, else random (printed by the main fuzz test). */
export const SEED = Number(Deno.env.get("CIRCUIT_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));

/** The fuzz tests' PRNG, and integers below `n`, picks and random bytes drawn from it. */
export const rand = prng(SEED);
export const int = (n: number) => Math.floor(rand() * n);
export const pick = <V>(xs: readonly V[]): V => xs[int(xs.length)];
export const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));

/** A random string: empty, printable ASCII, wider characters, or slashes and a long name. */
export function randomString(): string {
  return pick([
    () => "",
    () => String.fromCharCode(...Array.from({ length: int(20) }, () => 32 + int(95))),
    () => String.fromCharCode(...Array.from({ length: int(8) }, () => int(0x3000))),
    () => "/".repeat(int(5)) + "x".repeat(int(300)),
  ])();
}

/** A random msgpack-able value, nested at most `depth` deep. */
export function randomValue(depth = 2): unknown {
  const leaf = [
    () => null,
    () => rand() < 0.5,
    () => int(1000) - 500,
    () => pick([2 ** 53, -(2 ** 60), 1e308, NaN, -0, 0.5]),
    randomString,
    () => bytes(int(64)),
  ];
  if (depth <= 0) return pick(leaf)();
  return pick([
    ...leaf,
    () => Array.from({ length: int(5) }, () => randomValue(depth - 1)),
    () => Object.fromEntries(Array.from({ length: int(5) }, () => [randomString(), randomValue(depth - 1)])),
  ])();
}

/** Byte-level mutations: bit flips, byte changes, insertions, deletions, truncation, splicing. */
export function mutate(src: Uint8Array): Uint8Array {
  let b = Uint8Array.from(src);
  for (let k = 1 + int(3); k > 0; k--) {
    const i = b.length === 0 ? 0 : int(b.length);
    switch (int(6)) {
      case 0:
        if (b.length) b[i] ^= 1 << int(8);
        break;
      case 1:
        if (b.length) b[i] = pick([0, 0xff, 0x7f, 0x80, 0xc1, 0xdd, 0xdf, int(256)]);
        break;
      case 2: {
        const ins = bytes(1 + int(8));
        b = Uint8Array.from([...b.subarray(0, i), ...ins, ...b.subarray(i)]);
        break;
      }
      case 3:
        b = Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1 + int(4))]);
        break;
      case 4:
        b = b.subarray(0, i);
        break;
      case 5:
        b = Uint8Array.from([...b, ...b.subarray(i)]);
        break;
    }
  }
  return b;
}

/** Process and container commands: the seeds the mk fuzz mutates. Only harmless programs. */
const CMD_SEEDS: unknown[] = [
  { Path: "/bin/true" },
  { Path: "/bin/echo", Args: ["fuzz"], Env: ["A=1"], Dir: "/tmp" },
  { Path: "/bin/true", Scrub: true },
  { Image: "circuit-test", Path: "/bin/true", Args: ["x"], Env: ["A=1"], Ports: ["127.0.0.1:1:80"] },
  { Image: "", Memory: 1 << 20, CpuShares: 2, Lxc: ["x"], Volume: ["/a:/b"], Dir: "/", Entry: "" },
];

/** A mk argument for process or docker: a seed, a mutated seed's JSON, or something random. */
export function randomCmd(): unknown {
  const seed = pick(CMD_SEEDS);
  switch (int(4)) {
    case 0:
      return seed;
    case 1: {
      // Mutated JSON text that still parses is as interesting as text that does not.
      const text = new TextDecoder().decode(mutate(new TextEncoder().encode(JSON.stringify(seed))));
      try {
        return _harmless(JSON.parse(text));
      } catch {
        return text;
      }
    }
    case 2: {
      const copy = { ...(seed as Record<string, unknown>) };
      copy[pick(Object.keys(copy))] = randomValue(1);
      return _harmless(copy);
    }
    default:
      return randomValue();
  }
}

/** Never a random program: a mutation may have made Path name a real one (`/bin/tr`), so move it away. */
function _harmless(v: unknown): unknown {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  if (typeof o.Path === "string" && o.Path !== "/bin/true" && o.Path !== "/bin/echo") {
    o.Path = `/nonexistent/${o.Path}`;
  }
  return o;
}

/** The bodies, each behind its 4-byte big-endian length, in one buffer. */
export function framed(bodies: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(bodies.reduce((n, b) => n + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  let off = 0;
  for (const b of bodies) {
    view.setUint32(off, b.length);
    out.set(b, off + 4);
    off += 4 + b.length;
  }
  return out;
}

/** Reads and discards everything until the peer closes, or until `ms` pass (then closes). */
export async function drainUntilClosed(conn: Deno.Conn, ms: number): Promise<boolean> {
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed
    }
  }, ms);
  const buf = new Uint8Array(64 * 1024);
  let byPeer = false;
  try {
    while (await conn.read(buf) !== null);
    byPeer = true;
  } catch {
    // reset by the peer, or closed by the timer
  } finally {
    clearTimeout(timer);
  }
  try {
    conn.close();
  } catch {
    // already closed
  }
  return byPeer;
}

/** The resident set size of process `pid`, in MiB. */
export function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}
