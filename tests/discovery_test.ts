/**
 * A22 of SPEC §12 — discovery by UDP multicast (§9.4), in a private network namespace the test
 * creates and removes itself (only its `lo`, with multicast on): announcements and their format,
 * merging, client probes by `-discover` and `CIRCUIT_DISCOVER`, the no-answer error, and keyed
 * clusters. Needs root; skipped otherwise. The 50–90 s re-announcement check runs only with
 * `CIRCUIT_SLOW_TESTS=1`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { discoveryKey, verifyPayload } from "../wire/crypto/discovery_mac.ts";
import { parseKeyText } from "../wire/crypto/keys.ts";
import { parseCircuitUrl } from "../wire/url.ts";
import { eventually, type RunResult } from "./_harness.ts";
import {
  canUseNetns,
  deleteStaleNamespaces,
  GroupListener,
  LoopbackNamespace,
  nsCircuit,
  NsServer,
} from "./_netns.ts";

const GROUP = "228.8.8.8:8822";
const PREFIX = "cirt-a22";
const netns = await canUseNetns();
const slow = Deno.env.get("CIRCUIT_SLOW_TESTS") === "1";

/** ERR(t) of §12: exit 1 and exactly one stderr line, starting `circuit: `, containing `t`. */
function assertErr(r: RunResult, t: string): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.split("\n");
  assert.equal(lines.length, 2, `stderr must be one line: ${JSON.stringify(r.stderr)}`);
  assert.ok(lines[0].startsWith("circuit: ") && lines[0].includes(t), `expected ${t}: ${lines[0]}`);
}

/** The sorted server anchors `ls /` prints, or null on failure. */
async function ls(ns: string, args: string[], env: Record<string, string> = {}): Promise<string[] | null> {
  const r = await nsCircuit(ns, ["ls", ...args, "/"], env);
  return r.code === 0 ? r.stdout.split("\n").filter((l) => l !== "").sort() : null;
}

/** A received datagram, decoded. */
interface Seen {
  envelope: Record<string, unknown>;
  inner: { Origin: string; Addr: string };
  payload: Uint8Array;
  at: number;
}

function decode(listener: GroupListener): Seen[] {
  return listener.datagrams().map((d) => {
    const envelope = JSON.parse(d.Text);
    const payload = Uint8Array.from(atob(envelope.Payload), (c) => c.charCodeAt(0));
    return { envelope, inner: JSON.parse(new TextDecoder().decode(payload)), payload, at: d.At };
  });
}

async function withNamespace(fn: (ns: string, dir: string) => Promise<void>): Promise<void> {
  await deleteStaleNamespaces(PREFIX);
  const ns = await LoopbackNamespace.create(`${PREFIX}-${Deno.pid}`);
  const dir = await Deno.makeTempDir({ prefix: "circuit-discovery-" });
  try {
    await fn(ns.name, dir);
  } finally {
    await ns.destroy();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "A22 — servers find each other by multicast and answer client probes; keyed clusters stay apart",
  ignore: !netns,
  async fn(t) {
    await withNamespace(async (ns, dir) => {
      const servers: NsServer[] = [];
      const start = async (args: string[]) => {
        const s = await NsServer.start(ns, dir, args);
        servers.push(s);
        return s;
      };
      const listener = await GroupListener.start(ns, GROUP);
      try {
        const a = await start(["-a", "127.0.0.1:0", "-discover", GROUP]);
        const b = await start(["-a", "127.0.0.1:0", "-discover", GROUP]);
        const both = [a.anchor, b.anchor].sort();

        await t.step("a discovering server logs the group it uses", () => {
          assert.ok(a.log().includes(`Using UDP multicast discovery on address ${GROUP}`), a.log());
          assert.ok(!a.log().includes("Singleton server."), a.log());
        });
        await t.step("within 5 s `ls -d <first URL> /` lists both servers", async () => {
          await eventually(
            "both in A's view",
            5_000,
            async () => (await ls(ns, ["-d", a.url]))?.join() === both.join(),
          );
        });
        await t.step("CIRCUIT_DISCOVER and -discover clients find a server and list both", async () => {
          assert.deepEqual(await ls(ns, [], { CIRCUIT_DISCOVER: GROUP }), both);
          assert.deepEqual(await ls(ns, ["-discover", GROUP]), both);
        });
        await t.step("announcements are {Key:<int>,Payload:<base64>} with a server Origin and URL", () => {
          const seen = decode(listener).filter((d) => d.inner.Origin === "server");
          assert.ok(seen.some((d) => d.inner.Addr === a.url) && seen.some((d) => d.inner.Addr === b.url));
          for (const d of seen) {
            assert.deepEqual(Object.keys(d.envelope).sort(), ["Key", "Payload"]);
            assert.ok(Number.isInteger(d.envelope.Key) && (d.envelope.Key as number) >= 0);
            assert.deepEqual(Object.keys(d.inner), ["Origin", "Addr"]);
            assert.match(d.inner.Addr, /^circuit:\/\/127\.0\.0\.1:[0-9]+\/[0-9]+\/Q[0-9a-f]{16}$/);
          }
        });
        await t.step('the client probe is {Origin:client, Addr:""}', () => {
          assert.ok(decode(listener).some((d) => d.inner.Origin === "client" && d.inner.Addr === ""));
        });
        await t.step("a wildcard-bound server never announces a wildcard host", async () => {
          const w = await start(["-a", "0.0.0.0:0", "-discover", GROUP]);
          assert.notEqual(parseCircuitUrl(w.url).host, "0.0.0.0");
          await eventually("W announced", 3_000, () => decode(listener).some((d) => d.inner.Addr === w.url));
          for (const d of decode(listener)) {
            const host = parseCircuitUrl(d.inner.Addr || "circuit://1.1.1.1:1/1/Q0000000000000001").host;
            assert.ok(host !== "0.0.0.0" && host !== "::", d.inner.Addr);
          }
          await w.stop("SIGTERM");
        });
        await t.step("a server without -discover sends nothing to the group", async () => {
          const quiet = await start(["-a", "127.0.0.1:0"]);
          await new Promise((r) => setTimeout(r, 1_500));
          assert.ok(!decode(listener).some((d) => d.inner.Addr === quiet.url));
          assert.ok(quiet.log().includes("Singleton server."));
        });
        await t.step("probing a group nobody serves fails with no server answered within 6 s", async () => {
          const t0 = Date.now();
          assertErr(await nsCircuit(ns, ["ls", "-discover", "228.8.8.9:9999", "/"]), "no server answered");
          assert.ok(Date.now() - t0 < 6_000 + 1_000, `took ${Date.now() - t0} ms (CLI start-up included)`);
        });
        await t.step(
          "two servers with one key merge, sign their datagrams, and a third key stays out",
          async () => {
            const key1 = `${dir}/key1`;
            const key2 = `${dir}/key2`;
            await Deno.writeTextFile(key1, (await nsCircuit(ns, ["keygen"])).stdout);
            await Deno.writeTextFile(key2, (await nsCircuit(ns, ["keygen"])).stdout);
            const k1 = await start(["-a", "127.0.0.1:0", "-discover", GROUP, "-hmac", key1]);
            const k2 = await start(["-a", "127.0.0.1:0", "-discover", GROUP, "-hmac", key1]);
            const other = await start(["-a", "127.0.0.1:0", "-discover", GROUP, "-hmac", key2]);
            const keyed = [k1.anchor, k2.anchor].sort();
            await eventually(
              "the keyed pair merged",
              5_000,
              async () => (await ls(ns, ["-d", k1.url, "-hmac", key1]))?.join() === keyed.join(),
            );
            // Give the wrongly keyed server's early announcements time to arrive (sends at 0, 1, 2.4 s).
            await new Promise((r) => setTimeout(r, 3_000));
            assert.deepEqual(await ls(ns, ["-d", k1.url, "-hmac", key1]), keyed);
            assert.deepEqual(await ls(ns, ["-d", k2.url, "-hmac", key1]), keyed);
            assert.deepEqual(await ls(ns, ["-d", other.url, "-hmac", key2]), [other.anchor]);
            assert.deepEqual(await ls(ns, ["-d", a.url]), both);
            const dk = await discoveryKey(parseKeyText(await Deno.readTextFile(key1), key1));
            const signed = decode(listener).filter((d) => d.inner.Addr === k1.url);
            assert.ok(signed.length > 0);
            for (const d of signed) {
              assert.equal(typeof d.envelope.HMAC, "string");
              const mac = Uint8Array.from(atob(d.envelope.HMAC as string), (c) => c.charCodeAt(0));
              assert.ok(await verifyPayload(dk, d.payload, mac));
            }
            assert.deepEqual(await ls(ns, ["-discover", GROUP, "-hmac", key1]), keyed);
          },
        );
      } finally {
        await listener.close();
        await Promise.all(servers.map((s) => s.stop()));
      }
    });
  },
});

Deno.test({
  name: "A22 — a discovering server still announces between 50 s and 90 s after its start",
  ignore: !netns || !slow,
  async fn() {
    await withNamespace(async (ns, dir) => {
      const listener = await GroupListener.start(ns, GROUP);
      const s = await NsServer.start(ns, dir, ["-a", "127.0.0.1:0", "-discover", GROUP]);
      const t0 = Date.now();
      try {
        await eventually(
          "an announcement 50–90 s after start",
          91_000,
          () =>
            decode(listener).some((d) =>
              d.inner.Addr === s.url && d.at - t0 >= 50_000 && d.at - t0 <= 90_000
            ),
        );
      } finally {
        await listener.close();
        await s.stop();
      }
    });
  },
});
