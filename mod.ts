/**
 * `@circuit/client`: drive a circuit cluster from Deno. Start, watch, feed, signal and wait
 * for processes on any host, pass data through channels, serve DNS records, run containers and
 * follow hosts joining and leaving — all through one connection to any server.
 *
 * Needs only `--allow-net`. The examples on each export assume a `client` from {@linkcode dial}
 * and an `anchor` from `client.walk(…)`; they need a running server, so they are not run as
 * doc tests. The guide `docs/LIBRARY.md` in the repository has complete programs, run against a
 * real cluster by its tests, and `examples/` has longer ones.
 *
 * @example
 * ```ts ignore
 * import { dial } from "@circuit/client";
 * await using client = await dial(Deno.env.get("CIRCUIT_URL")!);
 * const [serverId] = (await client.view()).keys();
 * const proc = await client.walk(`/${serverId}/jobs/hello`).makeProc({
 *   path: "/bin/sh", args: ["-c", "echo hi"], scrub: true,
 * });
 * await proc.stdin.close();
 * console.log(await new Response(proc.stdout).text()); // "hi\n"
 * console.log((await proc.wait()).exit); // null
 * ```
 *
 * @module
 */
export { Anchor, Client, dial, dialDiscover, type DialOptions, type Key } from "./client/client.ts";
export {
  Chan,
  type Cmd,
  Container,
  type DockerRun,
  type DockerStat,
  type Element,
  Nameserver,
  type Opts,
  Proc,
  type ProcStat,
  Server,
  Subscription,
} from "./client/handles.ts";
export type { RunExit, RunOptions, RunTarget } from "./client/run.ts";
export type { ServerInfo } from "./client/servers.ts";
export { CircuitError, ConnectionError } from "./wire/errors.ts";
export type { WatchEvent } from "./client/watch.ts";
export type { TailOptions } from "./client/tail.ts";
