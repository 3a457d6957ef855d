/**
 * Wait-first and wait-all: starts five jobs of different lengths on random hosts, reports the
 * first to finish, cancels the other waits (which loses nothing), then waits for all five.
 *
 * ```sh
 * deno run --allow-net --allow-env=CIRCUIT_URL examples/wait_first_all.ts
 * deno run --allow-net examples/wait_first_all.ts circuit://127.0.0.1:4000/812/Q0de74570a61e9688
 * ```
 *
 * Prints `first: job <i> on <host>` and then one `done: job <i> on <host>: <output>` line per job.
 *
 * @module
 */
import { dial, type Proc } from "@circuit/client";

// Bad input (an unknown server ID, an unreachable URL, a wrong key) is one line, not a stack trace.
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.error(`wait_first_all: ${e.reason instanceof Error ? e.reason.message : e.reason}`);
  Deno.exit(1);
});

const url = Deno.args[0] ?? Deno.env.get("CIRCUIT_URL");
if (!url) {
  console.error("usage: wait_first_all.ts [<circuit url>]   (or set CIRCUIT_URL)");
  Deno.exit(2);
}

/** Seconds each job sleeps: job 1 is the shortest by 0.8 s, far more than start-up jitter. */
const DURATIONS = [1.6, 0.2, 2.2, 1.0, 1.3];

await using client = await dial(url);
const hosts = [...(await client.view()).keys()];
const run = crypto.randomUUID().slice(0, 8);

const jobs: { host: string; proc: Proc }[] = [];
for (const [i, seconds] of DURATIONS.entries()) {
  const host = hosts[Math.floor(Math.random() * hosts.length)];
  const proc = await client.walk([host, "jobs", `wait-${run}-${i}`]).makeProc({
    path: "/bin/sh",
    args: ["-c", `sleep ${seconds}; echo job ${i} slept ${seconds}s`],
    scrub: true,
  });
  await proc.stdin.close();
  jobs.push({ host, proc });
}

// Wait-first: race the waits, then abort the losers. An aborted wait is cancelled on the server
// like a disconnect; the processes keep running and can be waited for again.
const losers = new AbortController();
const waits = jobs.map(({ proc }, i) => proc.wait({ signal: losers.signal }).then(() => i));
for (const w of waits) {
  // The losers reject with the abort reason; any other failure is real and must surface.
  w.catch((err) => {
    if (err !== losers.signal.reason) throw err;
  });
}
const first = await Promise.race(waits);
losers.abort();
console.log(`first: job ${first} on ${jobs[first].host}`);

// Wait-all: every job's final state, then its output (kept by the server after exit).
const stats = await Promise.all(jobs.map(({ proc }) => proc.wait()));
for (const [i, { host, proc }] of jobs.entries()) {
  const out = (await new Response(proc.stdout).text()).trim();
  console.log(`done: job ${i} on ${host}: ${out} (${stats[i].exit?.body ?? "exit status 0"})`);
}
