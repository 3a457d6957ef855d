/**
 * Push-pull in pages (SPEC §9.2, §11): a full state larger than the wire's 1 MiB frame limit
 * crosses in several calls, on the simulator's network, which counts every message over the limit.
 *
 * @module
 */
import assert from "node:assert/strict";
import { SimCluster } from "../scripts/sim/cluster.ts";
import { MAX_FRAME_BYTES } from "../scripts/sim/network.ts";
import { encodeTags } from "../server/membership/table.ts";

const MEMBERS = 400;

/** Twenty tags of 128 characters (SPEC §15.1's longest values): ~2.7 KB per member in every state. */
const TAGS = encodeTags(
  Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`k${i}`, String.fromCharCode(97 + i).repeat(128)]),
  ),
);

Deno.test("push-pull: a new member receives a full state larger than a frame, in pages none of which is over the limit", async () => {
  assert.ok(MEMBERS * TAGS.length > MAX_FRAME_BYTES, "the state must not fit one frame");
  const c = new SimCluster(MEMBERS, { seed: 8, meta: { host: "rack7-node", tags: TAGS } });
  await c.run(1_000);
  const newcomer = c.add();
  // Only a full state fills a newcomer's view: gossip carries news, not members everyone knows.
  await c.run(500);
  const view = c.net.procs.get(newcomer)!.membership.view();
  assert.equal(view.length, MEMBERS + 1);
  assert.ok(view.every((m) => m.Host === "rack7-node" && m.Tags.k19 === "t".repeat(128)));
  assert.equal(c.net.oversized, 0, "messages over the 1 MiB frame limit");
});
