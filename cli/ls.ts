/**
 * `circuit ls` (SPEC §5): children or descendants of an anchor, or the servers of the view.
 *
 * @module
 */
import type { ListEntry } from "../wire/ops.ts";
import { formatAnchorPath, parseAnchorPath } from "../wire/path.ts";
import { formatJson } from "../client/json.ts";
import type { Invocation } from "./command_types.ts";
import { dialServer } from "./dial.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { causeText, printError } from "./fail.ts";
import { writeStdout } from "./io.ts";

/** `-l` pads the kind to this width, then one space, so paths line up (as the original did). */
const _KIND_WIDTH = 15;

/**
 * Lists an anchor. `ls /...` lists every server of the view concurrently; a server that fails
 * prints one error line and makes the exit code 1, the others are still printed.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "./flags.ts";
 * import { ls } from "./ls.ts";
 * await ls({ command: "ls", parsed: parseFlags(["-d", "circuit://127.0.0.1:4000/812/Q0de74570a61e9688", "/"], []) });
 * ```
 */
export async function ls(inv: Invocation): Promise<number> {
  const { parsed } = inv;
  const postOrder = parsed.bools.has("depth");
  const out = new _Printer(parsed.bools.has("long"), parsed.bools.has("json"));
  const { parts, recursive } = parseAnchorPath(parsed.positionals[0]);
  const conn = await dialServer(parsed);
  if (parts.length > 0) {
    const Path = formatAnchorPath(parts);
    await out.add(await conn.call("ls", { Path, Recursive: recursive, PostOrder: postOrder }, _opts));
    await out.finish();
    return 0;
  }
  const view = await conn.call("view", {}, _opts);
  const servers = view.map((m): ListEntry => ({ Path: `/${m.Id}`, Kind: "server" }));
  if (!recursive) {
    await out.add(servers);
    await out.finish();
    return 0;
  }
  // All servers are asked at once, so one slow server costs one timeout, not one per server.
  const listings = servers.map((s) =>
    conn.call("ls", { Path: s.Path, Recursive: true, PostOrder: postOrder }, _opts).then(
      (entries) => ({ entries, error: null }),
      (error: unknown) => ({ entries: [], error }),
    )
  );
  let failed = false;
  for (const [i, server] of servers.entries()) {
    const { entries, error } = await listings[i];
    if (error !== null) {
      failed = true;
      const cause = causeText(error);
      const id = server.Path.slice(1);
      printError(`circuit: ${inv.command}: ${cause.includes(id) ? cause : `${server.Path}: ${cause}`}`);
    }
    await out.add(postOrder ? [...entries, server] : [server, ...entries]);
  }
  await out.finish();
  return failed ? 1 : 0;
}

const _opts = { timeoutMs: CALL_TIMEOUT_MS };

/** Prints entries as they come: lines at once, or one JSON array at the end. */
class _Printer {
  #long: boolean;
  #json: ListEntry[] | null;

  constructor(long: boolean, json: boolean) {
    this.#long = long;
    this.#json = json ? [] : null;
  }

  async add(entries: readonly ListEntry[]): Promise<void> {
    if (this.#json) {
      for (const e of entries) this.#json.push({ Path: e.Path, Kind: e.Kind });
      return;
    }
    const lines = entries.map((e) =>
      this.#long ? `${(e.Kind ?? "·").padEnd(_KIND_WIDTH)} ${e.Path}\n` : `${e.Path}\n`
    );
    await writeStdout(lines.join(""));
  }

  async finish(): Promise<void> {
    if (this.#json) await writeStdout(formatJson(this.#json));
  }
}
