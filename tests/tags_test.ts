/**
 * Tags and selectors (SPEC §15.1) on a real cluster of three servers with different tags:
 * peek's Host and Tags, a joiner's tags spreading, `client.servers` and `client.run` in the
 * library, and `start` refusing a busy address or a bad -tag.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dial } from "../mod.ts";
import { circuit, eventually, TestServer } from "./_harness.ts";
import { HOST, sleepers, withCluster } from "./_tagged_cluster.ts";

Deno.test("tags: peek shows Host and Tags, every member sees a joiner's tags within a second", async (t) => {
  await withCluster(async (c) => {
    const [a, b, cc] = c.servers;
    await t.step("peek of a remote server anchor", async () => {
      const r = await circuit(["peek", "-d", a.url, b.serverAnchor]);
      const p = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(p), ["Addr", "Joined", "Host", "Tags"]);
      assert.equal(p.Host, HOST);
      assert.deepEqual(p.Tags, { role: "web", dc: "fra" });
    });
    await t.step("a joiner's tags reach every member within a second", async () => {
      const d = await TestServer.start(c.dir, ["-tag", "role=cache", "-j", cc.url]);
      c.servers.push(d);
      const joined = Date.now();
      for (const s of [a, b, cc]) {
        await using client = await dial(s.url);
        await eventually(
          `${s.serverAnchor} sees the cache tag`,
          1_000 - (Date.now() - joined) + 200,
          async () => {
            const found = await client.servers({ select: "role=cache" });
            return found.length === 1 && found[0].anchor === d.serverAnchor;
          },
        );
      }
      assert.ok(Date.now() - joined < 1_500, "tags must spread within about a second");
    });
    await t.step("client.servers with and without a selector", async () => {
      await using client = await dial(a.url);
      const all = await client.servers();
      assert.equal(all.length, 4);
      assert.deepEqual(Object.keys(all[0]), ["anchor", "addr", "host", "tags", "state"]);
      const web = await client.servers({ select: "role=web,dc=ams" });
      assert.deepEqual(web.map((s) => s.anchor), [a.serverAnchor]);
    });
    await t.step("client.run returns per-target exits and output", async () => {
      await using client = await dial(a.url);
      const runs = await client.run(["/bin/sh", "-c", "echo hi; exit 5"], { select: "role=web" });
      assert.equal(runs.length, 2);
      for (const r of runs) {
        const [out, , exit] = await Promise.all([new Response(r.stdout).text(), r.stderr.cancel(), r.done]);
        assert.equal(out, "hi\n");
        assert.equal(exit.code, 5);
      }
    });
    await t.step(
      "client.run: aborting the signal kills the program group; stdin feeds one target",
      async () => {
        await using client = await dial(a.url);
        const ctl = new AbortController();
        const [r] = await client.run(["/bin/sleep", "77708"], { signal: ctl.signal });
        await eventually("the sleep runs", 5_000, () => sleepers("77708").length === 1);
        ctl.abort();
        const [, , exit] = await Promise.all([r.stdout.cancel(), r.stderr.cancel(), r.done]);
        assert.equal(exit.signal, "SIGKILL");
        const [cat] = await client.run(["/bin/cat"], {
          stdin: ReadableStream.from([new TextEncoder().encode("fed")]),
        });
        const [out] = await Promise.all([new Response(cat.stdout).text(), cat.stderr.cancel(), cat.done]);
        assert.equal(out, "fed");
      },
    );
    await t.step("a start-up that fails to listen leaves no var dir", async () => {
      const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      try {
        const port = (busy.addr as Deno.NetAddr).port;
        const r = await circuit(["start", "-a", `127.0.0.1:${port}`, "-var", `${c.dir}/busy`]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /address already in use/);
        assert.throws(() => Deno.statSync(`${c.dir}/busy`));
      } finally {
        busy.close();
      }
    });
    await t.step("a bad -tag is one error line and no var dir is left", async () => {
      const r = await circuit(["start", "-a", "127.0.0.1:0", "-var", `${c.dir}/badtag`, "-tag", "Role=x"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /tag "Role=x" is not KEY=VALUE/);
      assert.throws(() => Deno.statSync(`${c.dir}/badtag`));
    });
  });
});
