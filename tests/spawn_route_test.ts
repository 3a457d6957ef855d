/**
 * The posix_spawn route (server/spawn/posix_spawn.ts, one exec per process) keeps what SPEC §7.2
 * asks of a process, and a server without `--allow-ffi` falls back to setsid(1).
 *
 * @module
 */
import assert from "node:assert/strict";
import { dial } from "../mod.ts";
import { execReason } from "../server/spawn/child.ts";
import { openLibc } from "../server/spawn/libc.ts";
import { PosixSpawn } from "../server/spawn/posix_spawn.ts";
import { PERMISSIONS, TestServer } from "./_harness.ts";
import type { Child } from "../server/spawn/child.ts";
import type { Cmd } from "../wire/cmd.ts";

const route = Deno.build.os === "linux" ? new PosixSpawn(openLibc()) : null;
const linuxOnly = { ignore: route === null, sanitizeOps: true, sanitizeResources: true };

function cmd(path: string, args: string[], more: Partial<Cmd> = {}): Cmd {
  return { Path: path, Args: args, Env: null, Dir: "", Scrub: false, ...more };
}

async function run(child: Child): Promise<{ out: string; err: string; status: Deno.CommandStatus }> {
  await child.stdin.close();
  const [out, err, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  return { out, err, status };
}

Deno.test(
  "posix_spawn: the program leads its own session and group, SIGPIPE default, none blocked",
  linuxOnly,
  async () => {
    const child = route!.spawn(
      cmd("/bin/sh", ["-c", "cut -d' ' -f5,6 /proc/$$/stat; exec grep -E '^Sig(Blk|Ign)' /proc/self/status"]),
    );
    const { out, status } = await run(child);
    assert.equal(status.code, 0);
    const [ids, blk, ign] = out.trim().split("\n");
    assert.equal(ids, `${child.pid} ${child.pid}`);
    assert.match(blk, /^SigBlk:\s+0+$/);
    // What is ignored is what a Deno.Command child inherits too (the runtime's own SIGPIPE is not).
    const plain = await new Deno.Command("/bin/sh", { args: ["-c", "exec grep '^SigIgn' /proc/self/status"] })
      .output();
    assert.equal(ign, new TextDecoder().decode(plain.stdout).trim());
    const sigpipe = 1n << 12n;
    assert.equal(BigInt(`0x${ign.split(/\s+/)[1]}`) & sigpipe, 0n);
  },
);

Deno.test(
  "posix_spawn: exit status and signal are reported, and the child is reaped",
  linuxOnly,
  async () => {
    const exited = route!.spawn(cmd("/bin/sh", ["-c", "exit 7"]));
    assert.deepEqual((await run(exited)).status, { success: false, code: 7, signal: null });
    const killed = route!.spawn(cmd("/bin/sh", ["-c", "kill -TERM $$"]));
    assert.deepEqual((await run(killed)).status, { success: false, code: 143, signal: "SIGTERM" });
    for (const pid of [exited.pid, killed.pid]) assert.throws(() => Deno.statSync(`/proc/${pid}`));
  },
);

Deno.test("posix_spawn: Env, Dir and a path relative to Dir", linuxOnly, async () => {
  assert.equal((await run(route!.spawn(cmd("/usr/bin/env", [], { Env: [] })))).out, "");
  const env = await run(route!.spawn(cmd("/usr/bin/env", [], { Env: ["A=1", "B=2", "A=3"] })));
  assert.deepEqual(env.out.trim().split("\n").sort(), ["A=3", "B=2"]);
  assert.equal((await run(route!.spawn(cmd("/bin/pwd", [], { Dir: "/tmp" })))).out, "/tmp\n");
  assert.equal((await run(route!.spawn(cmd("pwd", [], { Dir: "/usr/bin" })))).out, "/usr/bin\n");
  const inherited = await run(route!.spawn(cmd("/bin/sh", ["-c", 'echo "$HOME"'])));
  assert.equal(inherited.out, `${Deno.env.get("HOME") ?? ""}\n`);
});

Deno.test(
  "posix_spawn: a program that cannot start throws what exec said, as Deno.Command does",
  linuxOnly,
  () => {
    const reason = (c: Cmd) => {
      try {
        route!.spawn(c);
      } catch (err) {
        return execReason(err, c.Dir);
      }
      throw new Error("spawned");
    };
    assert.equal(reason(cmd("/no/such", [])), "no such file or directory");
    const plain = Deno.makeTempFileSync();
    Deno.chmodSync(plain, 0o644);
    assert.equal(reason(cmd(plain, [])), "permission denied");
    Deno.removeSync(plain);
    assert.equal(
      reason(cmd("/bin/true", [], { Dir: "/no/dir" })),
      "chdir /no/dir: no such file or directory",
    );
  },
);

Deno.test(
  "posix_spawn: stdin reaches the program and stdout carries it back, byte for byte",
  linuxOnly,
  async () => {
    const child = route!.spawn(cmd("/bin/cat", []));
    const data = crypto.getRandomValues(new Uint8Array(60_000));
    const big = new Uint8Array(1 << 20).map((_, i) => data[i % data.length]);
    const writing = (async () => {
      const writer = child.stdin.getWriter();
      await writer.write(big);
      await writer.close();
    })();
    const [out] = await Promise.all([new Response(child.stdout).bytes(), writing, child.stderr.cancel()]);
    assert.deepEqual(out, big);
    assert.equal((await child.status).code, 0);
  },
);

Deno.test("posix_spawn: 64 idle processes' pipes leave the server's file I/O free", linuxOnly, async () => {
  const children = Array.from({ length: 64 }, () => route!.spawn(cmd("/bin/sleep", ["30"])));
  const reads = children.flatMap((c) => [new Response(c.stdout).text(), new Response(c.stderr).text()]);
  try {
    const t0 = performance.now();
    await Deno.readTextFile("/proc/self/status");
    // A file read takes well under a millisecond; stalled behind blocked threads it never ends.
    assert.ok(performance.now() - t0 < 2000, "a file read waited for the pipes");
  } finally {
    for (const c of children) Deno.kill(-c.pid, "SIGKILL");
    await Promise.all([...reads, ...children.map((c) => c.status), ...children.map((c) => c.stdin.abort())]);
  }
});

Deno.test("a server without --allow-ffi starts processes through setsid(1), saying so in one log line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-spawn-" });
  const server = await TestServer.start(dir, [], {}, PERMISSIONS.filter((p) => p !== "--allow-ffi"));
  try {
    await using client = await dial(server.url);
    for (const name of ["p1", "p2"]) {
      const proc = await client.walk(`${server.serverAnchor}/${name}`).makeProc({
        path: "/bin/sh",
        args: ["-c", "cut -d' ' -f1,5 /proc/$$/stat"],
      });
      let out = "";
      for await (const chunk of proc.stdout) out += new TextDecoder().decode(chunk);
      const [pid, pgid] = out.trim().split(" ");
      assert.equal(pgid, pid);
      assert.equal((await proc.wait()).phase, "exited");
    }
    const lines = server.log().split("\n").filter((l) => l.includes("setsid(1)"));
    assert.equal(lines.length, 1, server.log());
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
