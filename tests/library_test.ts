/**
 * The client library (SPEC §8) against real servers: a cluster of three, the client dialing A
 * and working on anchors of B, so every call, stream and cancellation goes through forwarding. The
 * steps live in _library_chan_steps.ts, _library_proc_steps.ts and _library_cluster_steps.ts, run
 * in that order on one cluster.
 *
 * @module
 */
import { type Anchor, type Client, dial } from "../mod.ts";
import { eventually, TestServer } from "./_harness.ts";
import type { LibraryCluster } from "./_library.ts";
import { anchorAndChanSteps } from "./_library_chan_steps.ts";
import { clusterSteps } from "./_library_cluster_steps.ts";
import { procSteps } from "./_library_proc_steps.ts";

Deno.test("client library on a three-server cluster, dialing A and using B's anchors", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-library-" });
  const servers: TestServer[] = [];
  let client: Client | null = null;
  try {
    const a = await TestServer.start(dir);
    servers.push(a);
    const b = await TestServer.start(dir, ["-j", a.url]);
    servers.push(b);
    const c = await TestServer.start(dir, ["-j", a.url]);
    servers.push(c);
    const XA = a.serverAnchor.slice(1), XB = b.serverAnchor.slice(1), XC = c.serverAnchor.slice(1);
    client = await dial(a.url);
    const cl = client;
    await eventually("A's view has three servers", 5000, async () => (await cl.view()).size === 3);
    const onB = (rel: string): Anchor => cl.walk(`/${XB}/${rel}`);

    const k: LibraryCluster = { dir, servers, a, b, c, cl, XA, XB, XC, onB };
    await anchorAndChanSteps(t, k);
    await procSteps(t, k);
    await clusterSteps(t, k);
  } finally {
    await client?.close();
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
