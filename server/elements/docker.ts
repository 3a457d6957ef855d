/**
 * The Docker container element (SPEC §7.6): a container created, attached and started through
 * the engine API, whose streams behave like a process's (§7.7).
 *
 * @module
 */
import { CircuitError } from "../../wire/errors.ts";
import { demuxAttach } from "../docker/demux.ts";
import type { DockerEngine } from "../docker/engine.ts";
import type { UpgradedConnection } from "../docker/http_unix.ts";
import { type DockerStat, toDockerStat } from "../docker/inspect.ts";
import { createBody, type DockerRun } from "../docker/run.ts";
import { OutputBuffer } from "./output_buffer.ts";
import type { ByteSink } from "../../wire/streams.ts";
import type { Element, ElementContext } from "./element.ts";

// SIGTERM grace of a scrub without kill, as `docker stop` and SPEC §7.6 have it.
const STOP_GRACE_SECONDS = 5;

/**
 * A container run through the Docker engine.
 *
 * @example
 * ```ts
 * import { ContainerElement } from "./docker.ts";
 * import { DockerEngine } from "../docker/engine.ts";
 * import { parseRun } from "../docker/run.ts";
 * const engine = DockerEngine.fromEnv(Deno.env.get("DOCKER_HOST"));
 * const ctx = { path: "/X0123456789abcdef/d", detachSelf() {}, log: console.error };
 * const c = await ContainerElement.create(parseRun({ Image: "circuit-test", Path: "/bin/echo", Args: ["hi"] }), ctx, engine);
 * console.log((await c.wait()).State.ExitCode); // 0
 * await c.scrub({ kill: true });
 * ```
 */
export class ContainerElement implements Element {
  /** Always `"docker"`. */
  readonly kind = "docker" as const;
  /** The container's standard output, buffered from its start. */
  readonly stdout: OutputBuffer;
  /** The container's standard error, buffered from its start. */
  readonly stderr: OutputBuffer;
  /** The engine's container ID. */
  readonly id: string;
  /** The Run this container was made from. */
  readonly run: DockerRun;

  #engine: DockerEngine;
  #ctx: ElementContext;
  #conn: Deno.UnixConn;
  #stdinState: "open" | "writing" | "closed" = "open";
  #final: DockerStat | null = null;
  #exited: Promise<DockerStat>;
  #scrub = new AbortController();
  #outputDone: Promise<unknown>;

  private constructor(
    run: DockerRun,
    ctx: ElementContext,
    engine: DockerEngine,
    id: string,
    conn: Deno.UnixConn,
    output: ReadableStream<Uint8Array>,
  ) {
    this.run = run;
    this.#ctx = ctx;
    this.#engine = engine;
    this.id = id;
    this.#conn = conn;
    this.stdout = new OutputBuffer("stdout");
    this.stderr = new OutputBuffer("stderr");
    const streams = demuxAttach(output);
    this.#outputDone = Promise.allSettled([
      this.stdout.pump(streams.stdout),
      this.stderr.pump(streams.stderr),
    ]);
    this.#exited = this.#watch();
    // Waiters observe the outcome through wait(); an unobserved rejection must not crash the server.
    this.#exited.catch(() => {});
  }

  /**
   * Creates, attaches and starts a container named `via-circuit-<16 hex>`. On a failure at any
   * step the container is removed and the engine's message is thrown as a `CircuitError`
   * (e.g. `No such image: no-such-image:latest`).
   */
  static async create(run: DockerRun, ctx: ElementContext, engine: DockerEngine): Promise<ContainerElement> {
    if ((run.Lxc ?? []).length > 0) ctx.log("ignoring Lxc options");
    const name = "via-circuit-" + _randomHex(8);
    let id: string | null = null;
    let attached: UpgradedConnection | null = null;
    try {
      id = await engine.create(name, createBody(run));
      // Attach before start, so the container's first bytes already have a reader.
      attached = await engine.attach(id);
      await engine.start(id);
    } catch (err) {
      if (attached) {
        _closeQuietly(attached.conn);
        await attached.readable.cancel().catch(() => {});
      }
      if (id !== null) await engine.remove(id).catch(() => {});
      throw err instanceof CircuitError
        ? err
        : new CircuitError(err instanceof Error ? err.message : String(err));
    }
    return new ContainerElement(run, ctx, engine, id, attached.conn, attached.readable);
  }

  /**
   * Opens the single writer of the container's stdin. Throws `stdin is being written by another
   * client` while one is open, `stdin already closed` once it was closed.
   */
  openStdin(): ByteSink {
    if (this.#stdinState === "closed") throw new CircuitError("stdin already closed");
    if (this.#stdinState === "writing") throw new CircuitError("stdin is being written by another client");
    this.#stdinState = "writing";
    let active = true;
    const conn = this.#conn;
    const finish = (state: "open" | "closed") => {
      if (!active) return false;
      active = false;
      this.#stdinState = state;
      return true;
    };
    return {
      write: async (chunk: Uint8Array, signal?: AbortSignal) => {
        if (!active) throw new CircuitError("stdin already closed");
        signal?.throwIfAborted();
        try {
          let off = 0;
          while (off < chunk.length) off += await conn.write(chunk.subarray(off));
        } catch {
          // The engine closed the attach connection: the container has exited.
          throw new CircuitError("broken pipe");
        }
      },
      close: async () => {
        if (!finish("closed")) return;
        // With StdinOnce the engine closes the container's stdin when its input ends. Failing means
        // the container already exited and the engine closed the connection: no error then.
        await conn.closeWrite().catch(() => {});
      },
      release: () => {
        finish("open");
      },
    };
  }

  /** The engine's inspect result in the peek shape; the final state once the container exited. */
  async peek(): Promise<DockerStat> {
    if (this.#final) return this.#final;
    return toDockerStat(await this.#engine.inspect(this.id));
  }

  /**
   * Resolves with the final peek once the container stopped. Rejects with `CircuitError("aborted")`
   * if the element is scrubbed first, and with the signal's reason when `signal` aborts.
   */
  async wait(signal?: AbortSignal): Promise<DockerStat> {
    if (this.#final) return this.#final;
    if (this.#scrub.signal.aborted) throw new CircuitError("aborted");
    signal?.throwIfAborted();
    const scrub = this.#scrub.signal;
    return await new Promise<DockerStat>((resolve, reject) => {
      const onScrub = () => finish(() => reject(new CircuitError("aborted")));
      const onAbort = () => finish(() => reject(signal!.reason));
      const finish = (settle: () => void) => {
        scrub.removeEventListener("abort", onScrub);
        signal?.removeEventListener("abort", onAbort);
        settle();
      };
      scrub.addEventListener("abort", onScrub, { once: true });
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#exited.then((stat) => finish(() => resolve(stat)), (err) => finish(() => reject(err)));
    });
  }

  /**
   * Sends a signal (`KILL`, `sigterm`, …; SPEC §5 names) to the container's main process. Throws
   * `signal name not recognized`, or `process already finished` when the container is not running.
   */
  async signal(name: string): Promise<void> {
    const sig = _signalName(name);
    if (this.#final || this.#scrub.signal.aborted) throw new CircuitError("process already finished");
    try {
      await this.#engine.kill(this.id, sig);
    } catch (err) {
      // The engine answers 409 "Container … is not running" when it exited in the meantime.
      if (err instanceof CircuitError && /not running|no such container/i.test(err.message)) {
        throw new CircuitError("process already finished");
      }
      throw err;
    }
  }

  /**
   * Stops the container (SIGTERM with 5 s grace, or SIGKILL with `kill`), then removes it with
   * its anonymous volumes. Pending waits fail with `aborted` unless it had already exited.
   */
  async scrub(opts: { kill: boolean }): Promise<void> {
    this.#scrub.abort();
    if (!opts.kill) await this.#engine.stop(this.id, STOP_GRACE_SECONDS).catch(() => {});
    // Removal with force kills a container that still runs.
    await this.#engine.remove(this.id).catch((err) => {
      // Scrub-on-exit may be removing it at this very moment.
      if (!(err instanceof CircuitError && /already in progress/.test(err.message))) throw err;
    });
  }

  /** Throws away the buffered and future output of one stream (the library's `discard()`). */
  discard(which: "stdout" | "stderr"): void {
    this[which].discard();
  }

  /** No one refers to the element any more: its output is drained and discarded from now on. */
  dispose(): void {
    this.stdout.discard();
    this.stderr.discard();
  }

  /** Resolves once the container exited and its output was read to the end (for tests and shutdown). */
  async settled(): Promise<void> {
    await this.#exited.catch(() => {});
    await this.#outputDone;
  }

  async #watch(): Promise<DockerStat> {
    let stat: DockerStat;
    try {
      await this.#engine.wait(this.id);
      stat = toDockerStat(await this.#engine.inspect(this.id));
    } catch (err) {
      // A scrub may remove the container before its final state could be read.
      throw this.#scrub.signal.aborted ? new CircuitError("aborted") : err;
    }
    if (this.#scrub.signal.aborted) throw new CircuitError("aborted");
    this.#final = stat;
    if (this.run.Scrub) {
      this.#ctx.detachSelf();
      // The attach stream ends with the container; remove it only after every output byte arrived.
      await this.#outputDone;
      await this.#engine.remove(this.id).catch((err) =>
        this.#ctx.log(`removing container ${this.id}: ${err}`)
      );
    }
    return stat;
  }
}

// SPEC §5's signal names; the engine takes them with a `SIG` prefix.
const _SIGNALS = new Set(
  ("ABRT ALRM BUS CHLD CONT FPE HUP ILL INT IO IOT KILL PIPE PROF QUIT SEGV STOP SYS TERM TRAP TSTP TTIN " +
    "TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ").split(" "),
);

function _signalName(name: string): string {
  const upper = name.trim().toUpperCase();
  const bare = upper.startsWith("SIG") ? upper.slice(3) : upper;
  if (!_SIGNALS.has(bare)) throw new CircuitError("signal name not recognized");
  return "SIG" + bare;
}

function _randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join(
      "",
    );
}

function _closeQuietly(conn: Deno.UnixConn): void {
  try {
    conn.close();
  } catch {
    // Already closed when the attach stream ended.
  }
}
