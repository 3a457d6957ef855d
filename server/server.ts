/**
 * The daemon: accepts connections, authenticates them, serves its anchors, forwards calls for
 * other servers' anchors, keeps the membership and shuts down gracefully (SPEC §3, §6).
 *
 * @module
 */
import { Connection, type IncomingCall } from "../wire/connection.ts";
import { CircuitError, ConnectionError } from "../wire/errors.ts";
import { parseAnchorPath } from "../wire/path.ts";
import type { AcceptedTls } from "./tls_listener.ts";
import { ServerElement } from "./elements/server.ts";
import { Subscriptions } from "./elements/subscription.ts";
import { relay, RelayTable } from "./forward.ts";
import { type LocalContext, serveLocal } from "./handlers.ts";
import { log } from "./log.ts";
import { Membership } from "./membership/membership.ts";
import { encodeTags } from "./membership/table.ts";
import { ServerMetrics } from "./metrics/server_metrics.ts";
import { Namespace } from "./namespace.ts";
import { Peers } from "./peers.ts";
import { CallLimiter } from "./limits.ts";
import { acceptPeer } from "./accept.ts";
import { Children } from "./children.ts";
import { serveRoot } from "./root_anchor.ts";
import { stackDump } from "./stack_dump.ts";
import { CALL_TIMEOUT_MS, timeoutOf } from "../wire/timeouts.ts";
import { Authorizer, callerOf, forwardedWho } from "./policy/enforce.ts";
import type { SecurityCounters } from "./policy/counters.ts";
import type { Policy } from "./policy/policy.ts";
import { ChangeFeed } from "./watch/changes.ts";
import { Holders } from "./holders.ts";
import type { ServerInit } from "./server_init.ts";

/** Child process groups get this long after SIGTERM before SIGKILL at shutdown (SPEC §3.5). */
const _SHUTDOWN_GRACE_MS = 5_000;

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
  #subscriptions = new Subscriptions();
  /** Every process started and not yet ended, attached or scrubbed: shutdown stops them all. */
  #children: Children;
  #clients = new Set<Connection>();
  #holders = new Holders();
  #shuttingDown: Promise<number> | null = null;
  // A second SIGTERM/SIGINT came during the shutdown: exit 1 (SPEC §3.5).
  #forced = false;
  #local: LocalContext;
  #metrics: ServerMetrics | null = null;
  #authz: Authorizer;
  /**
   * The identity whose call is running its synchronous part: scrubs and `suicide` record their
   * `Who` from here (both detach or stop before their first await).
   */
  #actor: string | undefined;
  #changes: ChangeFeed;

  /** Builds the daemon around an open listener; `serve()` starts it. */
  constructor(init: ServerInit) {
    this.#init = init;
    this.url = init.url;
    this.serverId = init.serverId;
    const metrics = this.#metrics = init.metrics ? this.#newMetrics() : null;
    this.#children = new Children(metrics);
    this.#changes = new ChangeFeed({
      selfId: init.serverId,
      ns: () => this.#ns,
      members: () => this.#membership.view(),
      openPeer: async (id, url, who, signal) =>
        (await this.#peers.connect(id, url)).openOutput("watch", { Path: `/${id}/...`, Who: who }, { signal })
          .stream,
    });
    const element = new ServerElement(
      init.url,
      this.started,
      {
        join: (url) => this.#membership.join(url),
        suicide: () => void this.shutdown("suicide"),
        stack: () => this.stack(),
      },
      init.host ?? "",
      init.tags ?? {},
    );
    this.#ns = new Namespace(init.serverId, element, (path, kind, auto, kill) => {
      init.opsLog.record(
        "scrub",
        { Path: path, Kind: kind, Auto: auto, Kill: kill },
        auto ? undefined : this.#actor,
      );
      this.#changes.scrubbed(path, kind);
    });
    this.#authz = new Authorizer(init.policy ?? null, {
      log,
      record: (op, fields, who) => init.opsLog.record(op, fields, who),
    });
    init.opsLog.onRecord = (op) => {
      if (op === "reject") this.#authz.counters.rejectedPeer();
    };
    this.#peers = new Peers(init.serverId, init.url, init, (call) => this.#dispatch(call), metrics);
    this.#membership = new Membership({ Id: init.serverId, Url: init.url }, this.#peers, {
      joined: (id, url) => {
        log(`Member joined /${id} ${url}`);
        init.opsLog.record("join", { ServerID: id, Addr: url });
        this.#subscriptions.publish("join", id);
        this.#changes.member("joined", id);
      },
      left: (id, url) => {
        log(`Member left /${id}`);
        init.opsLog.record("leave", { ServerID: id, Addr: url });
        this.#relays.failAll(id, "left the cluster");
        this.#peers.get(id)?.close("connection lost");
        this.#subscriptions.publish("leave", id);
        this.#changes.member("left", id);
      },
      suspected: (id) => this.#changes.member("suspect", id),
    }, { host: init.host ?? "", tags: encodeTags(init.tags ?? {}) });
    if (metrics) this.#membership.meter = (direction, message) => metrics.gossip(direction, message);
    this.#local = {
      ns: this.#ns,
      log,
      record: (op, fields) => this.#record(op, fields),
      resources: {
        docker: init.docker,
        members: () => this.#membership.view().map((m) => "/" + m.Id),
        adoptChild: (proc) => this.#children.adopt(proc),
        adoptSubscription: (sub) => this.#subscriptions.adopt(sub),
      },
    };
  }

  /** The metrics read the daemon's state lazily, so they can exist before the parts they read. */
  #newMetrics(): ServerMetrics {
    return new ServerMetrics({
      members: () => this.#membership.states(),
      probes: () => this.#membership.probes,
      health: () => this.#membership.health,
      connections: () => ({ client: this.#clients.size, peer: this.#peers.all().length }),
      elementKinds: () => Array.from(this.#ns.elements(), (e) => e.kind),
      security: () => this.#authz.counters,
    });
  }

  /** The text of `GET /metrics`; empty without `-metrics`. */
  metricsText(): string {
    return this.#metrics?.render() ?? "";
  }

  /** Writes an operations-log record; a `make` is also a `created` change for watchers. */
  #record(op: string, fields: Record<string, unknown>, who?: string): void {
    this.#init.opsLog.record(op, fields, who);
    if (op === "make") this.#changes.created(String(fields.Path), String(fields.Kind));
  }

  /** Denials and rejected peers, for the metrics endpoint (SPEC §13.4). */
  get securityCounters(): SecurityCounters {
    return this.#authz.counters;
  }

  /** The policy in force (null: none); replaced at SIGHUP. */
  get policy(): Policy | null {
    return this.#authz.policy;
  }

  set policy(p: Policy | null) {
    this.#authz.policy = p;
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

  async #accept(socket: Deno.TcpConn | AcceptedTls): Promise<void> {
    const accepted = await acceptPeer(socket, {
      serverId: this.serverId,
      url: this.url,
      workerId: this.#init.workerId,
      key: this.#init.key,
      pki: this.#init.pki,
      isRevoked: (name) => this.#authz.policy?.isRevoked(name) ?? false,
      log,
      record: (op, fields) => this.#init.opsLog.record(op, fields),
    });
    if (!accepted) return;
    const { transport, hello, identity } = accepted;
    if (this.#shuttingDown) return transport.close();
    const isServer = hello.role === "server";
    const conn = new Connection(transport, {
      dialer: false,
      serverId: isServer ? hello.id : "",
      url: hello.from,
      onCall: (call) => this.#dispatch(call),
      limiter: new CallLimiter(),
      observer: this.#metrics ?? undefined,
      identity,
    });
    this.#holders.keyOf(conn);
    if (isServer) this.#peers.adopt(conn);
    else this.#clients.add(conn);
    conn.closed.then(() => this.#onConnectionClosed(conn));
    conn.start();
  }

  #onConnectionClosed(conn: Connection): void {
    this.#clients.delete(conn);
    const { key, forwardedTo } = this.#holders.forget(conn);
    this.#ns.release((h) => h.startsWith(`${key}:`));
    for (const id of forwardedTo) {
      this.#peers.get(id)?.call("release", { Holder: key }, { timeoutMs: CALL_TIMEOUT_MS }).catch(() => {});
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
        const prefix = `${this.#holders.keyOf(call.connection)}:${a.Holder}`;
        this.#ns.release((h) => h === prefix);
        return call.reply(null);
      }
    }
    if (call.op === "view") return call.reply(this.#membership.view());
    if (typeof a.Path !== "string") throw new CircuitError("malformed arguments: Path");
    const { parts } = parseAnchorPath(a.Path);
    if (call.op === "watch" && (parts.length === 0 || parts[0] === this.serverId)) {
      if (parts.length === 0 && fromServer) throw new CircuitError("cannot watch the cluster from a server");
      const who = callerOf(call.connection.identity, a.Who);
      if (this.#authz.policy && parts.length > 0) this.#authz.check(call.op, a, null, who);
      const visible = this.#authz.policy ? (path: string) => this.#authz.visible(who, path) : undefined;
      return await this.#changes.serve(call, a.Path, { visible, who: forwardedWho(who) });
    }
    if (parts.length === 0) return serveRoot(call, this.#membership.view());
    const [id, ...names] = parts;
    if (id === this.serverId) {
      const holder = `${this.#holders.keyOf(call.connection)}:${fromServer ? a.Holder ?? "" : ""}`;
      const who = callerOf(call.connection.identity, a.Who);
      if (this.#authz.policy) this.#authz.check(call.op, a, this.#kindOf(a, names), who);
      const ctx: LocalContext = {
        ...this.#local,
        record: (op, fields) => this.#record(op, fields, who.name),
        visible: this.#authz.policy ? (path) => this.#authz.visible(who, path) : undefined,
      };
      this.#actor = who.name;
      let served: Promise<void>;
      try {
        served = serveLocal(call, names, holder, ctx);
      } finally {
        this.#actor = undefined;
      }
      return await served;
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
    this.#holders.forwarded(call.connection, id);
    const timeout = timeoutOf(call.op, a.Kind);
    const who = forwardedWho(call.connection.identity);
    relay(
      call,
      { ...a, Holder: this.#holders.keyOf(call.connection), Who: who },
      peer,
      id,
      this.#relays,
      timeout,
    );
  }

  /** The kind of the element a call addresses (by handle or path), for its capability. */
  #kindOf(a: Record<string, unknown>, names: string[]): string | null {
    if (typeof a.Eid === "number") return this.#ns.elementByEid(a.Eid, String(a.Path))?.kind ?? null;
    return this.#ns.elementAt(names)?.element.kind ?? null;
  }

  /** The `stk` dump: a human-readable state of the daemon, ending with `•••`. */
  stack(): string {
    return stackDump({
      serverId: this.serverId,
      url: this.url,
      started: this.started,
      members: this.#membership.view(),
      connected: (id) => this.#peers.get(id) !== undefined,
      clients: this.#clients.size,
      peers: this.#peers.all().length,
      relays: this.#relays.size,
      watchers: this.#changes.watchers,
      held: this.#changes.held,
      anchors: this.#ns.anchorCount(),
      kinds: Array.from(this.#ns.elements(), (e) => e.kind),
    });
  }

  /** The exit code of the graceful shutdown under way (e.g. after `suicide`), or null before one began. */
  get stopping(): Promise<number> | null {
    return this.#shuttingDown;
  }

  /**
   * Graceful shutdown (SPEC §3.5); resolves with the exit code. A second call while shutting
   * down kills the remaining process groups at once, and the shutdown then resolves with 1.
   */
  shutdown(reason: string): Promise<number> {
    if (this.#shuttingDown) {
      // The graceful shutdown under way stops waiting for the groups and ends with 1.
      this.#forced = true;
      this.#children.signalAll("SIGKILL");
      return this.#shuttingDown;
    }
    this.#shuttingDown = this.#shutdown(reason);
    return this.#shuttingDown;
  }

  async #shutdown(reason: string): Promise<number> {
    log(`Shutting down (${reason})`);
    this.#init.opsLog.record("stop", { Reason: reason }, this.#actor);
    await this.#membership.leave();
    try {
      this.#init.listener.close();
    } catch {
      // already closed
    }
    this.#children.signalAll("SIGTERM");
    const deadline = Date.now() + _SHUTDOWN_GRACE_MS;
    while (!this.#forced && this.#children.anyRunning && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#children.signalAll("SIGKILL");
    await this.#init.docker?.removeAll().catch(() => {});
    for (const e of this.#ns.elements()) {
      if (e.kind === "dns") e.dispose();
    }
    for (const c of this.#clients) c.close("connection lost");
    this.#peers.closeAll();
    this.#init.opsLog.close();
    this.#init.lock.close();
    return this.#forced ? 1 : 0;
  }
}
