/**
 * Multi-host cluster scenarios (SPEC §9): five hosts, each a network namespace with its own
 * address on a veth pair plugged into one bridge, all created and removed by the test. The hosts
 * find each other by multicast; a SIGKILLed host leaves every view and fires `@leave`; a
 * SIGSTOPped host is removed and, after SIGCONT, returns and fires `@join`; a host whose link is
 * cut is removed and, once the link is back, the cluster re-merges with no command. Needs root;
 * skipped otherwise.
 *
 * @module
 */
import assert from "node:assert/strict";
import { eventually } from "./_harness.ts";
import { canUseNetns, deleteStaleNamespaces, Lan, NsServer, Observer, viewsAre } from "./_netns.ts";

const PREFIX = "cirt-c";
const GROUP = "228.8.8.8:8822";
const HOSTS = 5;
const netns = await canUseNetns();

Deno.test({
  name: "five hosts on a LAN: discovery, SIGKILL, SIGSTOP/SIGCONT and a cut link that heals by itself",
  ignore: !netns,
  async fn(t) {
    await deleteStaleNamespaces(PREFIX);
    const lan = await Lan.create(`${PREFIX}${Deno.pid % 1000}-`, 1, HOSTS);
    const dir = await Deno.makeTempDir({ prefix: "circuit-netns-" });
    const o = Observer.start(lan.bridge);
    const hosts: NsServer[] = [];
    try {
      for (let i = 1; i <= HOSTS; i++) {
        hosts.push(await NsServer.start(lan.host(i), dir, ["-a", `${lan.addr(i)}:0`, "-discover", GROUP]));
      }
      const [h1, h2, h3, h4, h5] = hosts;
      const watch = `${h1.anchor}/watch`;
      const pending = async (kind: string) =>
        ((await o.call(h1.url, "peek", { Path: `${watch}/${kind}` })) as { Pending: number }).Pending;

      await t.step("the five hosts find each other by multicast within 10 s", async () => {
        await eventually("all five in every view", 10_000, () => viewsAre(o, hosts, hosts));
        for (const [i, h] of hosts.entries()) {
          assert.ok(h.url.startsWith(`circuit://${lan.addr(i + 1)}:`), h.url);
        }
        await o.call(h1.url, "mk", { Path: `${watch}/leave`, Kind: "@leave", Arg: null });
        await o.call(h1.url, "mk", { Path: `${watch}/join`, Kind: "@join", Arg: null });
        assert.equal(await pending("join"), HOSTS);
      });

      await t.step("a SIGKILLed host leaves every view within 5 s and fires @leave once", async () => {
        await h5.stop("SIGKILL");
        await eventually(
          "h5 out of every view",
          5_000,
          () => viewsAre(o, [h1, h2, h3, h4], [h1, h2, h3, h4]),
        );
        assert.equal(await pending("leave"), 1);
        for (const h of [h1, h2, h3, h4]) {
          const leaves = (await h.opsLog()).filter((r) => r.Op === "leave").map((r) => r.ServerID);
          assert.deepEqual(leaves, [h5.id], `leave records of ${h.id}`);
        }
      });

      await t.step(
        "a SIGSTOPped host is removed within 8 s, and after SIGCONT is back within 5 s",
        async () => {
          h4.signal("SIGSTOP");
          await eventually(
            "h4 out of the others' views",
            8_000,
            () => viewsAre(o, [h1, h2, h3], [h1, h2, h3]),
          );
          assert.equal(await pending("leave"), 2);
          h4.signal("SIGCONT");
          await eventually(
            "h4 back in every view",
            5_000,
            () => viewsAre(o, [h1, h2, h3, h4], [h1, h2, h3, h4]),
          );
          assert.equal(await pending("join"), HOSTS + 1);
        },
      );

      await t.step(
        "a host whose link is cut leaves the others' views; restored, all re-merge unaided",
        async () => {
          const logged = h3.log().length;
          await lan.cut(3);
          await eventually(
            "h3 out of the others' views",
            8_000,
            () => viewsAre(o, [h1, h2, h4], [h1, h2, h4]),
          );
          await eventually(
            "h3 removed the others",
            8_000,
            () => [h1, h2, h4].every((h) => h3.log().slice(logged).includes(`Member left ${h.anchor}`)),
          );
          await lan.restore(3);
          await eventually(
            "the four re-merged",
            25_000,
            () => viewsAre(o, [h1, h2, h3, h4], [h1, h2, h3, h4]),
          );
        },
      );

      await t.step("no healthy host was ever removed, and no host left twice without a join", async () => {
        for (const h of [h1, h2, h4]) {
          const last = new Map<string, string>();
          for (const rec of await h.opsLog()) {
            if (rec.Op !== "join" && rec.Op !== "leave") continue;
            const id = rec.ServerID as string;
            assert.notEqual(last.get(id) ?? "leave", rec.Op, `${rec.Op} of ${id} twice in a row on ${h.id}`);
            last.set(id, rec.Op as string);
          }
          const removed = new Set((await h.opsLog()).filter((r) => r.Op === "leave").map((r) => r.ServerID));
          for (const healthy of [h1, h2]) {
            assert.ok(!removed.has(healthy.id), `${h.id} removed ${healthy.id}`);
          }
        }
      });
    } finally {
      await o.close();
      await Promise.all(hosts.map((h) => h.stop()));
      await lan.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
