/**
 * Test helpers for multi-host scenarios: Linux network namespaces the tests create and remove
 * themselves (a private loopback, or veth pairs on a bridge with 10.231.x.y addresses that exist
 * only inside them). Servers and CLI runs inside a namespace are in _netns_server.ts, and the
 * observer process that makes calls from inside one, and the multicast listener, in
 * _netns_observer.ts; both are re-exported here.
 *
 * Needs root. Nothing is ever sent from, or configured in, the namespace the tests run in.
 *
 * @module
 */
export { nsCircuit, NsServer } from "./_netns_server.ts";
export { GroupListener, Observer, viewsAre } from "./_netns_observer.ts";

/** Every namespace the tests create starts with this, so stale ones can be found and removed. */
export const NS_PREFIX = "cirt-";

const _decoder = new TextDecoder();

/** Runs `ip <args>`; throws with its stderr on failure. */
export async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`ip ${args.join(" ")}: ${_decoder.decode(out.stderr).trim()}`);
}

/** Whether this process may create network namespaces (root with `ip` available). */
export async function canUseNetns(): Promise<boolean> {
  try {
    if (Deno.uid() !== 0) return false;
    const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** Kills every process inside namespace `ns` and deletes it; no error if it does not exist. */
export async function deleteNamespace(ns: string): Promise<void> {
  const pids = await new Deno.Command("ip", { args: ["netns", "pids", ns], stdout: "piped", stderr: "null" })
    .output();
  for (const pid of _decoder.decode(pids.stdout).split(/\s+/).filter((p) => p !== "")) {
    try {
      Deno.kill(Number(pid), "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  await new Deno.Command("ip", { args: ["netns", "delete", ns], stdout: "null", stderr: "null" }).output();
}

/** Deletes every namespace left behind by an earlier run whose name starts with `prefix`. */
export async function deleteStaleNamespaces(prefix: string): Promise<void> {
  const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped", stderr: "null" })
    .output();
  const names = _decoder.decode(out.stdout).split("\n").map((l) => l.split(" ")[0]).filter((n) =>
    n.startsWith(prefix)
  );
  for (const n of names) await deleteNamespace(n);
}

/** The command line that runs `argv` inside namespace `ns` (or here, for null). */
export function inNs(ns: string | null, argv: string[]): [string, string[]] {
  return ns === null ? [argv[0], argv.slice(1)] : ["ip", ["netns", "exec", ns, ...argv]];
}

/**
 * One namespace with `lo` up, multicast on and the multicast route on `lo`: a private loopback
 * network for discovery tests (SPEC §12 A22).
 *
 * @example
 * ```ts ignore
 * const ns = await LoopbackNamespace.create("cirt-a22");
 * await ns.destroy();
 * ```
 */
export class LoopbackNamespace {
  /** The namespace name. */
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates it (deleting a stale one of the same name first). */
  static async create(name: string): Promise<LoopbackNamespace> {
    await deleteNamespace(name);
    await ip("netns", "add", name);
    try {
      await ip("-n", name, "link", "set", "lo", "up");
      await ip("-n", name, "link", "set", "lo", "multicast", "on");
      await ip("-n", name, "route", "add", "224.0.0.0/4", "dev", "lo");
    } catch (err) {
      await deleteNamespace(name);
      throw err;
    }
    return new LoopbackNamespace(name);
  }

  /** Kills what runs inside and deletes the namespace. */
  async destroy(): Promise<void> {
    await deleteNamespace(this.name);
  }
}

/**
 * A switched LAN: namespace `<prefix>br` holds bridge `br0` (address 10.231.<net>.254, where an
 * observer can run), and each host namespace `<prefix>h<i>` has `eth0` = 10.231.<net>.<i>/24 on a
 * veth pair plugged into the bridge, `lo` up and the multicast route on `eth0`.
 *
 * @example
 * ```ts ignore
 * const lan = await Lan.create("cirt-", 1, 5);
 * await lan.cut(3);
 * await lan.restore(3);
 * await lan.destroy();
 * ```
 */
export class Lan {
  /** Namespace name prefix of this LAN. */
  readonly prefix: string;
  /** Third octet of its addresses. */
  readonly net: number;
  /** Number of hosts. */
  readonly size: number;

  private constructor(prefix: string, net: number, size: number) {
    this.prefix = prefix;
    this.net = net;
    this.size = size;
  }

  /** Namespace of the bridge (and the observer). */
  get bridge(): string {
    return `${this.prefix}br`;
  }

  /** Namespace of host `i` (1-based). */
  host(i: number): string {
    return `${this.prefix}h${i}`;
  }

  /** Address of host `i`. */
  addr(i: number): string {
    return `10.231.${this.net}.${i}`;
  }

  /** Builds the LAN; on failure removes what it built. */
  static async create(prefix: string, net: number, size: number): Promise<Lan> {
    const lan = new Lan(prefix, net, size);
    try {
      await ip("netns", "add", lan.bridge);
      await ip("-n", lan.bridge, "link", "set", "lo", "up");
      await ip("-n", lan.bridge, "link", "add", "br0", "type", "bridge");
      // Without IGMP snooping the bridge floods multicast to every port, like a plain switch.
      await ip("-n", lan.bridge, "link", "set", "br0", "type", "bridge", "mcast_snooping", "0");
      await ip("-n", lan.bridge, "addr", "add", `10.231.${net}.254/24`, "dev", "br0");
      await ip("-n", lan.bridge, "link", "set", "br0", "up");
      for (let i = 1; i <= size; i++) {
        const h = lan.host(i);
        await ip("netns", "add", h);
        await ip("-n", h, "link", "set", "lo", "up");
        await ip(
          "-n",
          h,
          "link",
          "add",
          "eth0",
          "type",
          "veth",
          "peer",
          "name",
          `p${i}`,
          "netns",
          lan.bridge,
        );
        await ip("-n", h, "addr", "add", `${lan.addr(i)}/24`, "dev", "eth0");
        await ip("-n", h, "link", "set", "eth0", "up");
        await ip("-n", h, "route", "add", "224.0.0.0/4", "dev", "eth0");
        await ip("-n", lan.bridge, "link", "set", `p${i}`, "master", "br0");
        await ip("-n", lan.bridge, "link", "set", `p${i}`, "up");
      }
    } catch (err) {
      await lan.destroy();
      throw err;
    }
    return lan;
  }

  /** Unplugs host `i`: its bridge port goes down, so its packets go nowhere (no resets). */
  async cut(i: number): Promise<void> {
    await ip("-n", this.bridge, "link", "set", `p${i}`, "down");
  }

  /** Plugs host `i` back in. */
  async restore(i: number): Promise<void> {
    await ip("-n", this.bridge, "link", "set", `p${i}`, "up");
  }

  /** Kills everything inside and deletes every namespace of the LAN. */
  async destroy(): Promise<void> {
    for (let i = 1; i <= this.size; i++) await deleteNamespace(this.host(i));
    await deleteNamespace(this.bridge);
  }
}
