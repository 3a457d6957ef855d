/**
 * Test helpers for multi-host scenarios: Linux network namespaces the tests create and remove
 * themselves (veth pairs on a bridge, 10.231.x.y addresses that exist only inside them), servers
 * and CLI runs inside a namespace, and an observer process that makes calls from inside one.
 *
 * Run as a script it is that observer: `deno run … _netns.ts observe` answers JSON-line requests
 * `{"Id":1,"Url":…,"Op":"view","Args":{},"TimeoutMs":1000}` on stdin with `{"Id":1,"Ok":true,"Value":…}`
 * or `{"Id":1,"Ok":false,"Error":"…"}` on stdout; `… _netns.ts listen 228.8.8.8:8822` prints every
 * datagram the group receives as `{"From":"ip:port","Text":"…"}`.
 *
 * Needs root. Nothing is ever sent from, or configured in, the namespace the tests run in.
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";
import { connect } from "../wire/dial.ts";
import type { OpName } from "../wire/ops.ts";
import { CLI, PERMISSIONS, QUIET_ENV, type RunResult } from "./_harness.ts";

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
function _inNs(ns: string | null, argv: string[]): [string, string[]] {
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

/** Runs `circuit <args>` inside namespace `ns` (null: here) to completion. */
export async function nsCircuit(
  ns: string | null,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  const [cmd, argv] = _inNs(ns, ["deno", "run", ...PERMISSIONS, CLI, ...args]);
  const out = await new Deno.Command(cmd, {
    args: argv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { ...QUIET_ENV, ...env },
  }).output();
  return { code: out.code, stdout: _decoder.decode(out.stdout), stderr: _decoder.decode(out.stderr) };
}

/**
 * A server started inside a namespace (or here), whose log can be read while it runs.
 *
 * @example
 * ```ts ignore
 * const s = await NsServer.start("cirt-h1", dir, ["-a", "10.231.1.1:0"]);
 * console.log(s.url, s.id, s.log());
 * await s.stop();
 * ```
 */
export class NsServer {
  /** Its circuit URL. */
  readonly url: string;
  /** Its server ID (`X…`, without the slash). */
  readonly id: string;
  /** Its var dir. */
  readonly varDir: string;
  #child: Deno.ChildProcess;
  #log: { text: string };
  #logDone: Promise<void>;

  private constructor(
    url: string,
    id: string,
    varDir: string,
    child: Deno.ChildProcess,
    log: { text: string },
    logDone: Promise<void>,
  ) {
    this.url = url;
    this.id = id;
    this.varDir = varDir;
    this.#child = child;
    this.#log = log;
    this.#logDone = logDone;
  }

  /** Starts `circuit start -var <dir>/var-<random> <args>` in `ns` and waits for its URL. */
  static async start(
    ns: string | null,
    dir: string,
    args: string[],
    env: Record<string, string> = {},
  ): Promise<NsServer> {
    const varDir = `${dir}/var-${crypto.randomUUID().slice(0, 8)}`;
    const [cmd, argv] = _inNs(ns, ["deno", "run", ...PERMISSIONS, CLI, "start", "-var", varDir, ...args]);
    const child = new Deno.Command(cmd, {
      args: argv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { ...QUIET_ENV, ...env },
    }).spawn();
    const log = { text: "" };
    const logDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log.text += chunk;
    })();
    let out = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!out.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) break;
      out += value;
    }
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    if (!out.includes("\n")) {
      await child.status;
      await logDone;
      throw new Error(`server did not start: ${log.text}`);
    }
    const first = JSON.parse((await Deno.readTextFile(`${varDir}/ops.log`)).split("\n")[0]);
    return new NsServer(out.trim(), first.ServerID, varDir, child, log, logDone);
  }

  /** The server's OS process ID (`ip netns exec` execs, so it is the server itself). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Its server anchor, `/X…`. */
  get anchor(): string {
    return "/" + this.id;
  }

  /** What it has logged so far. */
  log(): string {
    return this.#log.text;
  }

  /** Sends a signal; no error if it has exited. */
  signal(sig: Deno.Signal): void {
    try {
      this.#child.kill(sig);
    } catch {
      // already gone
    }
  }

  /** Resolves once it has exited. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }

  /** The lines of its ops log, parsed. */
  async opsLog(): Promise<Record<string, unknown>[]> {
    const text = await Deno.readTextFile(`${this.varDir}/ops.log`);
    return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  }

  /** Stops it (SIGKILL unless told otherwise; a stopped process is continued first) and waits. */
  async stop(sig: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    this.signal("SIGCONT");
    this.signal(sig);
    const status = await this.#child.status;
    await this.#logDone;
    return status;
  }
}

/**
 * An observer process inside a namespace (or here): makes calls to servers from there, so the
 * test can watch a cluster it cannot reach directly.
 *
 * @example
 * ```ts ignore
 * const o = Observer.start("cirt-br");
 * console.log(await o.view(url));
 * await o.close();
 * ```
 */
export class Observer {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending = new Map<number, (r: { Ok: boolean; Value?: unknown; Error?: string }) => void>();
  #next = 1;
  #done: Promise<void>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#done = (async () => {
      let buf = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const r = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          this.#pending.get(r.Id)?.(r);
          this.#pending.delete(r.Id);
        }
      }
    })();
  }

  /** Starts the observer in `ns`. */
  static start(ns: string | null): Observer {
    const [cmd, argv] = _inNs(ns, [
      "deno",
      "run",
      ...PERMISSIONS,
      new URL(import.meta.url).pathname,
      "observe",
    ]);
    const child = new Deno.Command(cmd, {
      args: argv,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      env: QUIET_ENV,
    }).spawn();
    return new Observer(child);
  }

  /** Calls `op` on the server at `url`; rejects with the error's message. */
  async call(url: string, op: OpName, args: unknown, timeoutMs = 2_000): Promise<unknown> {
    const id = this.#next++;
    const reply = new Promise<{ Ok: boolean; Value?: unknown; Error?: string }>((r) =>
      this.#pending.set(id, r)
    );
    const line = JSON.stringify({ Id: id, Url: url, Op: op, Args: args, TimeoutMs: timeoutMs }) + "\n";
    await this.#writer.write(new TextEncoder().encode(line));
    const r = await reply;
    if (!r.Ok) throw new Error(r.Error);
    return r.Value;
  }

  /** The server IDs in the view of the server at `url`, or null if it does not answer within 1 s. */
  async view(url: string): Promise<string[] | null> {
    try {
      const members = await this.call(url, "view", {}, 1_000) as { Id: string }[];
      return members.map((m) => m.Id);
    } catch {
      return null;
    }
  }

  /** Stops the observer. */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#child.status;
    await this.#done;
  }
}

/**
 * A multicast listener inside a namespace: collects every datagram sent to a group.
 *
 * @example
 * ```ts ignore
 * const l = GroupListener.start("cirt-a22", "228.8.8.8:8822");
 * console.log(l.datagrams());
 * await l.close();
 * ```
 */
export class GroupListener {
  #child: Deno.ChildProcess;
  #seen: { From: string; Text: string; At: number }[] = [];
  #done: Promise<void>;
  #ready: Promise<void>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    let ready!: () => void;
    this.#ready = new Promise((r) => (ready = r));
    this.#done = (async () => {
      let buf = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === "ready") ready();
          else this.#seen.push({ ...JSON.parse(line), At: Date.now() });
        }
      }
      ready();
    })();
  }

  /** Starts listening on `group` (`ip:port`) in `ns`; resolves once it has joined the group. */
  static async start(ns: string | null, group: string): Promise<GroupListener> {
    const [cmd, argv] = _inNs(ns, [
      "deno",
      "run",
      ...PERMISSIONS,
      new URL(import.meta.url).pathname,
      "listen",
      group,
    ]);
    const child = new Deno.Command(cmd, {
      args: argv,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
      env: QUIET_ENV,
    })
      .spawn();
    const l = new GroupListener(child);
    await l.#ready;
    return l;
  }

  /** Datagrams received so far, with the time each arrived. */
  datagrams(): { From: string; Text: string; At: number }[] {
    return [...this.#seen];
  }

  /** Stops listening. */
  async close(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#done;
  }
}

async function _observe(): Promise<void> {
  const conns = new Map<string, Promise<Connection>>();
  const out = Deno.stdout;
  const enc = new TextEncoder();
  const answer = async (req: { Id: number; Url: string; Op: OpName; Args: unknown; TimeoutMs: number }) => {
    let reply;
    try {
      let p = conns.get(req.Url);
      if (!p) conns.set(req.Url, p = connect(req.Url));
      let conn: Connection;
      try {
        conn = await p;
      } catch (err) {
        conns.delete(req.Url);
        throw err;
      }
      if (conn.isClosed) {
        conns.delete(req.Url);
        throw new Error("connection lost");
      }
      // deno-lint-ignore no-explicit-any
      const value = await conn.call(req.Op, req.Args as any, { timeoutMs: req.TimeoutMs });
      reply = { Id: req.Id, Ok: true, Value: value };
    } catch (err) {
      reply = { Id: req.Id, Ok: false, Error: err instanceof Error ? err.message : String(err) };
    }
    out.writeSync(enc.encode(JSON.stringify(reply) + "\n"));
  };
  let buf = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      answer(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  }
  Deno.exit(0);
}

async function _listen(group: string): Promise<void> {
  const [host, port] = group.split(":");
  const socket = Deno.listenDatagram({
    hostname: "0.0.0.0",
    port: Number(port),
    transport: "udp",
    reuseAddress: true,
  });
  await socket.joinMulticastV4(host, "0.0.0.0");
  Deno.stdout.writeSync(new TextEncoder().encode("ready\n"));
  for await (const [data, from] of socket) {
    const a = from as Deno.NetAddr;
    const line = JSON.stringify({ From: `${a.hostname}:${a.port}`, Text: _decoder.decode(data) });
    Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "observe") await _observe();
  else if (Deno.args[0] === "listen") await _listen(Deno.args[1]);
}

/** Whether every server in `watchers` has exactly `members` in its view, as `o` sees it. */
export async function viewsAre(o: Observer, watchers: NsServer[], members: NsServer[]): Promise<boolean> {
  const want = members.map((m) => m.id).sort().join(" ");
  const views = await Promise.all(watchers.map((w) => o.view(w.url)));
  return views.every((v) => v?.join(" ") === want);
}
