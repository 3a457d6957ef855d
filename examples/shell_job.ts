/**
 * Runs a shell command on a chosen host of a circuit cluster and prints its output.
 *
 * ```sh
 * export CIRCUIT_URL=circuit://127.0.0.1:4000/812/Q0de74570a61e9688
 * deno run --allow-net --allow-env=CIRCUIT_URL examples/shell_job.ts X2dfc77bb3455a9e5 'uname -a'
 * deno run --allow-net examples/shell_job.ts "$CIRCUIT_URL" any 'echo hi'    # any host
 * ```
 *
 * The job's stdout and stderr are copied to this program's; it exits with the job's exit code.
 *
 * @module
 */
import { dial } from "@circuit/client";

// Bad input (an unknown server ID, an unreachable URL, a wrong key) is one line, not a stack trace.
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.error(`shell_job: ${e.reason instanceof Error ? e.reason.message : e.reason}`);
  Deno.exit(1);
});

const args = [...Deno.args];
const url = args[0]?.startsWith("circuit://") ? args.shift()! : Deno.env.get("CIRCUIT_URL");
const [host, script] = args;
if (!url || !host || script === undefined) {
  console.error("usage: shell_job.ts [<circuit url>] <server ID | any> <shell command>");
  Deno.exit(2);
}

await using client = await dial(url);
const hosts = [...(await client.view()).keys()];
const serverId = host === "any" ? hosts[Math.floor(Math.random() * hosts.length)] : host;

// A fresh anchor per run; `scrub: true` removes it once the job exits, so nothing is left behind.
const job = client.walk([serverId, "jobs", `shell-${crypto.randomUUID().slice(0, 8)}`]);
const proc = await job.makeProc({ path: "/bin/sh", args: ["-c", script], scrub: true });
await proc.stdin.close();
// Reading both streams at once: a job that fills one pipe while we drain the other never stalls.
await Promise.all([
  proc.stdout.pipeTo(Deno.stdout.writable, { preventClose: true }),
  proc.stderr.pipeTo(Deno.stderr.writable, { preventClose: true }),
]);
const stat = await proc.wait();
console.error(`${job.path}: ${stat.exit?.body ?? "exit status 0"}`);
Deno.exitCode = stat.exit === null ? 0 : stat.exit.code ?? 1;
