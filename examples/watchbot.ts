/**
 * A watchbot: keeps a payload process alive somewhere in the cluster. Each time the payload dies
 * (seen by `wait()`), the watchbot starts it again on another host, chosen from the current view.
 * Every event goes through a status channel of capacity 1 to a deliberately slow reporter: the
 * channel applies back-pressure, so the watchbot never runs more than one report ahead of it.
 *
 * ```sh
 * deno run --allow-net --allow-env=CIRCUIT_URL examples/watchbot.ts --restarts 3
 * deno run --allow-net examples/watchbot.ts circuit://127.0.0.1:4000/812/Q0de74570a61e9688
 * ```
 *
 * Prints one `status: …` line per event, then a summary line; stops after `--restarts` restarts
 * (default 3).
 *
 * @module
 */
import { type Chan, CircuitError, dial } from "@circuit/client";

// Bad input (an unknown server ID, an unreachable URL, a wrong key) is one line, not a stack trace.
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.error(`watchbot: ${e.reason instanceof Error ? e.reason.message : e.reason}`);
  Deno.exit(1);
});

const args = [...Deno.args];
const url = args[0]?.startsWith("circuit://") ? args.shift()! : Deno.env.get("CIRCUIT_URL");
const restarts = args[0] === "--restarts" ? Number(args[1]) : args.length === 0 ? 3 : NaN;
if (!url || !Number.isInteger(restarts) || restarts < 0) {
  console.error("usage: watchbot.ts [<circuit url>] [--restarts <n>]   (or set CIRCUIT_URL)");
  Deno.exit(2);
}

/** The payload: does a little work, then dies (exit status 1), as real payloads eventually do. */
const PAYLOAD = "echo working; sleep 0.3; exit 1";
/** How long the reporter takes per report: slower than the watchbot, so back-pressure shows. */
const REPORT_MS = 100;

const enc = new TextEncoder();

async function report(chan: Chan, text: string): Promise<void> {
  // Resolves once the channel admits the message: with capacity 1, after the reporter took the last.
  const w = (await chan.send()).getWriter();
  await w.write(enc.encode(text));
  await w.close();
}

await using client = await dial(url);
// One namespace branch per run, so two watchbots never collide; it vanishes with its last element.
const run = crypto.randomUUID().slice(0, 8);
const home = client.walk([client.serverId, "watchbot", run]);
const status = await home.walk("status").makeChan(1);

const reporter = (async () => {
  for (;;) {
    let body: ReadableStream<Uint8Array>;
    try {
      body = await status.recv();
    } catch (err) {
      if (err instanceof CircuitError && err.message === "channel closed") return;
      throw err;
    }
    console.log(`status: ${await new Response(body).text()}`);
    await new Promise((r) => setTimeout(r, REPORT_MS));
  }
})();

let host = "";
for (let n = 0; n <= restarts; n++) {
  const others = [...(await client.view()).keys()].filter((h) => h !== host);
  // A cluster of one has nowhere else to go: the payload restarts where it was.
  host = others.length > 0 ? others[Math.floor(Math.random() * others.length)] : host;
  const payload = await client.walk([host, "watchbot", run, "payload"]).makeProc({
    path: "/bin/sh",
    args: ["-c", PAYLOAD],
    scrub: true,
  });
  await payload.stdin.close();
  await payload.discard("stdout");
  await report(status, `payload ${n} started on ${host}`);
  const stat = await payload.wait();
  await report(status, `payload ${n} died on ${host}: ${stat.exit?.body ?? "exit status 0"}`);
}

await status.close();
await reporter;
const { numSend, numRecv } = await status.stat();
await home.walk("status").scrub();
console.log(`watchbot: ${restarts} restarts; status channel sent ${numSend}, received ${numRecv}`);
