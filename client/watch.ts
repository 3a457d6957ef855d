/**
 * `watch` as the library and the CLI see it: the server's stream of JSON lines as objects.
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";
import type { WatchEvent } from "../wire/ops.ts";

/**
 * One change under a watched path (SPEC §13.1): `Event` is `exists` (the state when the watch
 * began, or after an `overflow`), `created`, `scrubbed`, `exited`, `joined`, `left`, `suspect`
 * or `overflow`; `Kind` is the element kind (`server` for membership events).
 */
export type { WatchEvent };

/**
 * The events of `watch <path>` until `signal` aborts or the connection ends.
 *
 * @example
 * ```ts ignore
 * for await (const ev of watchEvents(conn, "/...")) console.log(ev.Event, ev.Path);
 * ```
 */
export async function* watchEvents(
  conn: Connection,
  path: string,
  signal?: AbortSignal,
): AsyncGenerator<WatchEvent> {
  for await (const lines of watchLines(conn, path, signal)) {
    for (const line of lines) yield JSON.parse(line) as WatchEvent;
  }
}

/**
 * The same events undecoded, as the JSON lines (without newlines) of each chunk the server sent:
 * for a relay (the console) that passes them on as they are and so need not decode and encode
 * each one again.
 *
 * @example
 * ```ts ignore
 * for await (const lines of watchLines(conn, "/...")) console.log(`[${lines.join(",")}]`);
 * ```
 */
export async function* watchLines(
  conn: Connection,
  path: string,
  signal?: AbortSignal,
): AsyncGenerator<string[]> {
  const { stream } = conn.openOutput("watch", { Path: path }, { signal });
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      const lines = (rest + value).split("\n");
      rest = lines.pop()!;
      const whole = lines.filter((line) => line !== "");
      if (whole.length > 0) yield whole;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
