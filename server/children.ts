/**
 * The processes a server started and that have not ended yet (SPEC §3.5): shutdown signals them
 * all, and the metrics count their starts and ends.
 *
 * @module
 */
import type { ProcElement } from "./elements/proc.ts";
import type { ServerMetrics } from "./metrics/server_metrics.ts";

/** The running children of a server. */
export class Children {
  #procs = new Set<ProcElement>();
  #metrics: ServerMetrics | null;

  /** Counts starts and ends in `metrics` when given. */
  constructor(metrics: ServerMetrics | null) {
    this.#metrics = metrics;
  }

  /** Keeps `proc` until it ends; a process that already ended is ignored. */
  adopt(proc: ProcElement): void {
    if (!proc.running) return;
    this.#procs.add(proc);
    this.#metrics?.processStarted();
    proc.closed.then(() => {
      this.#procs.delete(proc);
      const { Phase, Exit } = proc.peek();
      this.#metrics?.processEnded(Phase === "signaled" ? "signaled" : Exit ? "failed" : "exited");
    });
  }

  /** Whether any child still runs. */
  get anyRunning(): boolean {
    return [...this.#procs].some((p) => p.running);
  }

  /** Signals every child's process group. */
  signalAll(signal: Deno.Signal): void {
    // Also groups whose leader has exited: its background children may still hold the pipes.
    for (const p of this.#procs) p.signalGroup(signal);
  }
}
