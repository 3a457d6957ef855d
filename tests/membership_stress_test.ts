/**
 * Membership under CPU starvation (SPEC §9.2): four hosts in network namespaces while two busy
 * loops saturate the CPUs. One host is SIGSTOPped until the others remove it, then SIGCONTed; another
 * has its link cut until it has buried everyone, then restored; twice over. A woken host finds its
 * connections closed and its timers overdue; a host cut off holds verdicts it could tell nobody;
 * the others answer slowly. None of that may get a healthy host removed by a server that could
 * reach it all along.
 * Needs root; skipped otherwise.
 *
 * @module
 */
import assert from "node:assert/strict";
import { eventually } from "./_harness.ts";
import { canUseNetns, deleteStaleNamespaces, Lan, NsServer, Observer, viewsAre } from "./_netns.ts";

const PREFIX = "cirt-s";
const HOSTS = 4;
/** One busy loop per core of the test machine: every server then competes for CPU. */
const BURNERS = 2;
/** Rounds of stop/continue and cut/restore (a false removal needs unlucky timing); CIRCUIT_STRESS_ROUNDS raises it. */
const ROUNDS = Number(Deno.env.get("CIRCUIT_STRESS_ROUNDS") ?? "1");
/**
 * After SIGCONT, time for any suspicion the woken host raised to run out (2 s, SPEC §9.2) and
 * its verdict to spread, so a false removal would be in the ops logs before we read them.
 */
const SETTLE_MS = 3_000;
const netns = await canUseNetns();

/** The server IDs `s` recorded a `leave` of, in order. */
async function leavesOf(s: NsServer): Promise<string[]> {
  return (await s.opsLog()).filter((r) => r.Op === "leave").map((r) => r.ServerID as string);
}

Deno.test({
  name: "with the CPUs saturated, stopping or cutting off one host never gets a healthy one removed",
  ignore: !netns,
  async fn(t) {
    await deleteStaleNamespaces(PREFIX);
    const lan = await Lan.create(`${PREFIX}${Deno.pid % 1000}-`, 2, HOSTS);
    const dir = await Deno.makeTempDir({ prefix: "circuit-stress-" });
    const o = Observer.start(lan.bridge);
    const hosts: NsServer[] = [];
    const burners: Deno.ChildProcess[] = [];
    try {
      hosts.push(await NsServer.start(lan.host(1), dir, ["-a", `${lan.addr(1)}:0`]));
      for (let i = 2; i <= HOSTS; i++) {
        hosts.push(await NsServer.start(lan.host(i), dir, ["-a", `${lan.addr(i)}:0`, "-j", hosts[0].url]));
      }
      const sleeper = hosts[HOSTS - 1];
      const island = hosts[HOSTS - 2];
      const others = (h: NsServer) => hosts.filter((x) => x !== h);
      /** Waits for late verdicts, then checks that every view still holds every host. */
      const settle = async () => {
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        assert.ok(await viewsAre(o, hosts, hosts), "every view holds every host");
      };
      await eventually("all hosts in every view", 10_000, () => viewsAre(o, hosts, hosts));
      for (let i = 0; i < BURNERS; i++) {
        burners.push(
          new Deno.Command("sh", { args: ["-c", "while :; do :; done"], stdin: "null", stdout: "null" })
            .spawn(),
        );
      }

      for (let round = 1; round <= ROUNDS; round++) {
        await t.step(`round ${round}: a SIGSTOPped host is removed and back after SIGCONT`, async () => {
          sleeper.signal("SIGSTOP");
          await eventually(
            "sleeper out of the others' views",
            8_000,
            () => viewsAre(o, others(sleeper), others(sleeper)),
          );
          sleeper.signal("SIGCONT");
          await eventually("sleeper back in every view", 5_000, () => viewsAre(o, hosts, hosts));
          await settle();
        });
        await t.step(
          `round ${round}: a host cut off buries everyone, and re-merges once restored`,
          async () => {
            const logged = island.log().length;
            await lan.cut(HOSTS - 1);
            await eventually(
              "cut host out of the others' views",
              8_000,
              () => viewsAre(o, others(island), others(island)),
            );
            await eventually(
              "cut host removed the others",
              8_000,
              () =>
                others(island).every((h) => island.log().slice(logged).includes(`Member left ${h.anchor}`)),
            );
            await lan.restore(HOSTS - 1);
            await eventually("all re-merged", 25_000, () => viewsAre(o, hosts, hosts));
            await settle();
          },
        );
      }

      await t.step(
        "no server but the cut one ever removed a host that was neither stopped nor cut",
        async () => {
          for (const h of others(island)) {
            for (const id of await leavesOf(h)) {
              assert.ok(id === sleeper.id || id === island.id, `${h.id} removed ${id}`);
            }
          }
        },
      );
    } finally {
      for (const b of burners) {
        b.kill("SIGKILL");
        await b.status;
      }
      await o.close();
      await Promise.all(hosts.map((h) => h.stop()));
      await lan.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
