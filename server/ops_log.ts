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
 * const ops = OpsLog.open("/tmp/v/ops.log");
 * ops.record("stop", { Reason: "suicide" });
 * ```
 */
export class OpsLog {
  #file: Deno.FsFile;
  #encoder = new TextEncoder();

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens (creating if needed) the log for appending. */
  static open(path: string): OpsLog {
    return new OpsLog(Deno.openSync(path, { append: true, create: true, mode: 0o600 }));
  }

  /** Appends `{"Time", "Op", ...fields}`; synchronous, so lines keep execution order. */
  record(op: string, fields: Record<string, unknown>): void {
    const line = JSON.stringify({ Time: new Date().toISOString(), Op: op, ...fields }) + "\n";
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
