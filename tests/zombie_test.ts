/**
 * Many short processes started through the library leave no zombie behind in the server
 * (SPEC §7.2: exit is recorded, and the child reaped, as soon as the OS process ends).
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Client, dial } from "../mod.ts";
import { eventually, type TestServer, withServer } from "./_harness.ts";
import { procInfo } from "./_proc.ts";

/** How many processes each case starts: enough that a per-process leak would show. */
const COUNT = 1000;
/** Concurrent starts: well above the two cores, so starts, exits and waits overlap. */
const CONCURRENCY = 32;
/** Generous for 1000 spawns on two loaded cores; a hang or per-process stall would exceed it. */
const BUDGET_MS = 90_000;

/** The server's child processes with their states, from every thread's children list. */
function children(pid: number): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    let list = "";
    try {
      list = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`);
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const child of list.split(" ").filter((w) => w !== "")) {
      const p = procInfo(Number(child));
      if (p) out.push({ pid: p.pid, state: p.state }); // else reaped meanwhile
    }
  }
  return out;
}

/** Every child has ended and been reaped: none is left, zombie or not (listed on failure). */
async function assertNoChildren(pid: number): Promise<void> {
  // Reaping follows the exit by a few event-loop turns; a zombie would stay for good.
  const deadline = Date.now() + 2000;
  while (children(pid).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(children(pid), []);
}

/** Runs `job(i)` for i in [0, count) with at most `limit` running at once. */
async function pool(count: number, limit: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

function withClient(fn: (s: TestServer, client: Client) => Promise<void>): Promise<void> {
  return withServer(async (s) => {
    const client = await dial(s.url);
    try {
      await fn(s, client);
    } finally {
      await client.close();
    }
  });
}

Deno.test("1000 processes started and waited through the library leave no zombie", async () => {
  await withClient(async (s, client) => {
    const began = Date.now();
    await pool(COUNT, CONCURRENCY, async (i) => {
      const anchor = client.walk(`${s.serverAnchor}/true/${i}`);
      const proc = await anchor.makeProc({ path: "/bin/true" });
      const stat = await proc.wait();
      assert.equal(stat.phase, "exited");
      assert.equal(stat.exit, null);
      await anchor.scrub();
    });
    const took = Date.now() - began;
    assert.ok(took < BUDGET_MS, `took ${took} ms`);
    await assertNoChildren(s.pid);
  });
});

Deno.test("1000 processes detached by scrub-on-exit leave no zombie", async () => {
  await withClient(async (s, client) => {
    const began = Date.now();
    const parent = client.walk(`${s.serverAnchor}/auto`);
    await pool(COUNT, CONCURRENCY, async (i) => {
      await parent.walk(String(i)).makeProc({ path: "/bin/true", scrub: true });
    });
    await eventually(
      "every process detached itself",
      BUDGET_MS,
      async () => (await parent.view()).size === 0,
    );
    const took = Date.now() - began;
    assert.ok(took < BUDGET_MS, `took ${took} ms`);
    await assertNoChildren(s.pid);
  });
});
