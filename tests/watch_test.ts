/**
 * `watch` (SPEC §13.1) on a real three-server cluster: the merged feed of the dialed server, its
 * order per server, and the bound on what a watcher that never reads costs the server.
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { dial } from "../mod.ts";
import type { WatchEvent } from "../wire/ops.ts";
import { connect } from "../wire/dial.ts";
import { circuit, eventually, TestServer } from "./_harness.ts";
import { Watcher, watchEvent } from "../server/watch/feed.ts";

async function cluster(dir: string): Promise<TestServer[]> {
  const a = await TestServer.start(dir);
  const b = await TestServer.start(dir, ["-j", a.url]);
  const c = await TestServer.start(dir, ["-j", a.url]);
  const client = await dial(a.url);
  await eventually("three members in the view", 10_000, async () => (await client.view()).size === 3);
  await client.close();
  return [a, b, c];
}

/** Collects the events of `client.watch(path)` in the background. */
function collect(url: string, path: string) {
  const events: WatchEvent[] = [];
  const ctl = new AbortController();
  const done = (async () => {
    const client = await dial(url);
    try {
      for await (const ev of client.watch(path, { signal: ctl.signal })) events.push(ev);
    } catch {
      // aborted at the end of the test
    }
    await client.close();
  })();
  return { events, stop: async () => (ctl.abort(), await done) };
}

Deno.test("watch /... shows every change of a scripted sequence on three servers once and in order per server", async () => {
  const dir = await Deno.makeTempDir();
  const servers = await cluster(dir);
  const [a] = servers;
  const client = await dial(a.url);
  try {
    // A marker per server, so the test knows when the dialed server follows each member's feed.
    for (const s of servers) await client.walk(`${s.serverAnchor}/mark`).makeChan(0);
    const watch = collect(a.url, "/...");
    await eventually(
      "snapshot of the three markers",
      10_000,
      () =>
        servers.every((s) =>
          watch.events.some((e) => e.Event === "exists" && e.Path === `${s.serverAnchor}/mark`)
        ),
    );
    const exists = watch.events.filter((e) => e.Event === "exists" && e.Kind === "server").map((e) => e.Path);
    assertEquals(exists.sort(), servers.map((s) => s.serverAnchor).sort());

    for (const s of servers) {
      const chan = `${s.serverAnchor}/w/c`;
      const proc = `${s.serverAnchor}/w/p`;
      await client.walk(chan).makeChan(1);
      const p = await client.walk(proc).makeProc({ path: "/bin/sh", args: ["-c", "exit 3"] });
      assertEquals((await p.wait()).exit?.code, 3);
      await client.walk(proc).scrub();
      await client.walk(chan).scrub();
    }
    const expected = (s: TestServer) => [
      ["created", `${s.serverAnchor}/w/c`, "chan"],
      ["created", `${s.serverAnchor}/w/p`, "proc"],
      ["exited", `${s.serverAnchor}/w/p`, "proc"],
      ["scrubbed", `${s.serverAnchor}/w/p`, "proc"],
      ["scrubbed", `${s.serverAnchor}/w/c`, "chan"],
    ];
    const changesOf = (s: TestServer) =>
      watch.events.filter((e) => e.Event !== "exists" && e.Path.startsWith(`${s.serverAnchor}/`))
        .map((e) => [e.Event, e.Path, e.Kind]);
    await eventually("all fifteen changes", 10_000, () => servers.every((s) => changesOf(s).length >= 5));
    for (const s of servers) assertEquals(changesOf(s), expected(s));
    for (const e of watch.events) assert(!Number.isNaN(Date.parse(e.Time)), e.Time);

    // A member killed outright: the dialed server's view says so, once.
    const victim = servers[2];
    await victim.stop("SIGKILL");
    await eventually(
      "the killed member left",
      30_000,
      () => watch.events.some((e) => e.Event === "left" && e.Path === victim.serverAnchor),
    );
    assertEquals(watch.events.filter((e) => e.Event === "left").map((e) => e.Path), [victim.serverAnchor]);
    const suspectAt = watch.events.findIndex((e) => e.Event === "suspect" && e.Path === victim.serverAnchor);
    const leftAt = watch.events.findIndex((e) => e.Event === "left");
    assert(suspectAt === -1 || suspectAt < leftAt, "suspect comes before left");
    await watch.stop();
  } finally {
    await client.close();
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("watch of one server's subtree through another server shows only that subtree, no membership", async () => {
  const dir = await Deno.makeTempDir();
  const servers = await cluster(dir);
  const [a, b] = servers;
  const client = await dial(a.url);
  try {
    await client.walk(`${b.serverAnchor}/jobs/old`).makeChan(0);
    await client.walk(`${b.serverAnchor}/other`).makeChan(0);
    const watch = collect(a.url, `${b.serverAnchor}/jobs/...`);
    await eventually("the snapshot", 10_000, () => watch.events.length >= 1);
    await client.walk(`${b.serverAnchor}/jobs/new`).makeChan(0);
    await client.walk(`${b.serverAnchor}/other2`).makeChan(0);
    await client.walk(`${a.serverAnchor}/jobs/x`).makeChan(0);
    await eventually("the new channel", 10_000, () => watch.events.some((e) => e.Event === "created"));
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(watch.events.map((e) => [e.Event, e.Path]), [
      ["exists", `${b.serverAnchor}/jobs/old`],
      ["created", `${b.serverAnchor}/jobs/new`],
    ]);
    await watch.stop();
  } finally {
    await client.close();
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("circuit watch prints the snapshot as lines and --json as objects; a bad path is one error line", async () => {
  const dir = await Deno.makeTempDir();
  const a = await TestServer.start(dir);
  try {
    const client = await dial(a.url);
    await client.walk(`${a.serverAnchor}/q`).makeChan(2);
    await client.close();
    for (const json of [false, true]) {
      const child = new Deno.Command("deno", {
        args: [
          "run",
          "--allow-net",
          "--allow-read",
          "--allow-env",
          "cli.ts",
          "watch",
          ...(json ? ["--json"] : []),
          "-d",
          a.url,
          "/...",
        ],
        stdout: "piped",
        stderr: "null",
        env: { NO_COLOR: "1" },
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes(`${a.serverAnchor}/q`)) text += (await reader.read()).value ?? "";
      child.kill("SIGINT");
      await reader.cancel();
      await child.status;
      const line = text.split("\n").find((l) => l.includes(`${a.serverAnchor}/q`))!;
      if (json) {
        const ev = JSON.parse(line);
        assertEquals([ev.Event, ev.Path, ev.Kind], ["exists", `${a.serverAnchor}/q`, "chan"]);
      } else {
        assert(/^\d{4}-\d\d-\d\dT\S+Z exists chan \/X[0-9a-f]{16}\/q$/.test(line), line);
      }
    }
    const bad = await circuit(["watch", "-d", a.url, "/Xffffffffffffffff/..."]);
    assertEquals(bad.code, 1);
    assertEquals(bad.stderr.trim(), "circuit: watch: unknown server Xffffffffffffffff");
  } finally {
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a watcher that never reads holds at most 10,000 events on the server, then gets overflow and a snapshot", async () => {
  const dir = await Deno.makeTempDir();
  const a = await TestServer.start(dir);
  const client = await dial(a.url);
  try {
    const held = async () => {
      const stk = await circuit(["stk", "-d", a.url, a.serverAnchor]);
      return Number(/watchers \d+ holding (\d+) events/.exec(stk.stdout)![1]);
    };
    // Opened and never pulled: no credit comes back after the first window.
    const conn = await connect(a.url);
    const { stream } = conn.openOutput("watch", { Path: "/..." });
    await eventually(
      "the watcher is open",
      5_000,
      async () => /watchers 1 /.test((await circuit(["stk", "-d", a.url, a.serverAnchor])).stdout),
    );
    let maxHeld = 0;
    // 40,000 events of ~110 bytes: four times the queue bound beyond the wire's 1 MiB window.
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) => client.walk(`${a.serverAnchor}/n/${i}`).makeChan(0)),
      );
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) => client.walk(`${a.serverAnchor}/n/${i}`).scrub()),
      );
      maxHeld = Math.max(maxHeld, await held());
    }
    assert(maxHeld <= 10_000, `held ${maxHeld}`);
    assert(maxHeld > 0, "the watcher did fall behind");
    await client.walk(`${a.serverAnchor}/after`).makeChan(0);
    // Reading now: the window's events, then one overflow and a snapshot that has the last channel.
    const lines: WatchEvent[] = [];
    let rest = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + text).split("\n");
      rest = parts.pop()!;
      lines.push(...parts.filter((l) => l).map((l) => JSON.parse(l)));
      if (lines.some((e) => e.Event === "exists" && e.Path === `${a.serverAnchor}/after`)) break;
    }
    assertEquals(lines.filter((e) => e.Event === "overflow").length, 1);
    const at = lines.findIndex((e) => e.Event === "overflow");
    assert(lines.slice(at + 1).every((e) => e.Event === "exists"), "a snapshot follows the overflow");
    conn.close();
  } finally {
    await client.close();
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a watcher sends a burst of events spread over a few milliseconds as one chunk, in order", async () => {
  const w = new Watcher({ snapshot: () => [], accept: () => true });
  const first = w.read(65536);
  for (let i = 0; i < 3; i++) {
    w.push(watchEvent("created", `/X0123456789abcdef/job${i}`, "proc"));
    await new Promise((r) => setTimeout(r, 2));
  }
  const lines = new TextDecoder().decode((await first)!).trim().split("\n");
  assertEquals(
    lines.map((l) => (JSON.parse(l) as WatchEvent).Path),
    [0, 1, 2].map((i) => `/X0123456789abcdef/job${i}`),
  );
  w.release();
  assertEquals(await w.read(65536), null);
});
