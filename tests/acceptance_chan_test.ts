/**
 * Acceptance scenarios A6–A10 of SPEC §12: channels through the real CLI against a real server.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  assertErr,
  assertUsage,
  clientOf,
  follow,
  type Followed,
  ok,
  type RunResult,
  spawnCircuit,
  type TestServer,
  withServer,
} from "./_harness.ts";
import { sleep } from "./_util.ts";

/** Runs `circuit <cmd> -d <server URL> <rest>`, as §12 runs every client command. */
const on = clientOf;

/** A fresh temp dir and one server; background commands registered in `bg` are killed afterwards. */
async function withServerAndBackground(fn: (a: TestServer, bg: Followed[]) => Promise<void>): Promise<void> {
  await withServer(async (a) => {
    const bg: Followed[] = [];
    try {
      await fn(a, bg);
    } finally {
      for (const p of bg) p.kill();
      await Promise.all(bg.map((p) => p.done));
    }
  });
}

/** Starts `circuit <cmd> -d <url> <rest>` in the background; `send` gets a stdin open for writing. */
function background(a: TestServer, bg: Followed[], cmd: string, rest: string[]): Followed {
  const p = follow(spawnCircuit([cmd, "-d", a.url, ...rest], { stdin: cmd === "send" ? "piped" : "null" }));
  bg.push(p);
  return p;
}

/** Writes `text` to a background command's stdin, closing it unless told otherwise. */
async function feed(p: Followed, text: string, close = true): Promise<void> {
  const w = p.child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  if (close) await w.close();
  else w.releaseLock();
}

/** Waits for a background command to end, failing if that takes longer than `ms`. */
async function ended(p: Followed, ms: number, what: string): Promise<RunResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p.done, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("A6: a channel takes a message without a receiver and hands it to the next recv", async (t) => {
  await withServer(async (a) => {
    const c = on(a);
    const xa = a.serverAnchor;
    const ch = `${xa}/this/is/charlie`;

    await t.step("mkchan prints nothing and exits 0", async () => {
      const r = ok(await c("mkchan", [ch, "3"]), "mkchan");
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, "");
    });

    await t.step(
      "peek prints Cap, Closed, Aborted, NumSend, NumRecv in this order, tab-indented",
      async () => {
        assert.equal(
          ok(await c("peek", [ch]), "peek").stdout,
          '{\n\t"Cap": 3,\n\t"Closed": false,\n\t"Aborted": false,\n\t"NumSend": 0,\n\t"NumRecv": 0\n}\n',
        );
      },
    );

    await t.step("send with no receiver exits 0 within 1 s and counts in NumSend", async () => {
      const t0 = performance.now();
      const r = ok(await c("send", [ch], { stdin: "hello\n" }), "send");
      const ms = performance.now() - t0;
      assert.equal(r.stdout, "");
      assert.ok(ms < 1000, `send took ${ms} ms`);
      assert.equal(JSON.parse(ok(await c("peek", [ch]), "peek").stdout).NumSend, 1);
    });

    await t.step("recv prints the body and counts in NumRecv", async () => {
      assert.equal(ok(await c("recv", [ch]), "recv").stdout, "hello\n");
      const v = JSON.parse(ok(await c("peek", [ch]), "peek").stdout);
      assert.equal(v.NumSend, 1);
      assert.equal(v.NumRecv, 1);
    });

    await t.step("ls -l lists the missing anchors as · and the channel, with full paths", async () => {
      assert.equal(
        ok(await c("ls", ["-l", `${xa}/...`]), "ls -l").stdout,
        `·${" ".repeat(15)}${xa}/this\n` +
          `·${" ".repeat(15)}${xa}/this/is\n` +
          `chan${" ".repeat(12)}${xa}/this/is/charlie\n`,
      );
    });
  });
});

Deno.test("A7: mkchan refuses occupied anchors, bad capacities, the root and wrong arguments", async (t) => {
  await withServer(async (a) => {
    const c = on(a);
    const xa = a.serverAnchor;
    ok(await c("mkchan", [`${xa}/c`, "1"]), "mkchan");

    await t.step("mkchan on an occupied anchor fails: anchor already has an element", async () => {
      assertErr(await c("mkchan", [`${xa}/c`, "1"]), "anchor already has an element");
    });
    await t.step("mkchan with capacity -1 fails: non-negative integral capacity", async () => {
      assertErr(
        await c("mkchan", [`${xa}/x`, "-1"]),
        "second argument to mkchan must be a non-negative integral capacity",
      );
    });
    await t.step("mkchan without a capacity is a usage error", async () => {
      assertUsage(await c("mkchan", [`${xa}/x`]), "mkchan needs an anchor and a capacity arguments");
    });
    await t.step("mkchan on / fails: cannot create elements outside of servers", async () => {
      assertErr(await c("mkchan", ["/", "1"]), "cannot create elements outside of servers");
    });
    await t.step("mkchan on the server anchor fails: anchor already has an element", async () => {
      assertErr(await c("mkchan", [xa, "1"]), "anchor already has an element");
    });
    await t.step("an unknown flag is a usage error: flag provided but not defined", async () => {
      assertUsage(await c("peek", ["-bogus", xa]), "flag provided but not defined");
    });
  });
});

Deno.test("A8: a capacity-0 channel admits a sender only with a receiver; bodies flow as written", async (t) => {
  await withServerAndBackground(async (a, bg) => {
    const c = on(a);
    const ch = `${a.serverAnchor}/c0`;
    ok(await c("mkchan", [ch, "0"]), "mkchan");

    let send: Followed;
    await t.step("a sender without a receiver is not admitted and keeps waiting", async () => {
      send = background(a, bg, "send", [ch]);
      await feed(send, "x\n");
      await sleep(1000);
      assert.equal(JSON.parse(ok(await c("peek", [ch]), "peek").stdout).NumSend, 0);
      assert.ok(!send.exited, `sender exited: ${send.stderr}`);
    });

    await t.step("recv takes the waiting sender's message and the sender exits 0", async () => {
      assert.equal(ok(await c("recv", [ch]), "recv").stdout, "x\n");
      ok(await ended(send, 5000, "send"), "send");
    });

    await t.step("the first part of a body reaches the receiver before the sender ends it", async () => {
      const recv = background(a, bg, "recv", [ch]);
      const send = background(a, bg, "send", [ch]);
      const t0 = performance.now();
      await feed(send, "part1\n", false);
      await sleep(1500 - (performance.now() - t0));
      assert.equal(recv.stdout, "part1\n");
      await sleep(3000 - (performance.now() - t0));
      await feed(send, "part2\n");
      ok(await ended(send, 5000, "send"), "send");
      const r = ok(await ended(recv, 2000, "recv"), "recv");
      assert.equal(r.stdout, "part1\npart2\n");
    });
  });
});

Deno.test("A9: a closed channel refuses sends and is drained before recv reports closed", async (t) => {
  await withServer(async (a) => {
    const c = on(a);
    const ch = `${a.serverAnchor}/c1`;
    ok(await c("mkchan", [ch, "2"]), "mkchan");
    ok(await c("send", [ch], { stdin: "a\n" }), "send");

    await t.step("close exits 0 and peek shows Closed", async () => {
      ok(await c("close", [ch]), "close");
      assert.equal(JSON.parse(ok(await c("peek", [ch]), "peek").stdout).Closed, true);
    });
    await t.step("a second close fails: channel already closed", async () => {
      assertErr(await c("close", [ch]), "channel already closed");
    });
    await t.step("send on a closed channel fails: channel closed", async () => {
      assertErr(await c("send", [ch], { stdin: "b\n" }), "channel closed");
    });
    await t.step("recv still gets the queued message, then fails: channel closed", async () => {
      assert.equal(ok(await c("recv", [ch]), "recv").stdout, "a\n");
      assertErr(await c("recv", [ch]), "channel closed");
    });
  });
});

Deno.test("A10: scrubbing a channel aborts its waiting receiver and removes the anchor", async (t) => {
  await withServerAndBackground(async (a, bg) => {
    const c = on(a);
    const xa = a.serverAnchor;
    const ch = `${xa}/c3`;
    ok(await c("mkchan", [ch, "0"]), "mkchan");
    const recv = background(a, bg, "recv", [ch]);
    // Give the receiver time to start, dial and wait on the channel; nothing shows that it waits.
    await sleep(1000);
    assert.ok(!recv.exited, `recv exited early: ${recv.stderr}`);

    await t.step("scrub exits 0 and within 1 s the waiting recv fails: channel aborted", async () => {
      ok(await c("scrub", [ch]), "scrub");
      assertErr(await ended(recv, 1000, "recv"), "channel aborted");
    });
    await t.step("the scrubbed anchor peeks null and is not listed", async () => {
      assert.equal(JSON.parse(ok(await c("peek", [ch]), "peek").stdout), null);
      assert.ok(!ok(await c("ls", [xa]), "ls").stdout.split("\n").includes(ch));
    });
  });
});
