/**
 * A membership watcher: prints `join /X…` and `leave /X…` as servers enter and leave the dialed
 * server's view. The first lines are the current members (a join subscription starts pre-filled).
 *
 * ```sh
 * deno run --allow-net --allow-env=CIRCUIT_URL examples/membership.ts               # until Ctrl-C
 * deno run --allow-net examples/membership.ts circuit://127.0.0.1:4000/812/Q0de74570a61e9688 --events 5
 * ```
 *
 * Stops after `--events` events, or on Ctrl-C; either way it removes its subscriptions.
 *
 * @module
 */
import { CircuitError, dial, type Subscription } from "@circuit/client";

// Bad input (an unknown server ID, an unreachable URL, a wrong key) is one line, not a stack trace.
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.error(`membership: ${e.reason instanceof Error ? e.reason.message : e.reason}`);
  Deno.exit(1);
});

const args = [...Deno.args];
const url = args[0]?.startsWith("circuit://") ? args.shift()! : Deno.env.get("CIRCUIT_URL");
const events = args[0] === "--events" ? Number(args[1]) : args.length === 0 ? Infinity : NaN;
if (!url || !(events > 0) || (events !== Infinity && !Number.isInteger(events))) {
  console.error("usage: membership.ts [<circuit url>] [--events <n>]   (or set CIRCUIT_URL)");
  Deno.exit(2);
}

await using client = await dial(url);
const home = client.walk([client.serverId, "membership", crypto.randomUUID().slice(0, 8)]);
const joins = await home.walk("join").makeOnJoin();
const leaves = await home.walk("leave").makeOnLeave();

const enough = Promise.withResolvers<void>();
const stop = () => enough.resolve();
Deno.addSignalListener("SIGINT", stop);
let seen = 0;

async function watch(sub: Subscription, label: string): Promise<void> {
  try {
    for await (const server of sub) {
      // An event taken after the last one wanted is dropped: we are shutting down anyway.
      if (seen === events) break;
      console.log(`${label} ${server}`);
      if (++seen === events) stop();
    }
  } catch (err) {
    // Scrubbing the subscription below ends the loop that waits on it.
    if (!(err instanceof CircuitError && err.message === "subscription closed")) throw err;
  }
}

const watchers = [watch(joins, "join"), watch(leaves, "leave")];
await enough.promise;
Deno.removeSignalListener("SIGINT", stop);
// Subscriptions outlive their client: scrub them, or the server keeps queueing events forever.
await home.walk("join").scrub();
await home.walk("leave").scrub();
await Promise.all(watchers);
