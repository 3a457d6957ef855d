/**
 * Connections to other servers: at most one live connection per peer, dialed on demand,
 * shared by forwarding and membership (SPEC §11.1).
 *
 * @module
 */
import type { OperatorPki } from "../wire/crypto/operator_pki.ts";
import type { CallObserver } from "../wire/call_observer.ts";
import type { Connection, IncomingCall } from "../wire/connection.ts";
import { connect } from "../wire/dial.ts";

/** A retired duplicate connection is closed once idle; checked this often. */
const _RETIRE_CHECK_MS = 1_000;

/** How a server proves itself to its peers: the key, an operator certificate (SPEC §10.1), or neither. */
export interface PeerAuth {
  key?: Uint8Array;
  /** Dial with its certificate, and check that peers hold server certificates of its CA. */
  pki?: OperatorPki;
}

/**
 * The set of peer connections of one server.
 *
 * @example
 * ```ts ignore
 * import { Peers } from "./peers.ts";
 * const peers = new Peers("X2dfc77bb3455a9e5", myUrl, {}, onCall);
 * const conn = await peers.connect("X88550014d4c82e4d", theirUrl);
 * ```
 */
export class Peers {
  #selfId: string;
  #selfUrl: string;
  #auth: PeerAuth;
  #onCall: (call: IncomingCall) => void;
  #observer: CallObserver | null;
  #live = new Map<string, Connection>();
  #dialing = new Map<string, Promise<Connection>>();
  #closedListeners: ((id: string, conn: Connection) => void)[] = [];
  #stopped = false;

  /**
   * Creates the set; `onCall` serves calls peers make on any of these connections, and
   * `observer` (metrics) learns how they end.
   */
  constructor(
    selfId: string,
    selfUrl: string,
    auth: PeerAuth,
    onCall: (call: IncomingCall) => void,
    observer: CallObserver | null = null,
  ) {
    this.#selfId = selfId;
    this.#selfUrl = selfUrl;
    this.#auth = auth;
    this.#onCall = onCall;
    this.#observer = observer;
  }

  /** Calls `fn` when a registered peer connection ends. */
  onClosed(fn: (id: string, conn: Connection) => void): void {
    this.#closedListeners.push(fn);
  }

  /** The live connection to `id`, if any. */
  get(id: string): Connection | undefined {
    const c = this.#live.get(id);
    return c && !c.isClosed ? c : undefined;
  }

  /** All live peer connections. */
  all(): Connection[] {
    return [...this.#live.values()].filter((c) => !c.isClosed);
  }

  /** The connection to server `id` at `url`, dialing it if there is none. */
  connect(id: string, url: string): Promise<Connection> {
    const live = this.get(id);
    if (live) return Promise.resolve(live);
    const pending = this.#dialing.get(id);
    if (pending) return pending;
    const p = this.dial(url).finally(() => this.#dialing.delete(id));
    this.#dialing.set(id, p);
    return p;
  }

  /** Dials `url` (whose server ID is not known yet) and registers the connection. */
  async dial(url: string): Promise<Connection> {
    const conn = await connect(url, {
      key: this.#auth.key,
      credential: this.#auth.pki?.credential,
      pki: this.#auth.pki,
      asServer: { url: this.#selfUrl, id: this.#selfId, onCall: this.#onCall, observer: this.#observer },
    });
    return this.#register(conn, true);
  }

  /** Registers a connection a peer server dialed to us. */
  adopt(conn: Connection): void {
    this.#register(conn, false);
  }

  /**
   * Keeps one connection per peer when both dialed at once: the one dialed by the smaller
   * server ID wins on both sides, so both sides keep the same one.
   */
  #register(conn: Connection, dialedByMe: boolean): Connection {
    const id = conn.serverId;
    if (this.#stopped || id === this.#selfId) return conn;
    const existing = this.get(id);
    if (existing && existing !== conn) {
      const dialer = dialedByMe ? this.#selfId : id;
      const winnerDialer = this.#selfId < id ? this.#selfId : id;
      if (dialer !== winnerDialer) {
        this.#retire(conn);
        return existing;
      }
      this.#retire(existing);
    }
    this.#live.set(id, conn);
    conn.closed.then(() => {
      if (this.#live.get(id) !== conn) return;
      this.#live.delete(id);
      for (const fn of this.#closedListeners) fn(id, conn);
    });
    return conn;
  }

  #retire(conn: Connection): void {
    const check = () => {
      if (conn.isClosed) return;
      const p = conn.pendingCalls;
      if (p.incoming + p.outgoing === 0) conn.close("connection lost");
      else setTimeout(check, _RETIRE_CHECK_MS);
    };
    setTimeout(check, _RETIRE_CHECK_MS);
  }

  /** Closes every peer connection. */
  closeAll(): void {
    this.#stopped = true;
    for (const c of this.#live.values()) c.close("connection lost");
    this.#live.clear();
  }
}
