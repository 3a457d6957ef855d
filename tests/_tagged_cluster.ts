/**
 * The cluster the `run`, `ps` and tags tests share: three joined servers with different tags
 * (SPEC §15.1), and the `sleep`s those tests start, found in /proc.
 *
 * @module
 */
import { circuit, CLIENT_TIMEOUT_MS, eventually, TestServer } from "./_harness.ts";
import { allProcs } from "./_proc.ts";

/** This machine's host name, as the servers report it. */
export const HOST = Deno.hostname();

/** The servers, their temp dir, and `circuit run -d <A's URL> <args>`. */
export interface Cluster {
  servers: TestServer[];
  dir: string;
  run(args: string[], opts?: { stdin?: string | Uint8Array }): ReturnType<typeof circuit>;
}

/** Three joined servers: role=web,dc=ams / role=web,dc=fra / role=db,dc=ams. */
export async function withCluster(fn: (c: Cluster) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-run-" });
  const a = await TestServer.start(dir, ["-tag", "role=web", "-tag", "dc=ams"]);
  const b = await TestServer.start(dir, ["-tag", "role=web", "-tag", "dc=fra", "-j", a.url]);
  const c = await TestServer.start(dir, ["-tag", "role=db", "-tag", "dc=ams", "-j", a.url]);
  const servers = [a, b, c];
  try {
    await eventually("all three in a's view", 5_000, async () => {
      const r = await circuit(["ls", "-d", a.url, "/"]);
      return r.stdout.split("\n").filter((l) => l !== "").length === 3;
    });
    await fn({
      servers,
      dir,
      run: (args, opts = {}) =>
        circuit(["run", "-d", a.url, ...args], { timeoutMs: CLIENT_TIMEOUT_MS, ...opts }),
    });
  } finally {
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** PIDs of the live `sleep <arg>` processes of the machine. */
export function sleepers(arg: string): number[] {
  return allProcs().filter((p) =>
    p.state !== "Z" && p.argv.at(-1) === arg && p.argv.some((w) => w.endsWith("sleep"))
  )
    .map((p) => p.pid);
}
