/**
 * The library's entry points: {@link dial}, {@link Client} and {@link Anchor} (SPEC §8).
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";
import { authOf, type DialOptions, keyBytes } from "./dial_options.ts";
import { connect } from "../wire/dial.ts";
import { CircuitError } from "../wire/errors.ts";
import {
  _handleFor,
  type Chan,
  type Cmd,
  type Container,
  type DockerRun,
  type Element,
  type Nameserver,
  type Proc,
  type Subscription,
} from "./handles.ts";
import type { HandleInfo } from "../wire/ops.ts";
import { checkAnchorName, parseAnchorPath } from "../wire/path.ts";
import { CALL_TIMEOUT_MS, SLOW_CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { runOn, type RunOptions, type RunTarget } from "./run.ts";
import { listServers, type ServerInfo } from "./servers.ts";
import { type WatchEvent, watchEvents } from "./watch.ts";

export type { DialOptions, Key } from "./dial_options.ts";

/**
 * A node of the namespace. Creating an anchor object does no I/O.
 *
 * @example
 * ```ts ignore
 * const anchor = client.walk(`/${client.serverId}/jobs/hello`);
 * const proc = await anchor.makeProc({ path: "/bin/echo", args: ["hi"] });
 * ```
 */
export class Anchor {
  /** The absolute path, `/` for the root. */
  readonly path: string;
  /** The hosting server's ID, null for the root. */
  readonly serverId: string | null;
  #conn: Connection;
  #parts: string[];

  /** @internal */
  constructor(conn: Connection, parts: string[]) {
    for (const p of parts) checkAnchorName(p);
    this.#conn = conn;
    this.#parts = parts;
    this.path = "/" + parts.join("/");
    this.serverId = parts[0] ?? null;
  }

  /**
   * The anchor at a path relative to this one.
   *
   * @example
   * ```ts ignore
   * const jobs = client.walk(`/${client.serverId}`).walk("jobs/web");
   * ```
   */
  walk(rel: string | string[]): Anchor {
    const more = Array.isArray(rel) ? rel : parseAnchorPath(rel).parts;
    return new Anchor(this.#conn, [...this.#parts, ...more]);
  }

  /**
   * The children of this anchor by name (for the root: the servers of the dialed server's view).
   *
   * @example
   * ```ts ignore
   * for (const name of (await anchor.view()).keys()) console.log(name);
   * ```
   */
  async view(): Promise<Map<string, Anchor>> {
    const entries = await this.#conn.call("ls", { Path: this.path, Recursive: false, PostOrder: false }, {
      timeoutMs: CALL_TIMEOUT_MS,
    });
    const out = new Map<string, Anchor>();
    for (const e of entries) {
      const name = e.Path.slice(e.Path.lastIndexOf("/") + 1);
      out.set(name, new Anchor(this.#conn, [...this.#parts, name]));
    }
    return out;
  }

  /**
   * A handle on the element here, or null if there is none.
   *
   * @example
   * ```ts ignore
   * const el = await anchor.get();
   * if (el?.kind === "proc") console.log(await el.peek());
   * ```
   */
  async get(): Promise<Element | null> {
    if (this.#parts.length === 0) return null;
    const info = await this.#conn.call("get", { Path: this.path }, { timeoutMs: CALL_TIMEOUT_MS });
    return info ? _handleFor(this.#conn, this.path, info) : null;
  }

  async #make(kind: string, arg: unknown, timeoutMs = CALL_TIMEOUT_MS): Promise<Element> {
    if (this.#parts.length === 0) throw new CircuitError("cannot create elements outside of servers");
    const info: HandleInfo = await this.#conn.call("mk", { Path: this.path, Kind: kind, Arg: arg }, {
      timeoutMs,
    });
    return _handleFor(this.#conn, this.path, info);
  }

  /**
   * Creates a channel of capacity `cap` here.
   *
   * @example
   * ```ts ignore
   * const chan = await anchor.makeChan(3);
   * ```
   */
  makeChan(cap: number): Promise<Chan> {
    return this.#make("chan", cap) as Promise<Chan>;
  }

  /**
   * Starts a process here. Resolves even if the executable cannot be started: then
   * `(await proc.peek()).phase === "unknown"`.
   *
   * @example
   * ```ts ignore
   * const proc = await anchor.makeProc({ path: "/bin/sh", args: ["-c", "echo hi"] });
   * ```
   */
  makeProc(cmd: Cmd): Promise<Proc> {
    const wire = {
      Path: cmd.path,
      Args: cmd.args ?? [],
      Env: cmd.env ?? null,
      Dir: cmd.dir ?? "",
      Scrub: !!cmd.scrub,
    };
    return this.#make("proc", wire) as Promise<Proc>;
  }

  /**
   * Starts a docker container here (the server must run with `-docker`).
   *
   * @example
   * ```ts ignore
   * const c = await anchor.makeDocker({ image: "busybox", path: "/bin/echo", args: ["hi"] });
   * ```
   */
  makeDocker(run: DockerRun): Promise<Container> {
    const wire = {
      Image: run.image,
      Memory: run.memory ?? 0,
      CpuShares: run.cpuShares ?? 0,
      Lxc: run.lxc ?? [],
      Volume: run.volume ?? [],
      Dir: run.dir ?? "",
      Entry: run.entry ?? "",
      Env: run.env ?? [],
      Path: run.path ?? "",
      Args: run.args ?? [],
      Ports: run.ports ?? [],
      Scrub: !!run.scrub,
    };
    return this.#make("docker", wire, SLOW_CALL_TIMEOUT_MS) as Promise<Container>;
  }

  /**
   * Starts a DNS name server here, on `addr` (`ip:port`) or any free port.
   *
   * @example
   * ```ts ignore
   * const ns = await anchor.makeNameserver("127.0.0.1:0");
   * ```
   */
  makeNameserver(addr?: string): Promise<Nameserver> {
    return this.#make("dns", addr ?? null) as Promise<Nameserver>;
  }

  /**
   * Subscribes to servers joining the hosting server's view (pre-filled with the current view).
   *
   * @example
   * ```ts ignore
   * for await (const id of await anchor.makeOnJoin()) console.log(id);
   * ```
   */
  makeOnJoin(): Promise<Subscription> {
    return this.#make("@join", null) as Promise<Subscription>;
  }

  /**
   * Subscribes to servers leaving the hosting server's view.
   *
   * @example
   * ```ts ignore
   * const leaves = await anchor.makeOnLeave();
   * ```
   */
  makeOnLeave(): Promise<Subscription> {
    return this.#make("@leave", null) as Promise<Subscription>;
  }

  /**
   * Aborts and detaches the element here (no element: nothing happens). With `kill`, a
   * process's whole group is killed first.
   *
   * @example
   * ```ts ignore
   * await anchor.scrub({ kill: true });
   * ```
   */
  async scrub(opts: { kill?: boolean } = {}): Promise<void> {
    if (this.#parts.length === 0) return;
    await this.#conn.call("scrub", { Path: this.path, Kill: !!opts.kill }, {
      timeoutMs: SLOW_CALL_TIMEOUT_MS,
    });
  }
}

/**
 * A connection to one server of a cluster, through which every server is reached.
 *
 * @example
 * ```ts ignore
 * import { dial } from "@circuit/client";
 * await using client = await dial("circuit://127.0.0.1:4000/812/Q0de74570a61e9688");
 * console.log([...(await client.view()).keys()]);
 * ```
 */
export class Client implements AsyncDisposable {
  /** The dialed server's URL. */
  readonly addr: string;
  /** The dialed server's ID, `X…`. */
  readonly serverId: string;
  /** Settles when the connection ends. */
  readonly closed: Promise<void>;
  #conn: Connection;

  /** @internal */
  constructor(conn: Connection) {
    this.#conn = conn;
    this.addr = conn.url;
    this.serverId = conn.serverId;
    this.closed = conn.closed;
  }

  /**
   * The anchor at an absolute path; no I/O. `"/"` is the root.
   *
   * @example
   * ```ts ignore
   * const anchor = client.walk(`/${client.serverId}/jobs`);
   * ```
   */
  walk(path: string | string[]): Anchor {
    return new Anchor(this.#conn, Array.isArray(path) ? [...path] : parseAnchorPath(path).parts);
  }

  /**
   * The dialed server's view: server ID → server anchor.
   *
   * @example
   * ```ts ignore
   * console.log([...(await client.view()).keys()]);
   * ```
   */
  async view(): Promise<Map<string, Anchor>> {
    const members = await this.#conn.call("view", {}, { timeoutMs: CALL_TIMEOUT_MS });
    return new Map(members.map((m) => [m.Id, new Anchor(this.#conn, [m.Id])]));
  }

  /**
   * The members of the view with host names and tags; `select` (SPEC §15.1: `role=web,dc=ams`,
   * `host=NAME`, `id=X…`, `all`) keeps those that match.
   *
   * @example
   * ```ts ignore
   * for (const s of await client.servers({ select: "role=web" })) console.log(s.host, s.tags);
   * ```
   */
  servers(opts: { select?: string } = {}): Promise<ServerInfo[]> {
    return listServers(this.#conn, opts.select);
  }

  /**
   * Runs a program on the dialed server, or on every server `select` matches (SPEC §15.2).
   * The runs end when this client goes away (unless `detach`); read or cancel each target's
   * `stdout` and `stderr`, then `done` gives its exit.
   *
   * @example
   * ```ts ignore
   * const [r] = await client.run(["/bin/sh", "-c", "echo hi; exit 3"]);
   * const [out, , exit] = await Promise.all([new Response(r.stdout).text(), r.stderr.cancel(), r.done]);
   * console.log(out, exit.code); // "hi\n" 3
   * ```
   */
  run(cmd: readonly string[], opts: RunOptions = {}): Promise<RunTarget[]> {
    return runOn(this.#conn, cmd, opts);
  }

  /**
   * A live feed of changes under `path` (`/...`: the whole cluster), starting with the current
   * state as `exists` events (SPEC §13.1), until `signal` aborts or the loop breaks.
   *
   * @example
   * ```ts ignore
   * for await (const ev of client.watch("/...")) console.log(ev.Time, ev.Event, ev.Kind, ev.Path);
   * ```
   */
  watch(path: string, opts: { signal?: AbortSignal } = {}): AsyncIterable<WatchEvent> {
    return watchEvents(this.#conn, path, opts.signal);
  }

  /**
   * Closes the connection: pending operations are cancelled and handles released.
   *
   * @example
   * ```ts ignore
   * await client.close();
   * ```
   */
  async close(): Promise<void> {
    this.#conn.close("connection closed");
    await this.#conn.closed;
  }

  /**
   * Closes the connection (for `await using`).
   *
   * @example
   * ```ts ignore
   * {
   *   await using client = await dial(url);
   * } // closed here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Connects to the server at a circuit URL; without one, to the URL in `CIRCUIT_URL`, else in
 * the file named by `CIRCUIT` (reading them needs `--allow-env`, and `--allow-read` for the file).
 *
 * @example
 * ```ts ignore
 * import { dial } from "@circuit/client";
 * const client = await dial("circuit://127.0.0.1:4000/812/Q0de74570a61e9688");
 * await client.close();
 * // With a credential from `circuit issue … > alice.cred`:
 * const alice = await dial("circuit://127.0.0.1:4000/812/Q0de74570a61e9688", {
 *   credential: await Deno.readTextFile("alice.cred"),
 * });
 * await alice.close();
 * ```
 */
export async function dial(url?: string, opts: DialOptions = {}): Promise<Client> {
  const auth = await authOf(opts);
  return new Client(await connect(url ?? await _urlFromEnv(), auth));
}

/** `dial()` without a URL (SPEC §15.4): `CIRCUIT_URL`, then the file named by `CIRCUIT`. */
async function _urlFromEnv(): Promise<string> {
  const url = Deno.env.get("CIRCUIT_URL") ?? "";
  if (url !== "") return url;
  const file = Deno.env.get("CIRCUIT") ?? "";
  if (file === "") throw new CircuitError("no URL given and neither CIRCUIT_URL nor CIRCUIT is set");
  try {
    return (await Deno.readTextFile(file)).trim();
  } catch (err) {
    throw new CircuitError(`circuit environment file ${file} is not readable: ${(err as Error).message}`);
  }
}

/**
 * Finds a server by multicast discovery on `addr` (`ip:port`) and connects to the first that
 * answers (SPEC §9.4).
 *
 * @example
 * ```ts ignore
 * import { dialDiscover } from "@circuit/client";
 * const client = await dialDiscover("228.8.8.8:8822");
 * ```
 */
export async function dialDiscover(addr: string, opts: DialOptions = {}): Promise<Client> {
  // Discovery answers are HMAC'd under the key (SPEC §10.3), which a credential lacks.
  if (opts.credential !== undefined) {
    throw new CircuitError("discovery needs the cluster key, not a credential");
  }
  const key = keyBytes(opts.key);
  const { discover } = await import("./discover.ts");
  return new Client(await connect(await discover(addr, { key }), { key }));
}
