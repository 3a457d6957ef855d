/**
 * SPEC §3.5: a second SIGTERM during the graceful shutdown SIGKILLs the remaining process
 * groups at once and the server exits 1.
 *
 * @module
 */
import assert from "node:assert/strict";
import { alive, circuit, eventually, TestServer } from "./_harness.ts";
import { allProcs } from "./_proc.ts";

Deno.test("a second SIGTERM during shutdown kills a TERM-ignoring child at once and exits 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-shutdown-" });
  const s = await TestServer.start(dir);
  let victims: number[] = [];
  try {
    const r = await circuit(["mkproc", "-d", s.url, `${s.serverAnchor}/stubborn`], {
      stdin: JSON.stringify({ Path: "/bin/sh", Args: ["-c", "trap '' TERM; sleep 317"] }),
    });
    assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
    // The trap must be in place before the server's SIGTERM: wait until sleep runs under it.
    const sleeps = () => allProcs().filter((p) => p.argv.join(" ") === "sleep 317").map((p) => p.pid);
    await eventually("the sleep runs", 2000, () => sleeps().length === 1);
    victims = sleeps();
    s.kill("SIGTERM");
    await eventually("the shutdown began", 2000, () => s.log().includes("Shutting down"));
    const second = Date.now();
    s.kill("SIGTERM");
    const status = await s.child.status;
    const took = Date.now() - second;
    assert.equal(status.code, 1);
    // Well within the 5 s grace the first SIGTERM would have waited.
    assert.ok(took < 2500, `the server took ${took} ms to exit after the second SIGTERM`);
    await eventually("the sleep is gone", 1000, () => victims.every((pid) => !alive(pid)));
  } finally {
    for (const pid of victims) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
