/**
 * `tail` (SPEC §13.2): the ring of a stream's last output, read without taking anything from the
 * single `stdout` reader, on real servers and real processes.
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { dial } from "../mod.ts";
import { circuit, eventually, TestServer } from "./_harness.ts";

const LINES = 40;

Deno.test("tail -f shows each line within 100 ms while a concurrent stdout reader receives every byte exactly once", async () => {
  const dir = await Deno.makeTempDir();
  const a = await TestServer.start(dir);
  const b = await TestServer.start(dir, ["-j", a.url]);
  const client = await dial(a.url);
  await eventually("b in a's view", 10_000, async () => (await client.view()).size === 2);
  try {
    // On the other server, so tail and stdout both cross forwarding. Each line carries its birth time.
    const path = `${b.serverAnchor}/ticker`;
    const script =
      `sleep 1; i=1; while [ $i -le ${LINES} ]; do echo "$i $(date +%s%3N)"; i=$((i+1)); sleep 0.05; done`;
    const proc = await client.walk(path).makeProc({ path: "/bin/sh", args: ["-c", script] });
    const stdout = new Response(proc.stdout).text();
    const tail = new Deno.Command("deno", {
      args: ["run", "--allow-net", "--allow-read", "--allow-env", "cli.ts", "tail", "-f", "-d", a.url, path],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const delays: number[] = [];
    const seen: number[] = [];
    let rest = "";
    for await (const text of tail.stdout.pipeThrough(new TextDecoderStream())) {
      const now = Date.now();
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const [n, born] = line.split(" ").map(Number);
        seen.push(n);
        delays.push(now - born);
      }
    }
    const status = await tail.status;
    assertEquals(status.code, 0, "tail -f ends with the process, exit 0");
    assertEquals(seen, Array.from({ length: LINES }, (_, i) => i + 1));
    delays.sort((x, y) => x - y);
    const median = delays[Math.floor(delays.length / 2)];
    console.log(`tail -f delay: median ${median} ms, max ${delays.at(-1)} ms`);
    assert(median < 100, `median ${median} ms`);
    assert(
      delays[Math.floor(delays.length * 0.9)] < 100,
      `p90 ${delays[Math.floor(delays.length * 0.9)]} ms`,
    );
    const out = (await stdout).trimEnd().split("\n").map((l) => Number(l.split(" ")[0]));
    assertEquals(out, Array.from({ length: LINES }, (_, i) => i + 1), "stdout got every line exactly once");
  } finally {
    await client.close();
    await b.stop();
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tail -n prints the last bytes held and consumes nothing; the ring keeps the last 256 KiB", async () => {
  const dir = await Deno.makeTempDir();
  const a = await TestServer.start(dir);
  const client = await dial(a.url);
  try {
    const path = `${a.serverAnchor}/seq`;
    const proc = await client.walk(path).makeProc({ path: "/usr/bin/seq", args: ["1", "100000"] });
    await proc.wait();
    const full = new TextEncoder().encode(Array.from({ length: 100000 }, (_, i) => `${i + 1}\n`).join(""));
    const last = await circuit(["tail", "-n", "13", "-d", a.url, path]);
    assertEquals(last.code, 0, last.stderr);
    assertEquals(last.stdout, "99999\n100000\n");
    const def = await circuit(["tail", "-d", a.url, path]);
    assertEquals(def.stdout.length, 64 * 1024, "default: the last 64 KiB");
    const all = await new Response(proc.tail({ bytes: 10 << 20 })).bytes();
    assertEquals(all.length, 256 * 1024);
    assertEquals(all, full.subarray(full.length - 256 * 1024));
    const stderr = await circuit(["tail", "-stderr", "-d", a.url, path]);
    assertEquals([stderr.code, stderr.stdout], [0, ""]);
    // Nothing was taken: the single reader still gets all of it.
    assertEquals(await new Response(proc.stdout).bytes(), full);
    const notProc = await circuit(["tail", "-d", a.url, `${a.serverAnchor}/nothing`]);
    assertEquals([notProc.code, notProc.stderr.trim()], [1, "circuit: tail: not a process or a container"]);
  } finally {
    await client.close();
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("start -tail 0 turns tail off: tail fails with one line and the server keeps serving", async () => {
  const dir = await Deno.makeTempDir();
  const a = await TestServer.start(dir, ["-tail", "0"]);
  const client = await dial(a.url);
  try {
    const path = `${a.serverAnchor}/echo`;
    const proc = await client.walk(path).makeProc({ path: "/bin/echo", args: ["hi"] });
    await proc.wait();
    const r = await circuit(["tail", "-d", a.url, path]);
    assertEquals([r.code, r.stderr.trim()], [1, "circuit: tail: tail is off on this server"]);
    assertEquals(await new Response(proc.stdout).text(), "hi\n");
    const bad = await circuit(["start", "-tail", "lots"]);
    assertEquals(bad.code, 2);
    assert(bad.stderr.includes("invalid -tail lots"), bad.stderr);
  } finally {
    await client.close();
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
