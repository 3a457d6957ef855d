/**
 * Cluster membership on loopback (SPEC §9, §12 A19–A21): the SWIM member table and broadcast
 * queue on their own, then real servers as OS processes joining, dying (SIGKILL), hanging
 * (SIGSTOP), coming back (SIGCONT) and leaving gracefully, watched through their views, logs,
 * ops logs and subscriptions.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { MemberUpdate } from "../wire/ops.ts";
import { Broadcasts } from "../server/membership/broadcasts.ts";
import { MemberTable } from "../server/membership/table.ts";
import { circuit, collect, eventually, type RunResult, spawnCircuit } from "./_harness.ts";
import { NsServer, Observer, viewsAre } from "./_netns.ts";

const SELF = "X0000000000000001";
const B = "X00000000000000b0";
const URL_B = "circuit://127.0.0.1:2/2/Q00000000000000b0";

function upd(State: MemberUpdate["State"], Inc: number, Id = B, Url = URL_B): MemberUpdate {
  return { Id, Url, Inc, State };
}

/** ERR(t) of §12: exit 1 and exactly one stderr line, starting `circuit: `, containing `t`. */
function assertErr(r: RunResult, t: string): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.split("\n");
  assert.equal(lines.length, 2, `stderr must be one line: ${JSON.stringify(r.stderr)}`);
  assert.ok(lines[0].startsWith("circuit: ") && lines[0].includes(t), `expected ${t}: ${lines[0]}`);
}

/** `ls /` via `s`, as the list of server anchors it prints. */
async function lsRoot(s: NsServer): Promise<string[]> {
  const r = await circuit(["ls", "-d", s.url, "/"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "");
}

/** Join and leave records of an ops log must alternate per server, starting with a join. */
async function assertJoinLeaveAlternate(s: NsServer): Promise<void> {
  const last = new Map<string, string>();
  for (const rec of await s.opsLog()) {
    if (rec.Op !== "join" && rec.Op !== "leave") continue;
    const id = rec.ServerID as string;
    assert.notEqual(last.get(id) ?? "leave", rec.Op, `${rec.Op} of ${id} twice in a row on ${s.id}`);
    last.set(id, rec.Op as string);
  }
}

/** Starts loopback servers for one test and stops whatever is left at the end. */
async function withCluster(
  fn: (start: (args?: string[]) => Promise<NsServer>, o: Observer) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "circuit-membership-" });
  const servers: NsServer[] = [];
  const o = Observer.start(null);
  try {
    await fn(async (args = []) => {
      const s = await NsServer.start(null, dir, ["-a", "127.0.0.1:0", ...args]);
      servers.push(s);
      return s;
    }, o);
  } finally {
    await o.close();
    await Promise.all(servers.map((s) => s.stop()));
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("member table orders updates by incarnation, then left over dead over suspect over alive", async (t) => {
  await t.step("an alive member joins once; repeating it is old news", () => {
    const m = new MemberTable(SELF, "u");
    assert.equal(m.apply(upd("alive", 0)), "joined");
    assert.equal(m.apply(upd("alive", 0)), "none");
  });
  await t.step("suspicion at the same incarnation sticks until an alive with a higher one", () => {
    const m = new MemberTable(SELF, "u");
    m.apply(upd("alive", 3));
    assert.equal(m.apply(upd("suspect", 2)), "none");
    assert.equal(m.apply(upd("suspect", 3)), "suspected");
    assert.equal(m.apply(upd("suspect", 3)), "none");
    assert.equal(m.apply(upd("alive", 3)), "none");
    assert.equal(m.members.get(B)?.state, "suspect");
    assert.equal(m.apply(upd("alive", 4)), "refreshed");
    assert.equal(m.members.get(B)?.state, "alive");
  });
  await t.step("dead at an older incarnation is ignored, at the current one removes the member", () => {
    const m = new MemberTable(SELF, "u");
    m.apply(upd("alive", 5));
    assert.equal(m.apply(upd("dead", 4)), "none");
    assert.equal(m.apply(upd("dead", 5)), "removed");
    assert.equal(m.members.has(B), false);
    assert.equal(m.tombs.get(B)?.state, "dead");
  });
  await t.step("a stale alive cannot bring a dead member back; only a higher incarnation can", () => {
    const m = new MemberTable(SELF, "u");
    m.apply(upd("alive", 1));
    m.apply(upd("dead", 1));
    assert.equal(m.apply(upd("alive", 1)), "none");
    assert.equal(m.apply(upd("alive", 2)), "joined");
    assert.equal(m.tombs.has(B), false);
  });
  await t.step("a dead member that turns out to have left is never retried", () => {
    const m = new MemberTable(SELF, "u");
    m.apply(upd("alive", 0));
    m.apply(upd("dead", 0));
    assert.equal(m.tombs.get(B)?.retry, true);
    assert.equal(m.apply(upd("left", 0)), "buried");
    assert.deepEqual({ ...m.tombs.get(B), at: 0 }, {
      url: URL_B,
      inc: 0,
      state: "left",
      at: 0,
      retry: false,
    });
  });
  await t.step("suspicion or death of this server makes it refute with a higher incarnation", () => {
    const m = new MemberTable(SELF, "u");
    assert.equal(m.apply(upd("suspect", 0, SELF, "u")), "refuted");
    assert.equal(m.selfInc, 1);
    assert.equal(m.apply(upd("dead", 0, SELF, "u")), "none");
    assert.equal(m.apply(upd("dead", 4, SELF, "u")), "refuted");
    assert.deepEqual(m.self(), { Id: SELF, Url: "u", Inc: 5, State: "alive" });
  });
  await t.step("a full state's dead only suspects a live member, and an unknown suspect is ignored", () => {
    const m = new MemberTable(SELF, "u");
    m.apply(upd("alive", 2));
    assert.equal(m.apply(upd("dead", 2), true), "suspected");
    assert.equal(m.members.get(B)?.state, "suspect");
    assert.equal(m.apply(upd("suspect", 0, "X00000000000000c0", "c")), "none");
    assert.equal(m.members.has("X00000000000000c0"), false);
  });
  await t.step("the state carries this server, the view and the newest tombs", () => {
    const m = new MemberTable(SELF, "u");
    m.apply(upd("alive", 0));
    m.apply(upd("dead", 7, "X00000000000000c0", "c"));
    assert.deepEqual(m.state(1), [
      { Id: SELF, Url: "u", Inc: 0, State: "alive" },
      upd("alive", 0),
      { Id: "X00000000000000c0", Url: "c", Inc: 7, State: "dead" },
    ]);
    assert.equal(m.state(0).length, 2);
  });
});

Deno.test("broadcast queue sends least-sent updates first, each at most `limit` times", () => {
  const q = new Broadcasts();
  q.push(upd("alive", 0, "X1"));
  q.push(upd("alive", 0, "X2"));
  assert.deepEqual(q.take(1, 2).map((u) => u.Id), ["X1"]);
  assert.deepEqual(q.take(1, 2).map((u) => u.Id), ["X2"]);
  q.push(upd("suspect", 0, "X1"));
  assert.deepEqual(q.take(5, 2), [upd("suspect", 0, "X1"), upd("alive", 0, "X2")]);
  assert.equal(q.size, 1);
  assert.deepEqual(q.take(5, 2), [upd("suspect", 0, "X1")]);
  assert.equal(q.size, 0);
});

Deno.test("A20 — servers join by -j and by `circuit join`, and a -j target that hangs is retried", async (t) => {
  await withCluster(async (start, o) => {
    const a = await start();
    const b = await start(["-j", a.url]);
    const c = await start();
    await t.step("within 2 s A and B each list A and B", async () => {
      await eventually("A and B in the views of A and B", 2_000, () => viewsAre(o, [a, b], [a, b]));
      assert.deepEqual(await lsRoot(a), [a.anchor, b.anchor].sort());
    });
    await t.step("`join -d C XC A` exits 0 and within 2 s A, B and C each list all three", async () => {
      assert.deepEqual(await circuit(["join", "-d", c.url, c.anchor, a.url]), {
        code: 0,
        stdout: "",
        stderr: "",
      });
      await eventually("all three in every view", 2_000, () => viewsAre(o, [a, b, c], [a, b, c]));
      assert.deepEqual(await lsRoot(c), [a.anchor, b.anchor, c.anchor].sort());
    });
    await t.step("joining a closed port fails with connection refused", async () => {
      const url = "circuit://127.0.0.1:1/1/Q0000000000000001";
      assertErr(await circuit(["join", "-d", c.url, c.anchor, url]), "connection refused");
    });
    await t.step("joining a malformed URL fails with the URL error", async () => {
      assertErr(await circuit(["join", "-d", c.url, c.anchor, "notaurl"]), "is not a valid circuit address");
    });
    await t.step("a -j target that hangs is retried until it answers; then D sees all four", async () => {
      a.signal("SIGSTOP");
      const d = await start(["-j", a.url]);
      await eventually("D's log says retrying", 15_000, () => d.log().includes("retrying"));
      a.signal("SIGCONT");
      await eventually("A, B, C and D in D's view", 10_000, () => viewsAre(o, [d], [a, b, c, d]));
      await eventually("all four in every view", 5_000, () => viewsAre(o, [a, b, c, d], [a, b, c, d]));
    });
  });
});

Deno.test("A21 — @join and @leave follow SIGKILL, SIGSTOP and SIGCONT, never leaving twice", async (t) => {
  await withCluster(async (start, o) => {
    const a = await start();
    const XA = a.anchor;
    const peek = async (path: string) => {
      const r = await circuit(["peek", "-d", a.url, path]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    await t.step("subscriptions on a singleton: @join holds the server itself, @leave nothing", async () => {
      assert.equal((await circuit(["mk@join", "-d", a.url, `${XA}/watch/join`])).code, 0);
      assert.equal((await circuit(["mk@leave", "-d", a.url, `${XA}/watch/leave`])).code, 0);
      assert.deepEqual(await peek(`${XA}/watch/join`), { Source: "join", Pending: 1, Closed: false });
      assert.deepEqual(await peek(`${XA}/watch/leave`), { Source: "leave", Pending: 0, Closed: false });
    });
    const b = await start(["-j", a.url]);
    await t.step("B joins: within 2 s @join has two events, A then B", async () => {
      await eventually("@join pending 2", 2_000, async () => (await peek(`${XA}/watch/join`)).Pending === 2);
      const r1 = await circuit(["recv", "-d", a.url, `${XA}/watch/join`]);
      const r2 = await circuit(["recv", "-d", a.url, `${XA}/watch/join`]);
      assert.deepEqual([r1.stdout, r2.stdout], [XA + "\n", b.anchor + "\n"]);
    });
    await t.step(
      "SIGKILL B: a waiting recv on @leave prints B within 5 s and A no longer lists B",
      async () => {
        const recv = spawnCircuit(["recv", "-d", a.url, `${XA}/watch/leave`]);
        await new Promise((r) => setTimeout(r, 500));
        const t0 = Date.now();
        await b.stop("SIGKILL");
        const r = await collect(recv);
        assert.deepEqual(r, { code: 0, stdout: b.anchor + "\n", stderr: "" });
        assert.ok(Date.now() - t0 < 5_000, `took ${Date.now() - t0} ms`);
        assert.deepEqual(await lsRoot(a), [XA]);
      },
    );
    const c = await start(["-j", a.url]);
    await eventually("C in A's view", 2_000, () => viewsAre(o, [a], [a, c]));
    await t.step("SIGSTOP C: within 8 s A lacks C and @leave has one event", async () => {
      c.signal("SIGSTOP");
      await eventually("C removed from A's view", 8_000, () => viewsAre(o, [a], [a]));
      assert.equal((await peek(`${XA}/watch/leave`)).Pending, 1);
    });
    await t.step("SIGCONT C: within 5 s A lists C again and @join has C's two joins", async () => {
      c.signal("SIGCONT");
      await eventually("C back in A's view", 5_000, () => viewsAre(o, [a], [a, c]));
      assert.equal((await peek(`${XA}/watch/join`)).Pending, 2);
    });
    await t.step("`ls -l XA/watch` lists both subscriptions with their kinds", async () => {
      const r = await circuit(["ls", "-l", "-d", a.url, `${XA}/watch`]);
      assert.equal(
        r.stdout,
        `@join${" ".repeat(11)}${XA}/watch/join\n@leave${" ".repeat(10)}${XA}/watch/leave\n`,
      );
    });
    await t.step("A's ops log alternates join and leave for every server", async () => {
      await assertJoinLeaveAlternate(a);
      const ops = (await a.opsLog()).filter((r) => r.ServerID === c.id).map((r) => r.Op);
      assert.deepEqual(ops, ["join", "leave", "join"]);
    });
  });
});

Deno.test("A19 — unknown servers fail every command at once; a hung one does not hang `ls /`", async (t) => {
  await withCluster(async (start, o) => {
    const a = await start();
    const X1 = "/X0000000000000001";
    await t.step(
      "peek, ls, close and mkchan on an unknown server each fail with unknown server",
      async () => {
        const runs = await Promise.all([
          circuit(["peek", "-d", a.url, X1]),
          circuit(["ls", "-d", a.url, X1]),
          circuit(["close", "-d", a.url, `${X1}/c`]),
          circuit(["mkchan", "-d", a.url, `${X1}/c`, "1"]),
        ]);
        for (const r of runs) assertErr(r, "unknown server X0000000000000001");
      },
    );
    await t.step("scrub of a server anchor is a no-op", async () => {
      assert.deepEqual(await circuit(["scrub", "-d", a.url, a.anchor]), { code: 0, stdout: "", stderr: "" });
      const r = await circuit(["peek", "-d", a.url, a.anchor]);
      assert.ok(typeof JSON.parse(r.stdout).Addr === "string", r.stdout);
    });
    const b = await start(["-j", a.url]);
    await eventually("B in A's view", 2_000, () => viewsAre(o, [a], [a, b]));
    await t.step(
      "SIGSTOP B: `ls /` via A returns within 1 s, `peek XB/x` fails unreachable within 11 s",
      async () => {
        b.signal("SIGSTOP");
        const t0 = Date.now();
        const ls = await circuit(["ls", "-d", a.url, "/"]);
        assert.equal(ls.code, 0, ls.stderr);
        // The CLI's own start-up is part of the second; what matters is no wait on B.
        assert.ok(Date.now() - t0 < 1_000 + 1_500, `ls / took ${Date.now() - t0} ms`);
        const t1 = Date.now();
        assertErr(await circuit(["peek", "-d", a.url, `${b.anchor}/x`]), "unreachable");
        assert.ok(Date.now() - t1 < 11_000, `peek took ${Date.now() - t1} ms`);
        b.signal("SIGCONT");
      },
    );
  });
});

Deno.test("failure detection on loopback: joins in 2 s, SIGKILL out in 5 s, graceful leave out in 1 s", async (t) => {
  await withCluster(async (start, o) => {
    const a = await start();
    const b = await start(["-j", a.url]);
    const c = await start(["-j", a.url]);
    await eventually("A, B, C in every view", 2_000, () => viewsAre(o, [a, b, c], [a, b, c]));
    let d!: NsServer;
    await t.step("a new server is in every view within 2 s of starting", async () => {
      d = await start(["-j", b.url]);
      await eventually("D in every view", 2_000, () => viewsAre(o, [a, b, c, d], [a, b, c, d]));
    });
    await t.step(
      "a SIGKILLed server leaves every view within 5 s (a refused re-dial proves it dead)",
      async () => {
        await d.stop("SIGKILL");
        await eventually("D out of every view", 5_000, () => viewsAre(o, [a, b, c], [a, b, c]));
      },
    );
    await t.step("a gracefully stopped server leaves every view within 1 s", async () => {
      c.signal("SIGTERM");
      await eventually("C out of every view", 1_000, () => viewsAre(o, [a, b], [a, b]));
      assert.equal((await c.status).code, 0);
    });
    await t.step("healthy servers were never removed, and no server left twice without a join", async () => {
      for (const s of [a, b]) {
        await assertJoinLeaveAlternate(s);
        const removed = (await s.opsLog()).filter((r) => r.Op === "leave").map((r) => r.ServerID).sort();
        assert.deepEqual(removed, [c.id, d.id].sort());
      }
    });
  });
});
