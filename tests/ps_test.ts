/**
 * `circuit ps` (SPEC §15.3) on a real cluster of three servers with different tags: host, phase,
 * exit, pid and command, as text and JSON, narrowed by selector and path.
 *
 * @module
 */
import assert from "node:assert/strict";
import { circuit } from "./_harness.ts";
import { HOST, sleepers, withCluster } from "./_tagged_cluster.ts";

Deno.test("ps lists processes with host, phase, exit, pid and command, as text and JSON", async (t) => {
  await withCluster(async (c) => {
    const [a, b] = c.servers;
    const X = a.serverAnchor;
    for (const [s, name, cmd] of [[a, "p1", "/bin/sleep 77707"], [b, "p2", "/bin/sh -c exit\\ 3"]] as const) {
      const [Path, ...Args] = name === "p1" ? cmd.split(" ") : ["/bin/sh", "-c", "exit 3"];
      const r = await circuit(["mkproc", "-d", a.url, `${s.serverAnchor}/${name}`], {
        stdin: JSON.stringify({ Path, Args }),
      });
      assert.equal(r.code, 0, r.stderr);
    }
    await circuit(["wait", "-d", a.url, `${b.serverAnchor}/p2`]);
    await t.step("JSON: one object per element, sorted by anchor", async () => {
      const r = await circuit(["ps", "-d", a.url, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
      const byAnchor = new Map(rows.map((row) => [row.Anchor, row]));
      const p1 = byAnchor.get(`${X}/p1`)!;
      assert.deepEqual(Object.keys(p1), ["Anchor", "Host", "Phase", "Exit", "Pid", "Started", "Command"]);
      assert.equal(p1.Host, HOST);
      assert.equal(p1.Phase, "running");
      assert.equal(p1.Exit, "-");
      assert.equal(p1.Command, "/bin/sleep 77707");
      assert.ok(sleepers("77707").includes(p1.Pid as number));
      const p2 = byAnchor.get(`${b.serverAnchor}/p2`)!;
      assert.equal(p2.Phase, "exited");
      assert.equal(p2.Exit, "exit 3");
      const anchors = rows.map((row) => row.Anchor as string);
      assert.deepEqual(anchors, [...anchors].sort());
    });
    await t.step("text: aligned columns", async () => {
      const r = await circuit(["ps", "-d", a.url]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 2);
      // Every column starts at the same offset on both lines.
      const starts = (l: string) => [...l.matchAll(/(?<= {2})\S/g)].map((m) => m.index).slice(0, 5);
      assert.deepEqual(starts(lines[0]), starts(lines[1]));
      assert.match(r.stdout, /running {2}- {2,}\d+ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}\/bin\/sleep 77707/);
    });
    await t.step("-on and a path narrow the list", async () => {
      const r = await circuit(["ps", "-d", a.url, "--json", "-on", "dc=fra"]);
      assert.deepEqual((JSON.parse(r.stdout) as { Anchor: string }[]).map((x) => x.Anchor), [
        `${b.serverAnchor}/p2`,
      ]);
      const r2 = await circuit(["ps", "-d", a.url, "--json", `${X}/...`]);
      assert.deepEqual((JSON.parse(r2.stdout) as { Anchor: string }[]).map((x) => x.Anchor), [`${X}/p1`]);
    });
    await circuit(["scrub", "-d", a.url, "-kill", `${X}/p1`]);
  });
});
