/**
 * The daemon: accepts connections, authenticates them, serves its anchors, forwards calls for
 * other servers' anchors, keeps the membership and shuts down gracefully (SPEC §3, §6).
 *
 * @module
 */
import { Connection, type IncomingCall } from "../wire/connection.ts";
import { CircuitError, ConnectionError } from "../wire/errors.ts";
import { acceptHandshake, HandshakeRejected } from "../wire/handshake.ts";
import { ADMIN, ANONYMOUS, serverIdentity } from "../wire/identity.ts";
import { parseAnchorPath } from "../wire/path.ts";
import { parseCircuitUrl } from "../wire/url.ts";
import { FrameTransport } from "../wire/transport.ts";
import type { DockerEngine } from "./docker/engine.ts";
import { parseRun } from "./docker/run.ts";
import type { Element, ElementContext } from "./elements/element.ts";
import { ContainerElement } from "./elements/docker.ts";
import { NameserverElement } from "./elements/dns.ts";
import type { ProcElement } from "./elements/proc.ts";
import { ServerElement } from "./elements/server.ts";
import { SubscriptionElement } from "./elements/subscription.ts";
import { relay, RelayTable } from "./forward.ts";
import { type LocalContext, serveLocal } from "./handlers.ts";
import { log } from "./log.ts";
import { Membership } from "./membership/membership.ts";
import { Namespace } from "./namespace.ts";
import type { OpsLog } from "./ops_log.ts";
import { Peers } from "./peers.ts";
import { CallLimiter, HANDSHAKE_TIMEOUT_MS } from "./limits.ts";

/** Non-blocking operations time out after this, end to end through forwarding (SPEC §4.6). */
const _CALL_TIMEOUT_MS = 10_000;

/** `mk` of a container and scrubs (which may stop a container) get longer (SPEC §4.6). */
const _SLOW_CALL_TIMEOUT_MS = 30_000;

/** Child process groups get this long after SIGTERM before SIGKILL at shutdown (SPEC §3.5). */
const _SHUTDOWN_GRACE_MS = 5_000;

/** Operations that wait for something to happen have no timeout (SPEC §4.6). */
const _BLOCKING_OPS = new Set(["recv", "send", "wait", "stdin", "read"]);

/** Everything the daemon is made of, decided before it starts. */
export interface ServerInit {
  listener: Deno.TcpListener;
  url: string;
  workerId: string;
  serverId: string;
  key?: Uint8Array;
  opsLog: OpsLog;
  lock: Deno.FsFile;
  docker?: DockerEngine;
}

/**
 * A running circuit server.
 *
 * @example
 * ```ts ignore
 * import { CircuitServer } from "./server.ts";
 * const server = new CircuitServer(init);
 * await server.serve();
 * ```
 */
export class CircuitServer {
  readonly url: string;
  readonly serverId: string;
  readonly started = new Date();
  #init: ServerInit;
  #ns: Namespace;
  #peers: Peers;
  #membership: Membership;
  #relays = new RelayTable();
  #subscriptions = new Set<SubscriptionElement>();
  /** Every process started and not yet ended, attached or scrubbed: shutdown stops them all. */
  #children = new Set<ProcElement>();
  #clients = new Set<Connection>();
  #connKeys = new WeakMap<Connection, number>();
  #nextConnKey = 1;
  #forwardedTo = new Map<Connection, Set<string>>();
  #shuttingDown: Promise<number> | null = null;
  #local: LocalContext;

  /** Builds the daemon around an open listener; `serve()` starts it. */
  constructor(init: ServerInit) {
    this.#init = init;
    this.url = init.url;
    this.serverId = init.serverId;
    const element = new ServerElement(init.url, this.started, {
      join: (url) => this.#membership.join(url),
      suicide: () => void this.shutdown("suicide"),
      stack: () => this.stack(),
    });
    this.#ns = new Namespace(init.serverId, element, (path, kind, auto, kill) => {
      init.opsLog.record("scrub", { Path: path, Kind: kind, Auto: auto, Kill: kill });
    });
    this.#peers = new Peers(init.serverId, init.url, init.key, (call) => this.#dispatch(call));
    this.#membership = new Membership({ Id: init.serverId, Url: init.url }, this.#peers, {
      joined: (id, url) => {
        log(`Member joined /${id} ${url}`);
        init.opsLog.record("join", { ServerID: id, Addr: url });
        this.#publish("join", id);
      },
      left: (id, url) => {
        log(`Member left /${id}`);
        init.opsLog.record("leave", { ServerID: id, Addr: url });
        this.#relays.failAll(id, "left the cluster");
        this.#peers.get(id)?.close("connection lost");
        this.#publish("leave", id);
      },
    });
    this.#local = {
      ns: this.#ns,
      log,
      record: (op, fields) => init.opsLog.record(op, fields),
      makeSpecial: (kind, arg, ctx) => this.#makeSpecial(kind, arg, ctx),
      adoptChild: (proc) => {
        if (!proc.running) return;
        this.#children.add(proc);
        proc.closed.then(() => this.#children.delete(proc));
      },
    };
  }

  /** The membership of this server. */
  get membership(): Membership {
    return this.#membership;
  }

  /** Accepts connections until shutdown. */
  async serve(): Promise<void> {
    try {
      for await (const socket of this.#init.listener) this.#accept(socket);
    } catch {
      // listener closed at shutdown
    }
  }

  async #accept(socket: Deno.TcpConn): Promise<void> {
    const remote = socket.remoteAddr as Deno.NetAddr;
    const peer = `${remote.hostname.includes(":") ? `[${remote.hostname}]` : remote.hostname}:${remote.port}`;
    socket.setNoDelay(true);
    const transport = new FrameTransport(socket);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      transport.close();
    }, HANDSHAKE_TIMEOUT_MS);
    let result;
    try {
      const [pid] = this.url.split("/").slice(-2);
      result = await acceptHandshake(transport, {
        serverId: this.serverId,
        url: this.url,
        workerId: this.#init.workerId,
        pid: Number(pid),
        key: this.#init.key,
      });
      if (result.keys) {
        transport.encrypt(await result.keys.sealerFor("acceptor"), await result.keys.openerFor("acceptor"));
      }
    } catch (err) {
      const reason = err instanceof HandshakeRejected
        ? err.message
        : timedOut
        ? `handshake timed out after ${HANDSHAKE_TIMEOUT_MS / 1000}s`
        : `handshake failed: ${err instanceof Error ? err.message : err}`;
      log(`rejected peer ${peer}: ${reason}`);
      this.#init.opsLog.record("reject", { Peer: peer, Reason: reason });
      transport.close();
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.#shuttingDown) return transport.close();
    const isServer = result.hello.role === "server";
    const conn = new Connection(transport, {
      dialer: false,
      serverId: isServer ? result.hello.id : "",
      url: result.hello.from,
      onCall: (call) => this.#dispatch(call),
      limiter: new CallLimiter(),
      identity: result.keys === null
        ? ANONYMOUS
        : isServer
        ? serverIdentity(parseCircuitUrl(result.hello.from).workerId)
        : ADMIN,
    });
    this.#connKeys.set(conn, this.#nextConnKey++);
    if (isServer) this.#peers.adopt(conn);
    else this.#clients.add(conn);
    conn.closed.then(() => this.#onConnectionClosed(conn));
    conn.start();
  }

  #connKey(conn: Connection): number {
    let k = this.#connKeys.get(conn);
    if (k === undefined) this.#connKeys.set(conn, k = this.#nextConnKey++);
    return k;
  }

  #onConnectionClosed(conn: Connection): void {
    this.#clients.delete(conn);
    const key = this.#connKey(conn);
    this.#ns.release((h) => h.startsWith(`${key}:`));
    const forwarded = this.#forwardedTo.get(conn);
    this.#forwardedTo.delete(conn);
    for (const id of forwarded ?? []) {
      this.#peers.get(id)?.call("release", { Holder: key }, { timeoutMs: _CALL_TIMEOUT_MS }).catch(() => {});
    }
  }

  #dispatch(call: IncomingCall): void {
    this.#handle(call).catch((err) => {
      if (err instanceof CircuitError || err instanceof ConnectionError) call.fail(err);
      else if (call.signal.aborted) call.fail(new ConnectionError("cancelled"));
      else {
        // A bug of ours: the details go to the log, the client gets no internals.
        log(`internal error in ${call.op}: ${err instanceof Error ? err.stack ?? err.message : err}`);
        call.fail(new ConnectionError(`internal server error in ${call.op}`));
      }
    });
  }

  async #handle(call: IncomingCall): Promise<void> {
    const fromServer = call.connection.serverId !== "";
    const args = call.args;
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      throw new CircuitError("malformed arguments");
    }
    const a = args as Record<string, unknown>;
    if (fromServer) {
      if (this.#membership.serve(call)) return;
      if (call.op === "release") {
        const prefix = `${this.#connKey(call.connection)}:${a.Holder}`;
        this.#ns.release((h) => h === prefix);
        return call.reply(null);
      }
    }
    if (call.op === "view") return call.reply(this.#membership.view());
    if (typeof a.Path !== "string") throw new CircuitError("malformed arguments: Path");
    const { parts } = parseAnchorPath(a.Path);
    if (parts.length === 0) return this.#serveRoot(call);
    const [id, ...names] = parts;
    if (id === this.serverId) {
      const holder = `${this.#connKey(call.connection)}:${fromServer ? a.Holder ?? "" : ""}`;
      return await serveLocal(call, names, holder, this.#local);
    }
    const url = this.#membership.urlOf(id);
    if (url === undefined) throw new CircuitError(`unknown server ${id}`);
    if (fromServer) throw new CircuitError(`unknown server ${id}`);
    let peer: Connection;
    try {
      peer = await this.#peers.connect(id, url);
    } catch (err) {
      throw new ConnectionError(`server ${id} unreachable: ${err instanceof Error ? err.message : err}`);
    }
    let set = this.#forwardedTo.get(call.connection);
    if (!set) this.#forwardedTo.set(call.connection, set = new Set());
    set.add(id);
    const timeout = _BLOCKING_OPS.has(call.op)
      ? undefined
      : call.op === "scrub" || (call.op === "mk" && a.Kind === "docker")
      ? _SLOW_CALL_TIMEOUT_MS
      : _CALL_TIMEOUT_MS;
    relay(call, { ...a, Holder: this.#connKey(call.connection) }, peer, id, this.#relays, timeout);
  }

  #serveRoot(call: IncomingCall): void {
    switch (call.op) {
      case "mk":
        throw new CircuitError("cannot create elements outside of servers");
      case "ls":
        return call.reply(this.#membership.view().map((m) => ({ Path: "/" + m.Id, Kind: "server" })));
      case "peek":
      case "scrub":
      case "get":
        return call.reply(null);
      default:
        throw new CircuitError("cannot operate on the root anchor");
    }
  }

  #makeSpecial(kind: string, arg: unknown, ctx: ElementContext): Promise<Element> | null {
    switch (kind) {
      case "dns":
        return NameserverElement.create(typeof arg === "string" && arg !== "" ? arg : undefined, ctx);
      case "docker": {
        const engine = this.#init.docker;
        if (!engine) return Promise.reject(new CircuitError("docker not enabled on this server"));
        return Promise.resolve().then(() => ContainerElement.create(parseRun(arg), ctx, engine));
      }
      case "@join":
      case "@leave": {
        const initial = kind === "@join" ? this.#membership.view().map((m) => "/" + m.Id) : [];
        const sub = new SubscriptionElement(kind === "@join" ? "join" : "leave", initial);
        this.#subscriptions.add(sub);
        return Promise.resolve(sub);
      }
    }
    return null;
  }

  #publish(source: "join" | "leave", id: string): void {
    for (const sub of this.#subscriptions) {
      if (sub.peek().Closed) this.#subscriptions.delete(sub);
      else if (sub.kind === (source === "join" ? "@join" : "@leave")) sub.push("/" + id);
    }
  }

  /** The `stk` dump: a human-readable state of the daemon, ending with `•••`. */
  stack(): string {
    const mem = Deno.memoryUsage();
    const kinds = new Map<string, number>();
    for (const e of this.#ns.elements()) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    const lines = [
      `server ${this.serverId} ${this.url}`,
      `uptime ${((Date.now() - this.started.getTime()) / 1000).toFixed(1)}s`,
      `memory rss=${mem.rss} heapUsed=${mem.heapUsed} external=${mem.external}`,
      `members ${this.#membership.view().length}`,
      ...this.#membership.view().map((m) =>
        `  /${m.Id} ${m.Url}${this.#peers.get(m.Id) ? " connected" : ""}`
      ),
      `client connections ${this.#clients.size}`,
      `peer connections ${this.#peers.all().length}`,
      `relayed calls ${this.#relays.size}`,
      `anchors ${this.#ns.anchorCount()}`,
      ...[...kinds].sort().map(([k, n]) => `  elements ${k} ${n}`),
      "•••",
    ];
    return lines.join("\n") + "\n";
  }

  /** The exit code of the graceful shutdown under way (e.g. after `suicide`), or null before one began. */
  get stopping(): Promise<number> | null {
    return this.#shuttingDown;
  }

  /**
   * Graceful shutdown (SPEC §3.5); resolves with the exit code. A second call while shutting
   * down kills the remaining process groups at once and resolves with 1.
   */
  shutdown(reason: string): Promise<number> {
    if (this.#shuttingDown) {
      this.#killAll("SIGKILL");
      return Promise.resolve(1);
    }
    this.#shuttingDown = this.#shutdown(reason);
    return this.#shuttingDown;
  }

  async #shutdown(reason: string): Promise<number> {
    log(`Shutting down (${reason})`);
    this.#init.opsLog.record("stop", { Reason: reason });
    await this.#membership.leave();
    try {
      this.#init.listener.close();
    } catch {
      // already closed
    }
    this.#killAll("SIGTERM");
    const deadline = Date.now() + _SHUTDOWN_GRACE_MS;
    while ([...this.#children].some((p) => p.running) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#killAll("SIGKILL");
    await this.#init.docker?.removeAll().catch(() => {});
    for (const e of this.#ns.elements()) {
      if (e.kind === "dns") e.dispose();
    }
    for (const c of this.#clients) c.close("connection lost");
    this.#peers.closeAll();
    this.#init.opsLog.close();
    this.#init.lock.close();
    return 0;
  }

  #killAll(signal: Deno.Signal): void {
    // Also groups whose leader has exited: its background children may still hold the pipes.
    for (const p of this.#children) p.signalGroup(signal);
  }
}
