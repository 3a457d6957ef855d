/**
 * The operations log: one JSON object per line in `<vardir>/ops.log`, appended before the
 * operation's reply is sent (SPEC §3.4).
 *
 * @module
 */

/**
 * Appends operation records to a file.
 *
 * @example
 * ```ts ignore
 * import { OpsLog } from "./ops_log.ts";
 * const ops = OpsLog.open("/tmp/v/ops.log", "server:Q4869d7283daa354c");
 * ops.record("stop", { Reason: "suicide" });
 * ```
 */
export class OpsLog {
  #file: Deno.FsFile;
  #encoder = new TextEncoder();
  #self: string;
  /** Told of every record (the security counters count `reject`s here). */
  onRecord: ((op: string) => void) | null = null;

  private constructor(file: Deno.FsFile, self: string) {
    this.#file = file;
    this.#self = self;
  }

  /**
   * Opens (creating if needed) the log for appending. `self` is the server's own identity, the
   * `Who` of what it does on its own (start, membership changes, scrub-on-exit, rejects, stop).
   */
  static open(path: string, self: string): OpsLog {
    return new OpsLog(Deno.openSync(path, { append: true, create: true, mode: 0o600 }), self);
  }

  /**
   * Appends `{"Time", "Op", "Who", ...fields}` (`who`: the identity that caused it, default the
   * server's own); synchronous, so lines keep execution order.
   */
  record(op: string, fields: Record<string, unknown>, who: string = this.#self): void {
    this.onRecord?.(op);
    const line = JSON.stringify({ Time: new Date().toISOString(), Op: op, Who: who, ...fields }) + "\n";
    const bytes = this.#encoder.encode(line);
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
  }

  /** Closes the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}
