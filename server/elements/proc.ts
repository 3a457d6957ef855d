/**
 * The process element (SPEC §7.2): an OS process started from a Cmd, in its own process group,
 * with its three pipes exposed as circuit byte streams.
 *
 * @module
 */
import type { Cmd } from "../../wire/cmd.ts";
import { CircuitError } from "../../wire/errors.ts";
import { WaitList } from "../../wire/wait_list.ts";
import { OutputBuffer } from "./output_buffer.ts";
import { PipeSink } from "./pipe_sink.ts";
import { describeSignal, parseSignal } from "../signals.ts";
import type { ByteSink } from "../../wire/streams.ts";
import type { Element, ElementContext } from "./element.ts";
import { type Child, execReason, spawnChild } from "../spawn/spawn.ts";

/** A process's life stage as `peek` reports it. */
export type ProcPhase = "running" | "exited" | "signaled" | "unknown";

/** Why a process did not end well; `null` in {@link ProcPeek} while running or after status 0. */
export interface ProcExit {
  /** `exit status <n>`, `signal: <description>` or `exec error: <path>: <reason>`. */
  Body: string;
  /** The exit status, when the process exited with one. */
  Code: number | null;
  /** The signal that killed the process, e.g. `SIGTERM`. */
  Signal: string | null;
}

/** What `peek` and `wait` return for a process, keys in the spec's order. */
export interface ProcPeek {
  /** The command, in the order `Env`, `Dir`, `Path`, `Args`, `Scrub`. */
  Cmd: Cmd;
  /** How the process ended, or `null`. */
  Exit: ProcExit | null;
  /** The life stage. */
  Phase: ProcPhase;
}

/**
 * A process started by `mkproc`. Exit is recorded as soon as the OS process ends, whatever
 * became of its pipes; its output is buffered from birth (SPEC §7.7).
 *
 * @example
 * ```ts
 * import { ProcElement } from "./proc.ts";
 * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
 * const proc = ProcElement.start(
 *   { Path: "/bin/sh", Args: ["-c", "exit 3"], Env: null, Dir: "", Scrub: false },
 *   ctx,
 * );
 * const final = await proc.wait();
 * console.log(final.Phase, final.Exit?.Body); // "exited" "exit status 3"
 * proc.dispose();
 * ```
 */
export class ProcElement implements Element {
  /** Always `"proc"`. */
  readonly kind = "proc" as const;
  /** The process's standard output. */
  readonly stdout: OutputBuffer = new OutputBuffer("stdout");
  /** The process's standard error. */
  readonly stderr: OutputBuffer = new OutputBuffer("stderr");
  /** The process's standard input (already broken when the process never started). */
  readonly stdin: PipeSink;
  /**
   * Resolves once the process has ended and both output pipes reached end of stream (at once
   * when it never started); for shutdown and for tests that must leave no pending I/O behind.
   */
  readonly closed: Promise<void>;
  /**
   * Resolves once the process leads its own process group (at once where the spawn itself
   * arranged it, or when it never started); `mk` replies only then, so a `scrub -kill` that
   * follows always finds the group.
   */
  readonly started: Promise<void>;
  readonly #cmd: Cmd;
  readonly #ctx: ElementContext;
  readonly #pid: number | null;
  #phase: ProcPhase;
  #exit: ProcExit | null = null;
  #scrubbed = false;
  // Pending waits: settled with the final peek at exit, or rejected with `aborted` by scrub.
  #waiters = new WaitList<ProcPeek>();

  private constructor(cmd: Cmd, ctx: ElementContext) {
    this.#cmd = cmd;
    this.#ctx = ctx;
    let child: Child;
    try {
      child = spawnChild(cmd);
    } catch (err) {
      // Nothing will ever read: writes fail with `broken pipe`, closing without data is fine.
      this.stdin = new PipeSink(new WritableStream());
      this.stdin.shut();
      this.#pid = null;
      this.#phase = "unknown";
      this.#exit = {
        Body: `exec error: ${cmd.Path}: ${execReason(err, cmd.Dir)}`,
        Code: null,
        Signal: null,
      };
      this.started = Promise.resolve();
      // Deferred so the namespace has attached the element before it detaches itself.
      if (cmd.Scrub) queueMicrotask(() => ctx.detachSelf());
      // A process that never ran wrote nothing: both streams are empty and ended.
      const nothing = () => ReadableStream.from<Uint8Array>([]);
      this.closed = Promise.all([this.stdout.pump(nothing()), this.stderr.pump(nothing())]).then(() => {});
      return;
    }
    this.#pid = child.pid;
    this.#phase = "running";
    this.started = child.started;
    this.stdin = new PipeSink(child.stdin);
    // Awaiting the status reaps the child, so no process of ours is ever left a zombie.
    const exited = child.status.then((status) => this.#exited(status));
    this.closed = Promise.all([exited, this.stdout.pump(child.stdout), this.stderr.pump(child.stderr)])
      .then(() => {});
  }

  /**
   * Starts `cmd` in its own process group with three pipes. Never throws for a program that
   * cannot be started: the element then has Phase `unknown` and an `exec error` Exit (and with
   * `Scrub` detaches itself at once).
   *
   * @example
   * ```ts
   * import { ProcElement } from "./proc.ts";
   * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
   * const proc = ProcElement.start({ Path: "/no/such", Args: [], Env: null, Dir: "", Scrub: false }, ctx);
   * console.log(proc.peek().Exit?.Body); // "exec error: /no/such: no such file or directory"
   * ```
   */
  static start(cmd: Cmd, ctx: ElementContext): ProcElement {
    return new ProcElement(cmd, ctx);
  }

  /** The OS process ID; `null` when the process never started. */
  get pid(): number | null {
    return this.#pid;
  }

  /** When the element was created (SPEC §15.3 `ps`). */
  readonly createdAt: Date = new Date();

  /** Whether the OS process has started and not ended yet. */
  get running(): boolean {
    return this.#phase === "running";
  }

  /**
   * Opens the single writer of the process's stdin (see {@link PipeSink.openWriter}): throws
   * `stdin already closed` or `stdin is being written by another client`.
   *
   * @example
   * ```ts
   * import { ProcElement } from "./proc.ts";
   * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
   * const proc = ProcElement.start({ Path: "/bin/cat", Args: [], Env: null, Dir: "", Scrub: false }, ctx);
   * const stdin = proc.openStdin();
   * await stdin.write(new TextEncoder().encode("hi"));
   * await stdin.close();
   * console.log((await proc.wait()).Phase); // "exited"
   * ```
   */
  openStdin(): ByteSink {
    return this.stdin.openWriter();
  }

  /**
   * The state: `{"Cmd": {"Env", "Dir", "Path", "Args", "Scrub"}, "Exit", "Phase"}`.
   *
   * @example
   * ```ts
   * import { ProcElement } from "./proc.ts";
   * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
   * const proc = ProcElement.start({ Path: "/bin/sleep", Args: ["1"], Env: null, Dir: "", Scrub: false }, ctx);
   * console.log(proc.peek().Phase); // "running"
   * await proc.scrub({ kill: true });
   * ```
   */
  peek(): ProcPeek {
    const cmd = this.#cmd;
    return {
      Cmd: { Env: cmd.Env, Dir: cmd.Dir, Path: cmd.Path, Args: cmd.Args ?? [], Scrub: cmd.Scrub },
      Exit: this.#exit,
      Phase: this.#phase,
    };
  }

  /**
   * Resolves with the final {@link peek} once the process has ended (at once if it has, or
   * never started). Rejects with `CircuitError("aborted")` if the element is scrubbed first, and
   * with the signal's reason when `signal` aborts.
   *
   * @example
   * ```ts
   * import { ProcElement } from "./proc.ts";
   * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
   * const proc = ProcElement.start({ Path: "/bin/true", Args: [], Env: null, Dir: "", Scrub: false }, ctx);
   * console.log((await proc.wait()).Phase); // "exited"
   * ```
   */
  wait(signal?: AbortSignal): Promise<ProcPeek> {
    if (this.#phase !== "running") return Promise.resolve(this.peek());
    if (this.#scrubbed) return Promise.reject(new CircuitError("aborted"));
    return this.#waiters.wait(signal);
  }

  /**
   * Sends the named signal (SPEC §5 names) to the process only, not its group. Throws
   * `signal name not recognized`, `process already finished` or `no running process to signal`
   * (never started), each a `CircuitError`.
   *
   * @example
   * ```ts
   * import { ProcElement } from "./proc.ts";
   * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
   * const proc = ProcElement.start({ Path: "/bin/sleep", Args: ["100"], Env: null, Dir: "", Scrub: false }, ctx);
   * proc.signal("term");
   * console.log((await proc.wait()).Exit?.Body); // "signal: terminated"
   * ```
   */
  signal(name: string): void {
    const signal = parseSignal(name);
    if (this.#pid === null) throw new CircuitError("no running process to signal");
    if (this.#phase !== "running") throw new CircuitError("process already finished");
    try {
      Deno.kill(this.#pid, signal);
    } catch {
      // ESRCH: it ended between the check and the kill (not reaped yet would still accept it).
      throw new CircuitError("process already finished");
    }
  }

  /**
   * Sends `signal` to the process's whole group (for server shutdown); a group that is gone is
   * not an error.
   *
   * @example
   * ```ts
   * import { ProcElement } from "./proc.ts";
   * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
   * const proc = ProcElement.start({ Path: "/bin/sleep", Args: ["100"], Env: null, Dir: "", Scrub: false }, ctx);
   * proc.signalGroup("SIGTERM");
   * await proc.wait();
   * ```
   */
  signalGroup(signal: Deno.Signal): void {
    if (this.#pid === null) return;
    try {
      Deno.kill(-this.#pid, signal);
    } catch {
      // ESRCH: no process of the group is left.
    }
  }

  /**
   * Throws away the buffered and future output of one stream (library `discard()`).
   *
   * @example
   * ```ts
   * import { ProcElement } from "./proc.ts";
   * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
   * const proc = ProcElement.start({ Path: "/bin/echo", Args: ["x"], Env: null, Dir: "", Scrub: false }, ctx);
   * proc.discard("stdout");
   * await proc.wait();
   * ```
   */
  discard(which: "stdout" | "stderr"): void {
    this[which].discard();
  }

  /**
   * Fails pending waits with `aborted`; the OS process keeps running unless `kill`, which first
   * sends SIGKILL to its whole process group.
   *
   * @example
   * ```ts
   * import { ProcElement } from "./proc.ts";
   * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
   * const proc = ProcElement.start({ Path: "/bin/sleep", Args: ["100"], Env: null, Dir: "", Scrub: false }, ctx);
   * await proc.scrub({ kill: true });
   * ```
   */
  scrub(opts: { kill: boolean }): Promise<void> {
    if (opts.kill) this.signalGroup("SIGKILL");
    this.#scrubbed = true;
    if (this.#phase === "running") {
      this.#waiters.rejectAll(new CircuitError("aborted"));
    }
    return Promise.resolve();
  }

  /**
   * Nobody refers to the element any more: its output is drained and discarded from now on, so
   * the process never blocks on circuit. Its stdin stays open (closing it would change what a
   * still-running program sees) and is closed when the process exits.
   *
   * @example
   * ```ts
   * import { ProcElement } from "./proc.ts";
   * const ctx = { path: "/X0123456789abcdef/p", detachSelf() {}, log() {} };
   * const proc = ProcElement.start({ Path: "/bin/true", Args: [], Env: null, Dir: "", Scrub: false }, ctx);
   * proc.dispose();
   * await proc.wait();
   * ```
   */
  dispose(): void {
    this.stdout.discard();
    this.stderr.discard();
  }

  #exited(status: Deno.CommandStatus): void {
    if (status.signal !== null) {
      this.#phase = "signaled";
      this.#exit = { Body: `signal: ${describeSignal(status.signal)}`, Code: null, Signal: status.signal };
    } else {
      this.#phase = "exited";
      this.#exit = status.code === 0
        ? null
        : { Body: `exit status ${status.code}`, Code: status.code, Signal: null };
    }
    // Nothing reads the pipe any more; writes now fail with `broken pipe` and the fd is freed.
    this.stdin.shut();
    const final = this.peek();
    this.#waiters.resolveAll(final);
    if (this.#cmd.Scrub && !this.#scrubbed) this.#ctx.detachSelf();
  }
}
