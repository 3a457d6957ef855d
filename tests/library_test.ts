/**
 * The client library (SPEC §8) against real servers: a cluster of three, the client dialing A
 * and working on anchors of B, so every call, stream and cancellation goes through forwarding.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type Anchor,
  Chan,
  CircuitError,
  type Client,
  ConnectionError,
  dial,
  Nameserver,
  Proc,
  Server,
  Subscription,
} from "../mod.ts";
import { eventually, TestServer } from "./_harness.ts";
import { sleep } from "./_util.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The flow-control window of SPEC §11: the most a cancelled reader may see again. */
const WINDOW = 64 * 1024;

function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

async function sendText(chan: Chan, body: string): Promise<void> {
  const w = (await chan.send()).getWriter();
  await w.write(enc.encode(body));
  await w.close();
}

/** Whether `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  const watched = p.then(() => done = true, () => done = true);
  await Promise.race([watched, sleep(ms)]);
  return done;
}

/** Asserts that `p` rejects with an error of class `kind` whose message contains `text`. */
async function rejectsWith(
  p: Promise<unknown>,
  kind: typeof CircuitError | typeof ConnectionError,
  text: string,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof kind, `expected ${kind.name}, got ${err}`);
    assert.ok((err as Error).message.includes(text), `expected "${text}" in "${(err as Error).message}"`);
    return true;
  });
}

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

    await t.step(
      "makeProc: closing stdin gives the process EOF; stdout, wait() and peek() report",
      async () => {
        const proc = await onB("proc/cat").makeProc({ path: "/bin/cat" });
        assert.ok(proc instanceof Proc);
        assert.equal(proc.kind, "proc");
        assert.equal((await proc.peek()).phase, "running");
        const w = proc.stdin.getWriter();
        await w.write(enc.encode("abc\n"));
        await w.close();
        assert.equal(await text(proc.stdout), "abc\n");
        assert.equal(await text(proc.stderr), "");
        const stat = await proc.wait();
        assert.deepEqual(stat, {
          cmd: { path: "/bin/cat", args: [], env: null, dir: "", scrub: false },
          phase: "exited",
          exit: null,
        });
        assert.deepEqual(await proc.peek(), stat);
      },
    );

    await t.step("aborting a stdin writer leaves stdin open for the next writer", async () => {
      const anchor = onB("proc/cat2");
      const proc = await anchor.makeProc({ path: "/bin/cat" });
      const first = proc.stdin.getWriter();
      await first.write(enc.encode("a"));
      await first.abort();
      const out = proc.stdout.getReader();
      assert.equal(dec.decode((await out.read()).value), "a");
      // The aborted stream stays errored; a second handle brings a fresh one.
      const again = await anchor.get();
      assert.ok(again instanceof Proc);
      const second = again.stdin.getWriter();
      await second.write(enc.encode("b"));
      await second.close();
      let rest = "";
      for (let r = await out.read(); !r.done; r = await out.read()) rest += dec.decode(r.value);
      assert.equal(rest, "b");
      assert.equal((await proc.wait()).exit, null);
    });

    await t.step("discard() lets a process whose output nobody reads run to its end", async () => {
      // 3 MB is well beyond the 1 MiB the server buffers per stream (SPEC §7.2).
      const proc = await onB("proc/flood").makeProc({
        path: "/usr/bin/head",
        args: ["-c", "3000000", "/dev/zero"],
      });
      await sleep(500);
      assert.equal((await proc.peek()).phase, "running", "the unread process did not block on its output");
      await proc.discard("stdout");
      const stat = await Promise.race([proc.wait(), sleep(5000).then(() => null)]);
      assert.ok(stat, "the process did not finish within 5 s of discard()");
      assert.equal(stat.phase, "exited");
    });

    await t.step("scrub() aborts a channel: a pending recv() through the handle fails", async () => {
      const anchor = onB("lib/scrubbed");
      const chan = await anchor.makeChan(0);
      const pending = chan.recv();
      await sleep(200);
      await anchor.scrub();
      await rejectsWith(pending, CircuitError, "channel aborted");
      assert.equal(await anchor.get(), null);
      await rejectsWith(chan.send(), CircuitError, "channel aborted");
    });

    await t.step("a process's stderr is its own stream and a failing exit is reported", async () => {
      const proc = await onB("proc/fail").makeProc({
        path: "/bin/sh",
        args: ["-c", "echo out; echo err >&2; exit 3"],
      });
      assert.equal(await text(proc.stderr), "err\n");
      assert.equal(await text(proc.stdout), "out\n");
      const stat = await proc.wait();
      assert.equal(stat.phase, "exited");
      assert.deepEqual(stat.exit, { body: "exit status 3", code: 3, signal: null });
    });

    await t.step("signal() terminates a process; bad names and finished processes are refused", async () => {
      const proc = await onB("proc/sleep").makeProc({ path: "/bin/sleep", args: ["100"] });
      await rejectsWith(proc.signal("bogus"), CircuitError, "signal name not recognized");
      await proc.signal("TERM");
      const stat = await proc.wait();
      assert.equal(stat.phase, "signaled");
      assert.deepEqual(stat.exit, { body: "signal: terminated", code: null, signal: "SIGTERM" });
      await rejectsWith(proc.signal("KILL"), CircuitError, "process already finished");
    });

    await t.step("makeProc of a missing executable resolves; peek and wait show phase unknown", async () => {
      const proc = await onB("proc/nosuch").makeProc({ path: "/no/such" });
      const stat = await proc.peek();
      assert.equal(stat.phase, "unknown");
      assert.ok(stat.exit!.body.startsWith("exec error: /no/such"), stat.exit!.body);
      assert.equal(stat.exit!.code, null);
      assert.deepEqual(await proc.wait(), stat);
    });

    await t.step("a handle outlives scrub-on-exit: output and wait() remain available", async () => {
      const anchor = onB("proc/auto");
      const proc = await anchor.makeProc({
        path: "/bin/sh",
        args: ["-c", "echo one; echo two >&2"],
        scrub: true,
      });
      await eventually("the element detached itself", 3000, async () => (await anchor.get()) === null);
      assert.equal(await text(proc.stdout), "one\n");
      assert.equal(await text(proc.stderr), "two\n");
      const stat = await proc.wait();
      assert.equal(stat.phase, "exited");
      assert.equal(stat.cmd.scrub, true);
    });

    await t.step("aborting wait() rejects it; a later wait() still returns the exit", async () => {
      const proc = await onB("proc/short").makeProc({ path: "/bin/sleep", args: ["1"] });
      const ctl = new AbortController();
      const pending = proc.wait({ signal: ctl.signal });
      await sleep(200);
      ctl.abort();
      await assert.rejects(pending);
      assert.equal((await proc.wait()).phase, "exited");
    });

    await t.step("cancelling a stdout stream midway loses nothing: a new reader gets the rest", async () => {
      const proc = await onB("proc/seq").makeProc({ path: "/usr/bin/seq", args: ["1", "30000"] });
      const all = Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join("");
      const first = proc.stdout.getReader();
      let head = "";
      while (head.length < 20000) {
        const { done, value } = await first.read();
        assert.ok(!done, "stdout ended early");
        head += dec.decode(value);
      }
      await first.cancel();
      const tail = await text(proc.stdout);
      assert.ok(all.startsWith(head), "the first reader's bytes are not a prefix");
      assert.ok(all.endsWith(tail), "the second reader's bytes are not a suffix");
      const overlap = head.length + tail.length - all.length;
      assert.ok(overlap >= 0, `${-overlap} bytes lost`);
      assert.ok(overlap <= WINDOW, `${overlap} bytes seen twice`);
      await proc.wait();
    });

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
  } finally {
    await client?.close();
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
