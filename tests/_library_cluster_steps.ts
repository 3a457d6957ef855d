/**
 * Steps of the library test (tests/library_test.ts) on the cluster: join and leave subscriptions,
 * a name server, Server handles, application errors, and ConnectionErrors when a hosting or the
 * dialed server is lost or the client is closed.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  CircuitError,
  type Client,
  ConnectionError,
  dial,
  Nameserver,
  Server,
  Subscription,
} from "../mod.ts";
import { TestServer } from "./_harness.ts";
import { type LibraryCluster, rejectsWith } from "./_library.ts";
import { sleep } from "./_util.ts";

/** The cluster steps, in order; they stop C and end with a server of their own stopped. */
export async function clusterSteps(t: Deno.TestContext, k: LibraryCluster): Promise<void> {
  const { a, b, c, cl, dir, onB, servers, XA, XB, XC } = k;

  await t.step(
    "makeOnJoin yields the view, then a fourth server joining; leaving the loop loses nothing",
    async () => {
      const joins = await onB("subs/join").makeOnJoin();
      assert.ok(joins instanceof Subscription);
      assert.equal(joins.kind, "@join");
      assert.deepEqual(await joins.peek(), { source: "join", pending: 3, closed: false });
      const first: string[] = [];
      for await (const id of joins) {
        first.push(id);
        break;
      }
      for await (const id of joins) {
        first.push(id);
        if (first.length === 3) break;
      }
      assert.deepEqual(first, [`/${XA}`, `/${XB}`, `/${XC}`].sort());
      assert.equal((await joins.peek()).pending, 0);

      const leaves = await onB("subs/leave").makeOnLeave();
      assert.equal(leaves.kind, "@leave");
      assert.deepEqual(await leaves.peek(), { source: "leave", pending: 0, closed: false });
      const d = await TestServer.start(dir, ["-j", a.url]);
      servers.push(d);
      const iter = joins[Symbol.asyncIterator]();
      const next = await Promise.race([iter.next(), sleep(5000).then(() => null)]);
      assert.ok(next, "no join event within 5 s");
      assert.equal(next.value, d.serverAnchor);
      await iter.return?.();

      await d.stop();
      const leaveIter = leaves[Symbol.asyncIterator]();
      const left = await Promise.race([leaveIter.next(), sleep(8000).then(() => null)]);
      assert.ok(left, "no leave event within 8 s");
      assert.equal(left.value, d.serverAnchor);
      await leaveIter.return?.();
    },
  );

  await t.step("makeNameserver: set() adds records, peek() shows them, unset() removes them", async () => {
    const ns = await onB("dns").makeNameserver("127.0.0.1:0");
    try {
      assert.ok(ns instanceof Nameserver);
      assert.equal(ns.kind, "dns");
      await ns.set("ex.org. 300 IN A 192.0.2.1");
      const peeked = await ns.peek();
      assert.match(peeked.address, /^127\.0\.0\.1:[1-9][0-9]*$/);
      assert.deepEqual(peeked.records, { "ex.org.": ["ex.org.\t300\tIN\tA\t192.0.2.1"] });
      await rejectsWith(ns.set("garbage here"), CircuitError, "bad resource record");
      await ns.unset("ex.org");
      assert.deepEqual((await ns.peek()).records, {});
    } finally {
      await onB("dns").scrub();
    }
  });

  await t.step("Server handles: peek(), stack() and join()", async () => {
    const server = await cl.walk(`/${XB}`).get();
    assert.ok(server instanceof Server);
    const peeked = await server.peek();
    assert.equal(peeked.addr, b.url);
    const age = Date.now() - peeked.joined.getTime();
    assert.ok(age >= 0 && age < 120_000, `joined ${age} ms ago`);
    const stack = await server.stack();
    assert.equal(stack.trimEnd().split("\n").at(-1), "•••");
    await server.join(c.url);
    await rejectsWith(server.join("notaurl"), CircuitError, "is not a valid circuit address");
    await assert.rejects(server.join("circuit://127.0.0.1:1/1/Q0000000000000001"), /connection refused/);
    assert.equal((await cl.view()).size, 3);
  });

  await t.step("application errors are CircuitErrors, among them unknown server", async () => {
    const unknown = cl.walk("/X0000000000000001/c");
    await rejectsWith(unknown.get(), CircuitError, "unknown server X0000000000000001");
    await rejectsWith(unknown.makeChan(1), CircuitError, "unknown server X0000000000000001");
    await rejectsWith(onB("lib/chan").makeChan(1), CircuitError, "anchor already has an element");
    await rejectsWith(cl.walk("/").makeChan(1), CircuitError, "cannot create elements outside of servers");
  });

  await t.step("a lost hosting server is a ConnectionError and leaves the client usable", async () => {
    const chan = await cl.walk(`/${XC}/doomed`).makeChan(1);
    await c.stop();
    await assert.rejects(chan.stat(), (err: unknown) => {
      // Right after the kill the call fails on the broken peer connection; once membership
      // removed C the path no longer resolves.
      if (err instanceof CircuitError) assert.equal(err.message, `unknown server ${XC}`);
      else assert.ok(err instanceof ConnectionError && err.message.includes("unreachable"), `${err}`);
      return true;
    });
    assert.ok((await cl.view()).has(XA));
    assert.equal((await onB("lib/chan").get())?.kind, "chan");
  });

  await t.step("await using closes the client; later calls fail with ConnectionError", async () => {
    let escaped: Client;
    {
      await using scoped = await dial(a.url);
      escaped = scoped;
      assert.ok((await scoped.view()).has(XB));
    }
    await escaped.closed;
    await assert.rejects(escaped.view(), ConnectionError);
  });

  await t.step("after the dialed server dies every call throws ConnectionError", async () => {
    const e = await TestServer.start(dir);
    servers.push(e);
    const lost = await dial(e.url);
    try {
      const chan = await lost.walk(`${e.serverAnchor}/c`).makeChan(1);
      await e.stop();
      await lost.closed;
      await assert.rejects(lost.view(), ConnectionError);
      await assert.rejects(lost.walk(e.serverAnchor).get(), ConnectionError);
      await assert.rejects(lost.walk(`${e.serverAnchor}/d`).makeChan(1), ConnectionError);
      await assert.rejects(chan.stat(), ConnectionError);
      await assert.rejects(chan.recv(), ConnectionError);
      await assert.rejects(lost.walk(`/${XB}/x`).get(), ConnectionError);
    } finally {
      await lost.close();
    }
  });
}
