/**
 * Handles on elements: what `Anchor.get()` and the `make…` methods return (SPEC §6.3, §8).
 * A handle addresses its element by the hosting server's element ID, so it keeps working after
 * the element is detached, until the client disconnects.
 *
 * @module
 */
import { openTail, type TailOptions } from "./tail.ts";
import { camelize } from "./case.ts";
import type { Connection } from "../wire/connection.ts";
import type { HandleInfo, Target } from "../wire/ops.ts";

/**
 * Options of a blocking operation (`wait`, `send`, `recv`).
 *
 * @example
 * ```ts ignore
 * // Give up waiting after five seconds; the process keeps running.
 * const stat = await proc.wait({ signal: AbortSignal.timeout(5_000) });
 * ```
 */
export interface Opts {
  /** Aborting cancels the operation like a disconnect: nothing is lost. */
  signal?: AbortSignal;
}

/** Non-blocking operations give up after this long (SPEC §4.6). */
export const CALL_TIMEOUT_MS = 10_000;

/**
 * A command to run (SPEC §7.2).
 *
 * @example
 * ```ts ignore
 * const cmd: Cmd = { path: "/bin/sh", args: ["-c", "ls"], env: ["LANG=C"], dir: "/tmp", scrub: true };
 * const proc = await anchor.makeProc(cmd);
 * ```
 */
export interface Cmd {
  /** Executable; no PATH search: a path without `/` is relative to `dir`. */
  path: string;
  /** The arguments after argv[0] (which is `path`). */
  args?: string[];
  /** `K=V` entries; `null` or absent inherits the server's environment; `[]` is an empty one. */
  env?: string[] | null;
  /** Working directory; empty or absent: the server's. */
  dir?: string;
  /** Detach the element when the process exits. */
  scrub?: boolean;
}

/**
 * A process's state, as {@linkcode Proc.peek} and {@linkcode Proc.wait} return it.
 *
 * @example
 * ```ts ignore
 * const stat = await proc.wait();
 * if (stat.exit === null) console.log("success");
 * else console.log(stat.exit.body); // e.g. "exit status 3", "signal: killed"
 * ```
 */
export interface ProcStat {
  /** The command as the server runs it, every field filled in. */
  cmd: Required<Cmd>;
  /** `unknown` means the executable could not be started. */
  phase: "running" | "exited" | "signaled" | "unknown";
  /**
   * `null` while running and after exit status 0. Otherwise `body` says what happened and
   * `code` (exit status) or `signal` (e.g. `"SIGTERM"`) is set; both are null if it never started.
   */
  exit: { body: string; code: number | null; signal: string | null } | null;
}

/**
 * A container to run (SPEC §7.6); the server must run with `-docker`.
 *
 * @example
 * ```ts ignore
 * const run: DockerRun = { image: "busybox", path: "/bin/sh", args: ["-c", "echo hi"], scrub: true };
 * const container = await anchor.makeDocker(run);
 * ```
 */
export interface DockerRun {
  /** Image name; it must exist on the host (no pulls). */
  image: string;
  /** Memory limit in bytes; 0 or absent: none. */
  memory?: number;
  /** CPU shares; 0 or absent: the engine's default. */
  cpuShares?: number;
  /** Ignored (kept for compatibility); a non-empty list is logged. */
  lxc?: string[];
  /** `host:container[:ro]` bind mounts, or `container` for an anonymous volume. */
  volume?: string[];
  /** Working directory inside the container. */
  dir?: string;
  /** Entrypoint. */
  entry?: string;
  /** `K=V` environment entries. */
  env?: string[];
  /** Command; with `args`, the command is `[path, ...args]`; both empty: the image's default. */
  path?: string;
  /** Arguments of the command. */
  args?: string[];
  /** `[hostIp:]hostPort:containerPort[/proto]`, or `containerPort[/proto]` for a random host port. */
  ports?: string[];
  /** Remove the container when it exits. */
  scrub?: boolean;
}

/**
 * A container's state: SPEC §7.6's shape with camelCase keys (`ID` → `id`, `IPAddress` →
 * `ipAddress`); map keys such as ports stay as they are.
 *
 * @example
 * ```ts ignore
 * const stat = await container.wait();
 * console.log((stat.state as { exitCode: number }).exitCode);
 * ```
 */
export type DockerStat = Record<string, unknown>;

/** @internal What every handle has: its path and the element it names on the hosting server. */
abstract class _Handle {
  /** The element's anchor path. */
  readonly path: string;
  /** @internal */
  protected readonly _conn: Connection;
  /** @internal */
  protected readonly _target: Target;

  /** @internal */
  constructor(conn: Connection, path: string, eid: number) {
    this._conn = conn;
    this.path = path;
    this._target = { Path: path, Eid: eid };
  }
}

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
   * The server's URL and start time.
   *
   * @example
   * ```ts ignore
   * const server = await client.walk(`/${client.serverId}`).get() as Server;
   * console.log((await server.peek()).addr);
   * ```
   */
  async peek(): Promise<{ addr: string; joined: Date }> {
    const r = await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS }) as {
      Addr: string;
      Joined: string;
    };
    return { addr: r.Addr, joined: new Date(r.Joined) };
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

function _procStat(raw: unknown): ProcStat {
  const r = raw as {
    Cmd: { Env: string[] | null; Dir: string; Path: string; Args: string[]; Scrub: boolean };
    Exit: { Body: string; Code: number | null; Signal: string | null } | null;
    Phase: ProcStat["phase"];
  };
  return {
    cmd: { path: r.Cmd.Path, args: r.Cmd.Args, env: r.Cmd.Env, dir: r.Cmd.Dir, scrub: r.Cmd.Scrub },
    phase: r.Phase,
    exit: r.Exit && { body: r.Exit.Body, code: r.Exit.Code, signal: r.Exit.Signal },
  };
}

/** @internal Processes and containers: the three standard streams and signals. */
abstract class _Streaming extends _Handle {
  #stdin: WritableStream<Uint8Array> | null = null;

  /**
   * The process's standard input. `close()` closes it; `abort()` leaves it open for another
   * writer (the next access of `stdin` returns a fresh stream). Opened on the first write.
   */
  get stdin(): WritableStream<Uint8Array> {
    if (this.#stdin) return this.#stdin;
    let inner: Promise<WritableStreamDefaultWriter<Uint8Array>> | null = null;
    const open = () =>
      inner ??= this._conn.openInput("stdin", this._target).then(({ writable }) => writable.getWriter());
    this.#stdin = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        const w = await open();
        await w.write(chunk);
      },
      close: async () => {
        const w = await open();
        await w.close();
      },
      abort: async (reason) => {
        // stdin stays open on the server: the next access gets a fresh writer.
        this.#stdin = null;
        if (inner) await (await inner).abort(reason);
      },
    });
    return this.#stdin;
  }

  /** A new reader of the process's standard output; cancelling it loses nothing. */
  get stdout(): ReadableStream<Uint8Array> {
    return this.#output("stdout");
  }

  /** A new reader of the process's standard error; cancelling it loses nothing. */
  get stderr(): ReadableStream<Uint8Array> {
    return this.#output("stderr");
  }

  #output(which: "stdout" | "stderr"): ReadableStream<Uint8Array> {
    // Lazy: merely touching `stdout` must not take the stream's single reader.
    return this._conn.openOutput("read", { ...this._target, Stream: which }, { lazy: true }).stream;
  }

  /**
   * The last output held for `tail` (SPEC §13.2), without taking anything from the single
   * `stdout` reader; with `follow`, new output until the process exits.
   *
   * @example
   * ```ts ignore
   * console.log(await new Response(proc.tail({ bytes: 1024 })).text());
   * ```
   */
  tail(opts: TailOptions = {}): ReadableStream<Uint8Array> {
    return openTail(this._conn, this._target, opts);
  }

  /**
   * Throws away the stream's buffered and future output (for services nobody reads).
   *
   * @example
   * ```ts ignore
   * await proc.discard("stderr");
   * ```
   */
  async discard(stream: "stdout" | "stderr"): Promise<void> {
    await this._conn.call("discard", { ...this._target, Stream: stream }, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * Sends a signal (`"TERM"`, `"SIGKILL"`, …) to the process.
   *
   * @example
   * ```ts ignore
   * await proc.signal("TERM");
   * ```
   */
  async signal(name: string): Promise<void> {
    await this._conn.call("signal", { ...this._target, Signal: name }, { timeoutMs: CALL_TIMEOUT_MS });
  }
}

/**
 * A process element. Besides `wait()` and `peek()` it has `path`; `stdin` (a
 * `WritableStream`: `close()` closes the process's stdin, `abort()` leaves it open); `stdout` and
 * `stderr` (each access opens a new `ReadableStream`; cancelling it loses nothing);
 * `discard(stream)`; and `signal(name)`.
 *
 * @example
 * ```ts ignore
 * const proc = await anchor.makeProc({ path: "/bin/cat" });
 * const w = proc.stdin.getWriter();
 * await w.write(new TextEncoder().encode("echo\n"));
 * await w.close();
 * console.log(await new Response(proc.stdout).text()); // "echo\n"
 * console.log((await proc.wait()).phase); // "exited"
 * ```
 */
export class Proc extends _Streaming {
  /** Always `"proc"`. */
  readonly kind = "proc" as const;

  /**
   * Waits until the process has exited and returns its final state.
   *
   * @example
   * ```ts ignore
   * const stat = await proc.wait();
   * console.log(stat.phase, stat.exit);
   * ```
   */
  async wait(opts: Opts = {}): Promise<ProcStat> {
    return _procStat(await this._conn.call("wait", this._target, { signal: opts.signal }));
  }

  /**
   * The process's current state.
   *
   * @example
   * ```ts ignore
   * console.log((await proc.peek()).phase); // "running"
   * ```
   */
  async peek(): Promise<ProcStat> {
    return _procStat(await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS }));
  }
}

/** Map-valued fields of a container's state whose keys are data, not field names. */
const _DOCKER_MAPS = new Set(["Ports", "PortBindings", "Volumes", "VolumesRW", "ExposedPorts"]);

/**
 * A docker container element: the same streams, `discard()` and `signal()` as {@linkcode Proc},
 * with the engine's state from `wait()` and `peek()`.
 *
 * @example
 * ```ts ignore
 * const c = await anchor.makeDocker({ image: "busybox", path: "/bin/echo", args: ["hi"], scrub: true });
 * await c.stdin.close();
 * console.log(await new Response(c.stdout).text()); // "hi\n"
 * await c.wait();
 * ```
 */
export class Container extends _Streaming {
  /** Always `"docker"`. */
  readonly kind = "docker" as const;

  /**
   * Waits until the container has stopped and returns its final state.
   *
   * @example
   * ```ts ignore
   * console.log((await container.wait()).state);
   * ```
   */
  async wait(opts: Opts = {}): Promise<DockerStat> {
    return camelize(
      await this._conn.call("wait", this._target, { signal: opts.signal }),
      _DOCKER_MAPS,
    ) as DockerStat;
  }

  /**
   * The container's current state.
   *
   * @example
   * ```ts ignore
   * console.log((await container.peek()).id);
   * ```
   */
  async peek(): Promise<DockerStat> {
    return camelize(
      await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS }),
      _DOCKER_MAPS,
    ) as DockerStat;
  }
}

/**
 * A channel element: a FIFO of messages living on its hosting server; each message is a byte
 * stream from one sender to one receiver. `send()` waits while `cap` messages are queued, which
 * is how a channel applies back-pressure.
 *
 * @example
 * ```ts ignore
 * const chan = await client.walk(`/${client.serverId}/queue`).makeChan(1);
 * const w = (await chan.send()).getWriter();
 * await w.write(new TextEncoder().encode("job 1"));
 * await w.close();
 * console.log(await new Response(await chan.recv()).text()); // "job 1"
 * ```
 */
export class Chan extends _Handle {
  /** Always `"chan"`. */
  readonly kind = "chan" as const;
  /** The channel's capacity. */
  readonly cap: number;

  /** @internal */
  constructor(conn: Connection, path: string, info: HandleInfo) {
    super(conn, path, info.Eid);
    this.cap = info.Cap ?? 0;
  }

  /**
   * Waits until the channel admits a message and returns a stream for its body; closing the
   * stream ends the message.
   *
   * @example
   * ```ts ignore
   * const w = (await chan.send()).getWriter();
   * await w.write(new TextEncoder().encode("hello"));
   * await w.close();
   * ```
   */
  async send(opts: Opts = {}): Promise<WritableStream<Uint8Array>> {
    return (await this._conn.openInput("send", this._target, { signal: opts.signal })).writable;
  }

  /**
   * Waits for the next message and returns its body. Cancelling before the first byte puts the
   * message back at the head of the queue.
   *
   * @example
   * ```ts ignore
   * console.log(await new Response(await chan.recv()).text());
   * ```
   */
  async recv(opts: Opts = {}): Promise<ReadableStream<Uint8Array>> {
    const { stream, first } = this._conn.openOutput("recv", this._target, { signal: opts.signal });
    // The body is available once the message is taken; a failure before any byte rejects.
    await first;
    return stream;
  }

  /**
   * Closes the channel: queued messages can still be received, new sends fail.
   *
   * @example
   * ```ts ignore
   * await chan.close();
   * ```
   */
  async close(): Promise<void> {
    await this._conn.call("close", this._target, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * The channel's counters.
   *
   * @example
   * ```ts ignore
   * console.log((await chan.stat()).numSend);
   * ```
   */
  async stat(): Promise<
    { cap: number; closed: boolean; aborted: boolean; numSend: number; numRecv: number }
  > {
    return camelize(await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS })) as {
      cap: number;
      closed: boolean;
      aborted: boolean;
      numSend: number;
      numRecv: number;
    };
  }
}

/**
 * A subscription to membership events: iterate it to get `/X…` server anchor paths. Each event
 * goes to one consumer; scrubbing the anchor ends waiting loops with `subscription closed`.
 *
 * @example
 * ```ts ignore
 * const joins = await client.walk(`/${client.serverId}/watch/join`).makeOnJoin();
 * for await (const server of joins) console.log("member:", server);
 * ```
 */
export class Subscription extends _Handle implements AsyncIterable<string> {
  /** `"@join"` or `"@leave"`. */
  readonly kind: "@join" | "@leave";

  /** @internal */
  constructor(conn: Connection, path: string, info: HandleInfo) {
    super(conn, path, info.Eid);
    this.kind = info.Kind as "@join" | "@leave";
  }

  /**
   * The subscription's state: `pending` counts undelivered events exactly.
   *
   * @example
   * ```ts ignore
   * console.log((await sub.peek()).pending);
   * ```
   */
  async peek(): Promise<{ source: "join" | "leave"; pending: number; closed: boolean }> {
    return camelize(await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS })) as {
      source: "join" | "leave";
      pending: number;
      closed: boolean;
    };
  }

  /**
   * Yields events as they happen; leaving the loop cancels the pending wait, losing nothing.
   *
   * @example
   * ```ts ignore
   * for await (const server of sub) console.log("joined:", server);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    const ctl = new AbortController();
    try {
      for (;;) {
        const { stream } = this._conn.openOutput("recv", this._target, { signal: ctl.signal });
        yield await new Response(stream).text();
      }
    } finally {
      ctl.abort();
    }
  }
}

/**
 * A DNS name server element: authoritative answers over UDP and TCP for the records set on it.
 *
 * @example
 * ```ts ignore
 * const ns = await client.walk(`/${client.serverId}/dns`).makeNameserver("127.0.0.1:0");
 * await ns.set("www.example.org. 60 IN A 192.0.2.1");
 * console.log((await ns.peek()).address); // where to send queries
 * ```
 */
export class Nameserver extends _Handle {
  /** Always `"dns"`. */
  readonly kind = "dns" as const;

  /**
   * Adds a resource record in zone-file syntax.
   *
   * @example
   * ```ts ignore
   * await ns.set("ex.org. 300 IN A 192.0.2.1");
   * ```
   */
  async set(rr: string): Promise<void> {
    await this._conn.call("set", { ...this._target, Record: rr }, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * Removes every record of a name.
   *
   * @example
   * ```ts ignore
   * await ns.unset("ex.org");
   * ```
   */
  async unset(name: string): Promise<void> {
    await this._conn.call("unset", { ...this._target, Name: name }, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * The bound address and the records by owner name.
   *
   * @example
   * ```ts ignore
   * console.log((await ns.peek()).address);
   * ```
   */
  async peek(): Promise<{ address: string; records: Record<string, string[]> }> {
    const r = await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS }) as {
      Address: string;
      Records: Record<string, string[]>;
    };
    return { address: r.Address, records: r.Records };
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
