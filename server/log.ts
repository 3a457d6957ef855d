/**
 * The server's log: `YYYY/MM/DD HH:MM:SS <message>` lines on stderr, local time (SPEC §3.3).
 *
 * @module
 */

const _encoder = new TextEncoder();

function _pad(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * Writes one log line to stderr.
 *
 * @example
 * ```ts
 * import { log } from "./log.ts";
 * log("Singleton server.");
 * ```
 */
export function log(message: string): void {
  const d = new Date();
  const stamp = `${d.getFullYear()}/${_pad(d.getMonth() + 1)}/${_pad(d.getDate())} ` +
    `${_pad(d.getHours())}:${_pad(d.getMinutes())}:${_pad(d.getSeconds())}`;
  try {
    Deno.stderr.writeSync(_encoder.encode(`${stamp} ${message}\n`));
  } catch {
    // stderr closed: logging must never take the server down
  }
}
