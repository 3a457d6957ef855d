/**
 * A keyed cluster across hosts (SPEC §10.1, issue 12): five network namespaces on one bridge, each
 * server with the same key, finding each other by (HMAC-keyed) multicast and talking TLS 1.3 to
 * each other at their LAN addresses, whose certificates name those addresses. A sixth server with
 * another key on the same LAN stays out. Needs root; skipped otherwise. Run under
 * `flock /tmp/circuit-netns.lock`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { circuit, eventually } from "./_harness.ts";
import { canUseNetns, deleteStaleNamespaces, Lan, nsCircuit, NsServer } from "./_netns.ts";

const PREFIX = "cirt-t";
const GROUP = "228.8.8.9:8823";
const HOSTS = 5;
const netns = await canUseNetns();

Deno.test({
  name: "five keyed hosts on a LAN converge over TLS, forward calls, and keep a wrongly keyed host out",
  ignore: !netns,
  async fn(t) {
    await deleteStaleNamespaces(PREFIX);
    const lan = await Lan.create(`${PREFIX}${Deno.pid % 1000}-`, 7, HOSTS + 1);
    const dir = await Deno.makeTempDir({ prefix: "circuit-tls-netns-" });
    const [k1, k2] = [`${dir}/k1`, `${dir}/k2`];
    await Deno.writeTextFile(k1, (await circuit(["keygen"])).stdout);
    await Deno.writeTextFile(k2, (await circuit(["keygen"])).stdout);
    const hosts: NsServer[] = [];
    let intruder: NsServer | null = null;
    try {
      for (let i = 1; i <= HOSTS; i++) {
        hosts.push(
          await NsServer.start(lan.host(i), dir, ["-a", `${lan.addr(i)}:0`, "-discover", GROUP, "-hmac", k1]),
        );
      }
      intruder = await NsServer.start(lan.host(HOSTS + 1), dir, [
        "-a",
        `${lan.addr(HOSTS + 1)}:0`,
        "-discover",
        GROUP,
        "-hmac",
        k2,
      ]);
      const want = hosts.map((h) => h.anchor).sort().join(" ");
      const lsFrom = async (i: number, key: string) => {
        const r = await nsCircuit(lan.host(i + 1), ["ls", "-hmac", key, "-d", hosts[i].url, "/"]);
        return r.code === 0
          ? r.stdout.split("\n").filter((l) => l !== "").sort().join(" ")
          : `exit ${r.code}: ${r.stderr}`;
      };

      await t.step("every keyed host sees the five within 15 s, asked from its own namespace", async () => {
        await eventually("five in every view", 15_000, async () => {
          for (let i = 0; i < HOSTS; i++) if (await lsFrom(i, k1) !== want) return false;
          return true;
        });
        for (const h of hosts) {
          assert.ok(h.log().includes("Using mutual TLS 1.3 with the cluster CA of the key."));
        }
      });

      await t.step("a call for the fifth host, sent to the first, is forwarded to it over TLS", async () => {
        const r = await nsCircuit(lan.host(1), ["peek", "-hmac", k1, "-d", hosts[0].url, hosts[4].anchor]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(r.stdout.includes(hosts[4].url), r.stdout);
      });

      await t.step(
        "the host with another key is in no view, and its own view holds only itself",
        async () => {
          for (let i = 0; i < HOSTS; i++) assert.equal(await lsFrom(i, k1), want);
          const r = await nsCircuit(lan.host(HOSTS + 1), ["ls", "-hmac", k2, "-d", intruder!.url, "/"]);
          assert.equal(r.stdout.trim(), intruder!.anchor);
          const wrong = await nsCircuit(lan.host(1), ["ls", "-hmac", k2, "-d", hosts[0].url, "/"]);
          assert.equal(wrong.code, 1);
          assert.match(wrong.stderr, /authentication failed: key mismatch/);
        },
      );
    } finally {
      await Promise.all([...hosts, ...(intruder ? [intruder] : [])].map((h) => h.stop().catch(() => {})));
      await lan.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
