/**
 * Acceptance scenario A20 of SPEC §12: joining and merging clusters of real servers through the
 * real CLI, and a `-j` target that does not answer being retried.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertErr, circuit, eventually, type RunResult, TestServer } from "./_harness.ts";

/** Generous bound for a command that must not block; a hang then fails the test instead of stalling it. */
const _CMD_TIMEOUT_MS = 30_000;

/** The server anchors `ls /` prints when dialing `via`; empty if the command failed. */
async function view(via: TestServer): Promise<string[]> {
  const r: RunResult = await circuit(["ls", "-d", via.url, "/"], { timeoutMs: _CMD_TIMEOUT_MS });
  return r.code === 0 ? r.stdout.split("\n").filter((l) => l !== "") : [];
}

/** Polls until `ls /` via each of `vias` lists exactly `members`. */
function viewsAre(vias: TestServer[], members: TestServer[], ms: number): Promise<void> {
  const want = members.map((s) => s.serverAnchor).sort();
  const names = vias.map((s) => s.serverAnchor).join(", ");
  return eventually(`ls / via ${names} lists ${want.join(", ")}`, ms, async () => {
    const views = await Promise.all(vias.map(view));
    return views.every((v) => JSON.stringify(v) === JSON.stringify(want));
  });
}

Deno.test("A20: join merges two clusters into one view everywhere; an unanswering -j target is retried", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-acc-" });
  const servers: TestServer[] = [];
  try {
    const a = await TestServer.start(dir);
    servers.push(a);
    const [b, c] = await Promise.all([TestServer.start(dir, ["-j", a.url]), TestServer.start(dir)]);
    servers.push(b, c);

    await t.step("within 2 s of B's -j, ls / via A and via B lists A and B", async () => {
      await viewsAre([a, b], [a, b], 2000);
    });

    await t.step("join -d C XC A exits 0 and within 2 s every view lists A, B and C", async () => {
      const r = await circuit(["join", "-d", c.url, c.serverAnchor, a.url], { timeoutMs: _CMD_TIMEOUT_MS });
      assert.equal(r.code, 0, r.stderr);
      await viewsAre([a, b, c], [a, b, c], 2000);
    });

    await t.step("join to a URL nobody listens on fails: connection refused", async () => {
      assertErr(
        await circuit(["join", "-d", c.url, c.serverAnchor, "circuit://127.0.0.1:1/1/Q0000000000000001"], {
          timeoutMs: _CMD_TIMEOUT_MS,
        }),
        "connection refused",
      );
    });

    await t.step("join to a malformed URL fails: is not a valid circuit address", async () => {
      assertErr(
        await circuit(["join", "-d", c.url, c.serverAnchor, "notaurl"], { timeoutMs: _CMD_TIMEOUT_MS }),
        "is not a valid circuit address",
      );
    });

    try {
      a.kill("SIGSTOP");
      let d: TestServer;
      await t.step("D joining a stopped A logs that it is retrying within 15 s", async () => {
        d = await TestServer.start(dir, ["-j", a.url]);
        servers.push(d);
        await eventually("retrying in D's log", 15_000, () => d.log().includes("retrying"));
      });

      await t.step("after SIGCONT of A, within 10 s ls / via D lists A, B, C and D", async () => {
        a.kill("SIGCONT");
        await viewsAre([d], [a, b, c, d], 10_000);
      });
    } finally {
      a.kill("SIGCONT");
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await Deno.remove(dir, { recursive: true });
  }
});
