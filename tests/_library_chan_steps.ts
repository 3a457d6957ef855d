/**
 * Steps of the library test (tests/library_test.ts) on anchors and channels: the client's URL and
 * ID, view() and walk(), bad names, a channel on B (bodies, rendezvous, back-pressure, close, an
 * aborted recv), and get() and Anchor.view() of what they made.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Chan, CircuitError, Server } from "../mod.ts";
import { enc, type LibraryCluster, rejectsWith, sendText, settlesWithin, text } from "./_library.ts";
import { sleep } from "./_util.ts";

/** The anchor and channel steps, in order; later steps rely on the channels made here. */
export async function anchorAndChanSteps(t: Deno.TestContext, k: LibraryCluster): Promise<void> {
  const { a, cl, onB, XA, XB, XC } = k;

  await t.step("the client knows the dialed server's URL and ID", () => {
    assert.equal(cl.addr, a.url);
    assert.equal(cl.serverId, XA);
  });

  await t.step("view() maps every server ID of A's view to its server anchor", async () => {
    const view = await cl.view();
    assert.deepEqual([...view.keys()].sort(), [XA, XB, XC].sort());
    for (const [id, anchor] of view) {
      assert.equal(anchor.path, `/${id}`);
      assert.equal(anchor.serverId, id);
    }
  });

  await t.step("walk() builds paths without I/O: root, absolute, relative and arrays", () => {
    const root = cl.walk("/");
    assert.equal(root.path, "/");
    assert.equal(root.serverId, null);
    assert.equal(cl.walk(`//${XB}///jobs/web/`).path, `/${XB}/jobs/web`);
    assert.equal(cl.walk([XB, "jobs"]).walk("web/x").path, `/${XB}/jobs/web/x`);
    assert.equal(cl.walk(`/${XB}`).walk(["a b", "..."]).path, `/${XB}/a b/...`);
    assert.equal(cl.walk(`/${XB}`).serverId, XB);
  });

  await t.step("names that are empty or hold / or NUL are rejected with invalid anchor name", () => {
    for (const bad of [[XB, ""], [XB, "a/b"], [XB, "a\0b"]]) {
      assert.throws(
        () => cl.walk(bad),
        (e: unknown) => e instanceof CircuitError && e.message === "invalid anchor name",
      );
    }
    assert.throws(() => cl.walk(`/${XB}`).walk(["x/y"]), CircuitError);
  });

  await t.step("a channel on B: send() and recv() carry a message body; stat() counts", async () => {
    const chan = await onB("lib/chan").makeChan(2);
    assert.ok(chan instanceof Chan);
    assert.equal(chan.kind, "chan");
    assert.equal(chan.cap, 2);
    assert.equal(chan.path, `/${XB}/lib/chan`);
    assert.deepEqual(await chan.stat(), { cap: 2, closed: false, aborted: false, numSend: 0, numRecv: 0 });
    const w = (await chan.send()).getWriter();
    await w.write(enc.encode("hello "));
    await w.write(enc.encode("world"));
    await w.close();
    assert.equal((await chan.stat()).numSend, 1);
    assert.equal(await text(await chan.recv()), "hello world");
    assert.deepEqual(await chan.stat(), { cap: 2, closed: false, aborted: false, numSend: 1, numRecv: 1 });
  });

  await t.step("an empty message arrives as an empty body", async () => {
    const chan = await onB("lib/empty").makeChan(1);
    await (await chan.send()).close();
    assert.equal(await text(await chan.recv()), "");
  });

  await t.step("send() on a rendezvous channel resolves only once a receiver waits", async () => {
    const chan = await onB("lib/rendezvous").makeChan(0);
    const admitted = chan.send();
    assert.equal(await settlesWithin(admitted, 500), false, "send admitted without a receiver");
    const received = chan.recv().then(text);
    const w = (await admitted).getWriter();
    await w.write(enc.encode("x"));
    await w.close();
    assert.equal(await received, "x");
  });

  await t.step("a body larger than the windows waits for the receiver and arrives intact", async () => {
    const chan = await onB("lib/big").makeChan(1);
    const body = new Uint8Array(1024 * 1024);
    crypto.getRandomValues(body.subarray(0, 65536));
    for (let i = 65536; i < body.length; i++) body[i] = body[i % 65536] ^ (i >> 16);
    const w = (await chan.send()).getWriter();
    let written = 0;
    const writing = (async () => {
      for (let off = 0; off < body.length; off += 16384) {
        await w.write(body.subarray(off, off + 16384));
        written = off + 16384;
      }
      await w.close();
    })();
    await sleep(1000);
    assert.ok(written < body.length, "the whole body was written with nobody reading");
    const stat = await chan.stat();
    assert.equal(stat.numSend, 1);
    assert.equal(stat.numRecv, 0);
    const got = new Uint8Array(await new Response(await chan.recv()).arrayBuffer());
    await writing;
    assert.equal(got.length, body.length);
    assert.ok(got.every((v, i) => v === body[i]), "body differs");
    assert.equal((await chan.stat()).numRecv, 1);
  });

  await t.step(
    "close() ends a channel: queued messages drain, then recv fails with channel closed",
    async () => {
      const chan = await onB("lib/closing").makeChan(1);
      await sendText(chan, "last");
      await chan.close();
      assert.equal((await chan.stat()).closed, true);
      await rejectsWith(chan.send(), CircuitError, "channel closed");
      assert.equal(await text(await chan.recv()), "last");
      await rejectsWith(chan.recv(), CircuitError, "channel closed");
      await rejectsWith(chan.close(), CircuitError, "channel already closed");
    },
  );

  await t.step("aborting a pending recv() loses no message", async () => {
    const chan = await onB("lib/abort").makeChan(1);
    const ctl = new AbortController();
    const pending = chan.recv({ signal: ctl.signal });
    await sleep(300);
    ctl.abort();
    await assert.rejects(pending);
    await sendText(chan, "kept");
    assert.equal(await text(await chan.recv()), "kept");
    assert.deepEqual(await chan.stat(), { cap: 1, closed: false, aborted: false, numSend: 1, numRecv: 1 });
  });

  await t.step("get() returns typed handles, null for an empty anchor and for the root", async () => {
    const chan = await onB("lib/chan").get();
    assert.ok(chan instanceof Chan);
    assert.equal(chan.cap, 2);
    assert.equal((await chan.stat()).numSend, 1);
    assert.equal(await onB("lib/none").get(), null);
    assert.equal(await cl.walk("/").get(), null);
    assert.ok((await cl.walk(`/${XB}`).get()) instanceof Server);
  });

  await t.step("Anchor.view() lists an anchor's children by name", async () => {
    const view = await onB("lib").view();
    assert.deepEqual(
      [...view.keys()].sort(),
      ["abort", "big", "chan", "closing", "empty", "rendezvous"],
    );
    assert.equal(view.get("chan")!.path, `/${XB}/lib/chan`);
    assert.deepEqual([...(await cl.walk("/").view()).keys()].sort(), [XA, XB, XC].sort());
  });
}
