/**
 * An observer process inside a network namespace that makes calls to servers from there, and a
 * multicast listener inside one; re-exported by _netns.ts.
 *
 * Run as a script it is that observer: `deno run … _netns_observer.ts observe` answers JSON-line
 * requests `{"Id":1,"Url":…,"Op":"view","Args":{},"TimeoutMs":1000}` on stdin with
 * `{"Id":1,"Ok":true,"Value":…}` or `{"Id":1,"Ok":false,"Error":"…"}` on stdout;
 * `… _netns_observer.ts listen 228.8.8.8:8822` prints every datagram the group receives as
 * `{"From":"ip:port","Text":"…"}`.
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";
import { connect } from "../wire/dial.ts";
import type { OpName } from "../wire/ops.ts";
import { PERMISSIONS, QUIET_ENV } from "./_harness.ts";
import { inNs } from "./_netns.ts";
import type { NsServer } from "./_netns_server.ts";

const _decoder = new TextDecoder();

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
    return new Observer(spawnThisScript(ns, ["observe"], "piped"));
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
    const l = new GroupListener(spawnThisScript(ns, ["listen", group], "null"));
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

/** This module run as a script in `ns` (its `observe` or `listen` mode), stdout piped to the caller. */
function spawnThisScript(ns: string | null, args: string[], stdin: "piped" | "null"): Deno.ChildProcess {
  const [cmd, argv] = inNs(ns, ["deno", "run", ...PERMISSIONS, new URL(import.meta.url).pathname, ...args]);
  return new Deno.Command(cmd, { args: argv, stdin, stdout: "piped", stderr: "inherit", env: QUIET_ENV })
    .spawn();
}
