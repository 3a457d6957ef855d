/**
 * `circuit console [-a 127.0.0.1:0]` (SPEC §13.3): a live web view of the cluster, served by
 * this process on loopback and talking to the cluster through the library.
 *
 * @module
 */
import { Client } from "../../client/client.ts";
import type { Invocation } from "../command_types.ts";
import { dialServer } from "../dial.ts";
import { UsageError } from "../fail.ts";
import { writeStdout } from "../io.ts";
import { consoleHandler } from "./http.ts";
import { watchLines } from "../../client/watch.ts";

/**
 * Serves the console until interrupted (or until the dialed server's connection ends); prints
 * `http://<addr>/?token=<token>` once listening.
 *
 * @example
 * ```ts ignore
 * import { parseFlags } from "../flags.ts";
 * import { console } from "./command.ts";
 * await console({ command: "console", parsed: parseFlags([], []) });
 * ```
 */
export async function console(inv: Invocation): Promise<number> {
  const { hostname, port } = _listenAddr(inv.parsed.strings.get("addr") ?? "127.0.0.1:0");
  const conn = await dialServer(inv.parsed);
  // Completes the handshake now (it names the dialed server), so a wrong address or key fails
  // before the page exists.
  await conn.call("view", {});
  await conn.welcomed;
  const client = new Client(conn);
  const token = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  const stop = new AbortController();
  const server = Deno.serve(
    { hostname, port, signal: stop.signal, onListen: () => {} },
    consoleHandler(client, (path, signal) => watchLines(conn, path, signal), token),
  );
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  await writeStdout(`http://${host}:${server.addr.port}/?token=${token}\n`);
  const interrupted = new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
  await Promise.race([interrupted, client.closed]);
  stop.abort();
  await server.finished;
  await client.close();
  return 0;
}

function _listenAddr(text: string): { hostname: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`invalid -addr ${text}: want host:port`);
  return { hostname: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}
