/**
 * The programs in examples/, run as users run them (`deno run --allow-net`, dial URL from
 * `CIRCUIT_URL` or argv) against real clusters of three or four servers.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Client, dial } from "../mod.ts";
import { alive, eventually, follow, QUIET_ENV, type RunResult, TestServer } from "./_harness.ts";

const _root = new URL("..", import.meta.url).pathname;

/** An example that wrongly blocks fails its test after this long instead of hanging it. */
const EXAMPLE_TIMEOUT_MS = 60_000;

/** Spawns `deno run --allow-net --allow-env=CIRCUIT_URL examples/<name> <args>`. */
function spawnExample(name: string, args: string[], url?: string): Deno.ChildProcess {
  return new Deno.Command("deno", {
    args: ["run", "--allow-net", "--allow-env=CIRCUIT_URL", `examples/${name}`, ...args],
    cwd: _root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { ...QUIET_ENV, ...(url ? { CIRCUIT_URL: url } : {}) },
  }).spawn();
}

/** Runs an example to completion. */
async function runExample(name: string, args: string[], url?: string): Promise<RunResult> {
  const run = follow(spawnExample(name, args, url));
  const timer = setTimeout(() => run.kill(), EXAMPLE_TIMEOUT_MS);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}

/** A cluster: the first server, the others joined to it, all in the first's view; and a client of it. */
async function withCluster(
  n: number,
  fn: (servers: TestServer[], client: Client, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-examples-" });
  const servers: TestServer[] = [];
  let client: Client | null = null;
  try {
    servers.push(await TestServer.start(dir));
    for (let i = 1; i < n; i++) servers.push(await TestServer.start(dir, ["-j", servers[0].url]));
    const c = client = await dial(servers[0].url);
    await eventually(`${n} servers in the first one's view`, 5_000, async () => (await c.view()).size === n);
    await fn(servers, c, dir);
  } finally {
    await client?.close();
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The server IDs (`X…`) of the servers. */
function ids(servers: TestServer[]): string[] {
  return servers.map((s) => s.serverAnchor.slice(1));
}

/** Asserts that no anchor is left under `/<X>/<branch>` on any server. */
async function assertNothingLeft(client: Client, servers: TestServer[], branch: string): Promise<void> {
  for (const x of ids(servers)) {
    assert.deepEqual([...(await client.walk([x, branch]).view()).keys()], [], `/${x}/${branch} is not empty`);
  }
}

Deno.test("shell_job runs a shell command on the chosen host and relays its output and exit code", async (t) => {
  await withCluster(3, async (servers, client) => {
    const XB = ids(servers)[1];

    await t.step("on a named host, dialing from CIRCUIT_URL", async () => {
      const script = 'echo "on $0"; echo oops >&2; exit 4';
      const r = await runExample("shell_job.ts", [XB, script], servers[0].url);
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.stdout, "on /bin/sh\n");
      assert.match(r.stderr, new RegExp(`^oops\\n/${XB}/jobs/shell-[0-9a-f]{8}: exit status 4\\n$`));
    });

    await t.step("on any host, dialing the URL given as the first argument", async () => {
      const r = await runExample("shell_job.ts", [servers[2].url, "any", "echo hello"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "hello\n");
      const host = r.stderr.match(/^\/(X[0-9a-f]{16})\/jobs\/shell-[0-9a-f]{8}: exit status 0\n$/)?.[1];
      assert.ok(host && ids(servers).includes(host), r.stderr);
    });

    await t.step("the jobs scrub themselves on exit", async () => {
      await assertNothingLeft(client, servers, "jobs");
    });

    await t.step("without a URL it prints its usage and exits 2", async () => {
      const r = await runExample("shell_job.ts", [XB, "true"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^usage: shell_job\.ts/);
    });
  });
});

Deno.test("wait_first_all reports the shortest of five jobs first, then all five", async () => {
  await withCluster(3, async (servers, client) => {
    const r = await runExample("wait_first_all.ts", [], servers[0].url);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 6, r.stdout);
    const hosts = ids(servers).join("|");
    assert.match(lines[0], new RegExp(`^first: job 1 on (${hosts})$`));
    const slept = [1.6, 0.2, 2.2, 1.0, 1.3];
    for (const [i, line] of lines.slice(1).entries()) {
      assert.match(
        line,
        new RegExp(`^done: job ${i} on (${hosts}): job ${i} slept ${slept[i]}s \\(exit status 0\\)$`),
      );
    }
    await assertNothingLeft(client, servers, "jobs");
  });
});

Deno.test("watchbot restarts its dying payload on another host each time, reporting through a capacity-1 channel", async () => {
  await withCluster(3, async (servers, client) => {
    const r = await runExample("watchbot.ts", ["--restarts", "3"], servers[0].url);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.at(-1), "watchbot: 3 restarts; status channel sent 8, received 8");
    const status = lines.slice(0, -1);
    assert.equal(status.length, 8, r.stdout);
    const hosts: string[] = [];
    for (let n = 0; n < 4; n++) {
      const started = status[2 * n].match(new RegExp(`^status: payload ${n} started on (X[0-9a-f]{16})$`));
      assert.ok(started, status[2 * n]);
      assert.equal(status[2 * n + 1], `status: payload ${n} died on ${started[1]}: exit status 1`);
      hosts.push(started[1]);
    }
    for (const h of hosts) assert.ok(ids(servers).includes(h), `${h} is not a member`);
    for (let n = 1; n < hosts.length; n++) {
      assert.notEqual(hosts[n], hosts[n - 1], "restarted on the same host");
    }
    await assertNothingLeft(client, servers, "watchbot");
  });
});

Deno.test("membership prints the current members, then a server joining and leaving, and stops after --events", async () => {
  await withCluster(3, async (servers, client, dir) => {
    const watcher = follow(spawnExample("membership.ts", [servers[0].url, "--events", "5"]));
    const timer = setTimeout(() => watcher.kill(), EXAMPLE_TIMEOUT_MS);
    let d: TestServer | null = null;
    try {
      const initial = [...ids(servers)].sort().map((x) => `join /${x}`);
      await eventually("the three members printed", 10_000, () => watcher.stdout.split("\n").length === 4);
      assert.deepEqual(watcher.stdout.trim().split("\n"), initial);

      d = await TestServer.start(dir, ["-j", servers[0].url]);
      await eventually("D's join printed", 5_000, () => watcher.stdout.includes(`join ${d!.serverAnchor}\n`));
      assert.equal((await d.stop("SIGTERM")).code, 0);
      d = null;

      const r = await watcher.done;
      assert.equal(r.code, 0, r.stderr);
      const last = r.stdout.trim().split("\n").slice(3);
      assert.equal(last.length, 2, r.stdout);
      assert.match(last[0], /^join \/X[0-9a-f]{16}$/);
      assert.equal(last[1], `leave ${last[0].slice("join ".length)}`);
      await assertNothingLeft(client, servers, "membership");
    } finally {
      clearTimeout(timer);
      watcher.kill();
      await watcher.done;
      await d?.stop();
    }
  });
});

/** A `ts` code block of a Markdown file and the `text` block after it, if any: what it prints. */
interface Snippet {
  file: string;
  line: number;
  code: string;
  output: string | null;
}

/** The runnable blocks of a Markdown file: ```` ```ts ```` exactly (```` ```ts ignore ```` is not run). */
function snippets(file: string): Snippet[] {
  const text = Deno.readTextFileSync(`${_root}${file}`);
  const blocks = [...text.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)];
  const out: Snippet[] = [];
  for (const [i, block] of blocks.entries()) {
    if (block[1] !== "ts") continue;
    const next = blocks[i + 1];
    const between = next ? text.slice(block.index! + block[0].length, next.index) : "";
    const output = next?.[1] === "text" && between.trim() === "" ? next[2] : null;
    out.push({ file, line: text.slice(0, block.index).split("\n").length, code: block[2], output });
  }
  return out;
}

/** `text` as a pattern: `X…` stands for any server ID. */
function outputPattern(text: string): RegExp {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("X…", "X[0-9a-f]{16}");
  return new RegExp(`^${escaped}$`);
}

Deno.test("every ts block of the README and the library guide runs and prints what the guide shows", async (t) => {
  await withCluster(3, async (servers, client, dir) => {
    const all = [...snippets("README.md"), ...snippets("docs/LIBRARY.md")];
    assert.ok(all.length >= 8, `only ${all.length} runnable blocks found`);
    for (const s of all) {
      await t.step(`${s.file}:${s.line}`, async () => {
        const file = `${dir}/snippet.ts`;
        await Deno.writeTextFile(file, s.code);
        const run = follow(
          new Deno.Command("deno", {
            args: ["run", "--config", `${_root}deno.json`, "--allow-net", "--allow-env=CIRCUIT_URL", file],
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
            env: { ...QUIET_ENV, CIRCUIT_URL: servers[0].url },
          }).spawn(),
        );
        const timer = setTimeout(() => run.kill(), EXAMPLE_TIMEOUT_MS);
        const r = await run.done.finally(() => clearTimeout(timer));
        assert.equal(r.code, 0, r.stderr);
        if (s.output !== null) assert.match(r.stdout, outputPattern(s.output));
      });
    }
    for (const branch of ["guide", "jobs"]) await assertNothingLeft(client, servers, branch);
  });
});

Deno.test("the README's CLI tour runs as written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-tour-" });
  try {
    const readme = Deno.readTextFileSync(`${_root}README.md`);
    const section = readme.slice(readme.indexOf("## A five-minute tour"), readme.indexOf("## The library"));
    const tour = [...section.matchAll(/```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]).join("\n");
    // The tour's files go to a private directory; `wait` returns once both servers have exited.
    const script = `shopt -s expand_aliases\n${tour.replaceAll("/tmp/", `${dir}/`)}\nwait\necho tour done\n`;
    const run = follow(
      new Deno.Command("bash", {
        args: ["-c", script],
        cwd: _root,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: QUIET_ENV,
      }).spawn(),
    );
    const timer = setTimeout(() => run.kill(), EXAMPLE_TIMEOUT_MS);
    const r = await run.done.finally(() => clearTimeout(timer));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const lines = r.stdout.split("\n");
    assert.equal(lines.filter((l) => /^server {10}\/X[0-9a-f]{16}$/.test(l)).length, 4, r.stdout);
    assert.ok(lines.some((l) => /^hello from \d+$/.test(l)), r.stdout);
    assert.ok(lines.includes(`hello from ${Deno.hostname()}`) && lines.includes("exit 3"), r.stdout);
    assert.ok(lines.includes("11"), r.stdout);
    assert.ok(r.stdout.includes('"Body": "exit status 3"'), r.stdout);
    assert.ok(lines.includes("job1"), r.stdout);
    assert.ok(r.stdout.includes('"NumRecv": 1'), r.stdout);
    assert.ok(lines.some((l) => /^chan {12}\/X[0-9a-f]{16}\/queue$/.test(l)), r.stdout);
    assert.equal(lines.at(-2), "tour done");
  } finally {
    // A tour killed half-way leaves its background servers behind: their URLs name their PIDs.
    for (const name of ["a.url", "b.url"]) {
      const pid = Number((await Deno.readTextFile(`${dir}/${name}`).catch(() => "")).trim().split("/")[3]);
      if (pid > 0 && alive(pid)) Deno.kill(pid, "SIGKILL");
    }
    await Deno.remove(dir, { recursive: true });
  }
});
