/**
 * The single-file program: `deno bundle cli.ts` yields one file that, run with plain `deno run`
 * and the server's permission list from an empty directory with an empty Deno cache, serves and
 * drives a cluster — so it needs nothing beside itself.
 *
 * @module
 */
import assert from "node:assert/strict";
import { eventually, PERMISSIONS, QUIET_ENV } from "./_harness.ts";

const _root = new URL("..", import.meta.url).pathname;

/** A CLI command that wrongly blocks fails the test after this long instead of hanging it. */
const RUN_TIMEOUT_MS = 30_000;

interface Bundle {
  file: string;
  env: Record<string, string>;
  cwd: string;
}

/** Runs `deno run <permissions> <bundle> <args>` to completion. */
async function run(b: Bundle, args: string[], stdin?: string) {
  const child = new Deno.Command("deno", {
    args: ["run", "--no-config", "--cached-only", ...PERMISSIONS, b.file, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: b.env,
    clearEnv: true,
    cwd: b.cwd,
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output().finally(() => clearTimeout(timer));
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Starts a server from the bundle and returns it with its URL (its only stdout line). */
async function start(b: Bundle, varDir: string): Promise<{ child: Deno.ChildProcess; url: string }> {
  const child = new Deno.Command("deno", {
    args: ["run", "--no-config", "--cached-only", ...PERMISSIONS, b.file, "start", "-a", "127.0.0.1:0"]
      .concat(["-var", varDir]),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    env: b.env,
    clearEnv: true,
    cwd: b.cwd,
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  // The URL is the only line a server ever prints (SPEC §3.3).
  await reader.cancel();
  return { child, url: text.trim() };
}

Deno.test("the bundled cli.ts runs a two-server cluster and a process with nothing but itself", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-bundle-" });
  const servers: Deno.ChildProcess[] = [];
  try {
    const b: Bundle = {
      file: `${dir}/circuit.js`,
      cwd: dir,
      // An empty cache: a module the bundle failed to inline could not be found.
      env: { ...QUIET_ENV, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DENO_DIR: `${dir}/deno-dir` },
    };
    await Deno.mkdir(b.env.DENO_DIR);

    await t.step("deno bundle writes one file", async () => {
      const r = await new Deno.Command("deno", {
        args: ["bundle", `${_root}cli.ts`, "-o", b.file],
        stdout: "piped",
        stderr: "piped",
        env: QUIET_ENV,
      }).output();
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
      assert.ok((await Deno.stat(b.file)).isFile);
    });

    const a = await start(b, `${dir}/var-a`);
    servers.push(a.child);
    const s = await start(b, `${dir}/var-b`);
    servers.push(s.child);
    const A = a.url, B = s.url;

    let XB = "";
    await t.step("both servers print their URL; each sees only itself", async () => {
      assert.match(A, /^circuit:\/\/127\.0\.0\.1:\d+\/\d+\/Q[0-9a-f]{16}$/);
      assert.match(B, /^circuit:\/\/127\.0\.0\.1:\d+\/\d+\/Q[0-9a-f]{16}$/);
      const ls = await run(b, ["ls", "-d", B, "/"]);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /^\/X[0-9a-f]{16}\n$/);
      XB = ls.stdout.trim();
    });

    await t.step("join merges the two clusters", async () => {
      const r = await run(b, ["join", "-d", B, XB, A]);
      assert.equal(r.code, 0, r.stderr);
      await eventually("A's view holds both servers", 5_000, async () => {
        const ls = await run(b, ["ls", "-d", A, "/"]);
        return ls.stdout.trim().split("\n").length === 2 && ls.stdout.includes(XB);
      });
    });

    await t.step("mkproc on B through A, then stdout and wait", async () => {
      const cmd = JSON.stringify({ Path: "/bin/sh", Args: ["-c", "echo hello from the bundle; exit 3"] });
      const mk = await run(b, ["mkproc", "-d", A, `${XB}/job`], cmd);
      assert.equal(mk.code, 0, mk.stderr);
      const out = await run(b, ["stdout", "-d", A, `${XB}/job`]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, "hello from the bundle\n");
      const wait = await run(b, ["wait", "-d", A, `${XB}/job`]);
      assert.equal(wait.code, 0, wait.stderr);
      const stat = JSON.parse(wait.stdout);
      assert.equal(stat.Phase, "exited");
      assert.deepEqual(stat.Exit, { Body: "exit status 3", Code: 3, Signal: null });
    });

    await t.step("the servers shut down cleanly on SIGTERM", async () => {
      while (servers.length > 0) {
        servers[0].kill("SIGTERM");
        const status = await servers[0].status;
        servers.shift();
        assert.equal(status.code, 0);
      }
    });
  } finally {
    for (const child of servers) {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited already
      }
      await child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});
