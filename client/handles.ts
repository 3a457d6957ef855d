/**
 * Handles on elements: what `Anchor.get()` and the `make…` methods return (SPEC §6.3, §8).
 * A handle addresses its element by the hosting server's element ID, so it keeps working after
 * the element is detached, until the client disconnects.
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";
import type { HandleInfo } from "../wire/ops.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { _Handle } from "./handle.ts";
import { Chan, Subscription } from "./chan.ts";
import { Nameserver } from "./nameserver.ts";
import { Container, Proc } from "./streaming.ts";

export type { Cmd, DockerRun, DockerStat, Opts, ProcStat } from "./handle_types.ts";
export { Chan, Container, Nameserver, Proc, Subscription };

/**
 * The permanent element of a server anchor `/X…`: its address, joining clusters, shutting down.
 * `path` is the server anchor.
 *
 * @example
 * ```ts ignore
 * const server = await client.walk(`/${client.serverId}`).get() as Server;
 * console.log(server.kind, (await server.peek()).joined);
 * ```
 */
export class Server extends _Handle {
  /** Always `"server"`. */
  readonly kind = "server" as const;

  /**
   * The server's URL, start time, OS host name and tags (SPEC §15.1).
   *
   * @example
   * ```ts ignore
   * const server = await client.walk(`/${client.serverId}`).get() as Server;
   * console.log((await server.peek()).addr);
   * ```
   */
  async peek(): Promise<{ addr: string; joined: Date; host: string; tags: Record<string, string> }> {
    const r = await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS }) as {
      Addr: string;
      Joined: string;
      Host?: string;
      Tags?: Record<string, string>;
    };
    return { addr: r.Addr, joined: new Date(r.Joined), host: r.Host ?? "", tags: r.Tags ?? {} };
  }

  /**
   * Merges this server's cluster with the cluster of the server at `url`.
   *
   * @example
   * ```ts ignore
   * await server.join("circuit://127.0.0.1:4001/77/Q0de74570a61e9688");
   * ```
   */
  async join(url: string): Promise<void> {
    await this._conn.call("join", { Path: this.path, Url: url }, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * Asks the server to shut down gracefully.
   *
   * @example
   * ```ts ignore
   * await server.suicide();
   * ```
   */
  async suicide(): Promise<void> {
    await this._conn.call("suicide", { Path: this.path }, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * The server's diagnostic dump, ending with a `•••` line.
   *
   * @example
   * ```ts ignore
   * console.log(await server.stack());
   * ```
   */
  stack(): Promise<string> {
    return this._conn.call("stk", { Path: this.path }, { timeoutMs: CALL_TIMEOUT_MS });
  }
}

/**
 * Any element handle, discriminated by `kind`.
 *
 * @example
 * ```ts ignore
 * const el = await anchor.get();
 * if (el?.kind === "chan") console.log(await el.stat());
 * ```
 */
export type Element = Server | Proc | Chan | Nameserver | Container | Subscription;

/** @internal Wraps a handle the server issued. */
export function _handleFor(conn: Connection, path: string, info: HandleInfo): Element {
  switch (info.Kind) {
    case "server":
      return new Server(conn, path, info.Eid);
    case "proc":
      return new Proc(conn, path, info.Eid);
    case "docker":
      return new Container(conn, path, info.Eid);
    case "chan":
      return new Chan(conn, path, info);
    case "dns":
      return new Nameserver(conn, path, info.Eid);
    default:
      return new Subscription(conn, path, info);
  }
}
