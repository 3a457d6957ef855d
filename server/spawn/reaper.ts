/**
 * Reaps the children the posix_spawn route started, without a thread per child: on each SIGCHLD
 * every child still running is polled with `waitpid(pid, WNOHANG)`. Only our own PIDs are
 * waited for, so children Deno started itself (`Deno.Command`) are left to Deno's reaper.
 *
 * @module
 */
import type { Libc } from "./libc.ts";

const _WNOHANG = 1;
// A signal listener does not keep Deno's event loop alive: while children are waited for, a
// timer does. It never needs to fire; this long, it costs nothing.
const _KEEP_ALIVE_MS = 1 << 30;

/**
 * Resolves each registered child's status when it ends. A blocking `waitpid` per child (a
 * non-blocking FFI call) would hold one of the runtime's few blocking threads for the child's
 * whole life, and with them file I/O.
 */
export class Reaper {
  readonly #libc: Libc;
  readonly #pending = new Map<number, (status: Deno.CommandStatus) => void>();
  readonly #statusWord = new Int32Array(1);
  #listening = false;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  readonly #onSignal = () => this.#poll();

  /** A reaper using the C library `libc`. */
  constructor(libc: Libc) {
    this.#libc = libc;
  }

  /**
   * Starts listening before a child is started, so its SIGCHLD cannot come unheard.
   *
   * @example
   * ```ts
   * import { openLibc } from "./libc.ts";
   * import { Reaper } from "./reaper.ts";
   * const reaper = new Reaper(openLibc());
   * reaper.prepare();
   * reaper.unprepare();
   * ```
   */
  prepare(): void {
    if (this.#listening) return;
    Deno.addSignalListener("SIGCHLD", this.#onSignal);
    this.#listening = true;
  }

  /** Stops listening if no child is waited for (after a spawn that failed). */
  unprepare(): void {
    if (this.#pending.size > 0) return;
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    if (!this.#listening) return;
    Deno.removeSignalListener("SIGCHLD", this.#onSignal);
    this.#listening = false;
  }

  /** The status of child `pid`, once it has ended; call {@link prepare} before starting it. */
  wait(pid: number): Promise<Deno.CommandStatus> {
    const status = new Promise<Deno.CommandStatus>((resolve) => this.#pending.set(pid, resolve));
    this.#keepAlive ??= setInterval(() => {}, _KEEP_ALIVE_MS);
    // It may have ended already, its SIGCHLD handled before it was registered.
    this.#poll();
    return status;
  }

  #poll(): void {
    const word = new Uint8Array(this.#statusWord.buffer);
    for (const [pid, resolve] of this.#pending) {
      const got = this.#libc.fn.waitpid(pid, word, _WNOHANG);
      if (got === 0) continue;
      this.#pending.delete(pid);
      // -1 (ECHILD) means someone else reaped it: its status is lost; report a failure.
      resolve(got === pid ? this.#decode(this.#statusWord[0]) : { success: false, code: 1, signal: null });
    }
    this.unprepare();
  }

  // The wait status word, decoded as <sys/wait.h>'s macros do on Linux and Darwin alike.
  #decode(word: number): Deno.CommandStatus {
    const low = word & 0x7f;
    if (low === 0) {
      const code = (word >> 8) & 0xff;
      return { success: code === 0, code, signal: null };
    }
    const name = this.#libc.signalNames[low] ?? `SIG${low}`;
    // As Deno reports a signalled child: code 128 + the signal number.
    return { success: false, code: 128 + low, signal: name as Deno.Signal };
  }
}
