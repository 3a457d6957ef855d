/**
 * Authorization on real clusters (SPEC §10.5): real server processes with a different `-policy`
 * each, driven by the real CLI. Unkeyed servers make every client `anonymous`, so rules name it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../wire/dial.ts";
import { assertErr, circuit, clientOf, eventually, type RunResult, TestServer } from "./_harness.ts";

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
  return r;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "circuit-authz-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function writePolicy(path: string, policy: unknown): Promise<void> {
  await Deno.writeTextFile(path, typeof policy === "string" ? policy : JSON.stringify(policy, null, 1));
}

/** Sends SIGHUP and waits for the server to say it reloaded (or kept) its policy `times` times in all. */
async function hup(s: TestServer, times: number): Promise<void> {
  s.kill("SIGHUP");
  await eventually(`policy reload #${times}`, 10_000, () => {
    const n = s.log().split("\n").filter((l) => /Reloaded policy|keeping the previous policy/.test(l)).length;
    return n >= times;
  });
}

const mkproc = (s: TestServer, path: string, cmd: unknown) =>
  clientOf(s)("mkproc", [path], { stdin: JSON.stringify(cmd) + "\n" });

Deno.test("start -policy: a broken or missing file is one line with its line:column, exit 1", async () => {
  await withDir(async (dir) => {
    const bad = `${dir}/bad.json`;
    await writePolicy(bad, `{"rules": [\n  {"who": ["anonymous"], "allow": ["reed"]}]}`);
    for (
      const [file, cause] of [
        [
          bad,
          `policy ${bad}: unknown capability "reed" (known: read, proc, chan, subscribe, dns, docker, admin) at 2:36`,
        ],
        [`${dir}/none.json`, `policy ${dir}/none.json: no such file or directory`],
      ]
    ) {
      const err = await TestServer.start(dir, ["-policy", file]).then(() => "started", (e) => String(e));
      assert.match(err, /server did not start/);
      assert.ok(err.includes(`circuit: start: ${cause}\n`), err);
    }
  });
});

Deno.test("a viewer can ls and peek; every write fails with the §10.5 message and leaves only a deny record; SIGHUP with a broken file keeps the policy", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/policy.json`;
    await writePolicy(file, { rules: [{ who: ["anonymous"], allow: ["read", "proc", "chan"] }] });
    const s = await TestServer.start(dir, ["-policy", file]);
    const on = clientOf(s);
    const X = s.serverAnchor;
    try {
      ok(await on("mkchan", [`${X}/c`, "1"]), "mkchan while allowed");
      ok(await on("mkchan", [`${X}/gone`, "0"]), "mkchan to scrub");
      ok(await on("scrub", [`${X}/gone`]), "scrub while allowed");
      const scrubbed = (await s.opsLog()).find((r) => r.Op === "scrub");
      assert.equal(scrubbed?.Who, "anonymous", "a scrub is recorded with its caller");
      ok(await mkproc(s, `${X}/p`, { Path: "/bin/sleep", Args: ["100"] }), "mkproc while allowed");
      await writePolicy(file, { rules: [{ who: ["anonymous"], allow: ["read"] }] });
      await hup(s, 1);
      const before = (await s.opsLog()).length;

      assert.deepEqual(ok(await on("ls", ["/..."]), "ls").stdout.split("\n").filter((l) => l), [
        X,
        `${X}/c`,
        `${X}/p`,
      ]);
      assert.match(ok(await on("peek", [`${X}/c`]), "peek chan").stdout, /"Cap": 1/);
      assert.match(ok(await on("peek", [`${X}/p`]), "peek proc").stdout, /"Phase": "running"/);

      const denied = (cap: string, path: string) => `permission denied: anonymous may not ${cap} ${path}`;
      const writes: [string[], string, string, string?][] = [
        [["mkchan", `${X}/d`, "0"], "chan", `${X}/d`],
        [["send", `${X}/c`], "chan", `${X}/c`, "hello"],
        [["recv", `${X}/c`], "chan", `${X}/c`],
        [["close", `${X}/c`], "chan", `${X}/c`],
        [["scrub", `${X}/c`], "chan", `${X}/c`],
        [["signal", "TERM", `${X}/p`], "proc", `${X}/p`],
        [["stdin", `${X}/p`], "proc", `${X}/p`, "input"],
        [["stdout", `${X}/p`], "proc", `${X}/p`],
        [["stderr", `${X}/p`], "proc", `${X}/p`],
        [["wait", `${X}/p`], "proc", `${X}/p`],
        [["scrub", `${X}/p`], "proc", `${X}/p`],
        [["mk@join", `${X}/j`], "subscribe", `${X}/j`],
        [["mkdns", `${X}/n`, "127.0.0.1:0"], "dns", `${X}/n`],
        [["mkdkr", `${X}/k`], "docker", `${X}/k`, '{"Image": "alpine", "Args": ["true"]}'],
        [["stk", X], "admin", X],
        [["suicide", X], "admin", X],
        [["join", X, s.url], "admin", X],
      ];
      const results = await Promise.all(
        writes.map(([args, , , stdin]) => on(args[0], args.slice(1), stdin ? { stdin } : {})),
      );
      results.forEach((r, i) => assertErr(r, denied(writes[i][1], writes[i][2])));
      assertErr(await mkproc(s, `${X}/q`, { Path: "/bin/true" }), denied("proc", `${X}/q`));

      // Nothing happened: the process runs, the channel is there, the log holds only the denials.
      assert.match(ok(await on("peek", [`${X}/p`]), "peek proc after").stdout, /"Phase": "running"/);
      assert.match(ok(await on("peek", [`${X}/c`]), "peek chan after").stdout, /"Closed": false/);
      const after = (await s.opsLog()).slice(before);
      assert.equal(after.length, writes.length + 1);
      for (const rec of after) {
        assert.deepEqual(Object.keys(rec).slice(0, 3), ["Time", "Op", "Who"]);
        assert.equal(rec.Op, "deny");
        assert.equal(rec.Who, "anonymous");
      }
      assert.deepEqual(
        after.map((r) => `${r.Capability} ${r.Path}`).sort(),
        [...writes.map((w) => `${w[1]} ${w[2]}`), `proc ${X}/q`].sort(),
      );
      assert.ok(s.log().includes(denied("chan", `${X}/d`)), "the server logs denials");

      // A broken file at SIGHUP: the old policy stays, and the log says why.
      await writePolicy(file, `{"rules": [{"who": ["anonymous"], "allow": ["read", "chan"]},]}`);
      await hup(s, 2);
      assert.match(
        s.log(),
        new RegExp(`policy ${file}: unexpected character "\\]" at 1:62; keeping the previous policy`),
      );
      assertErr(await on("mkchan", [`${X}/d`, "0"]), denied("chan", `${X}/d`));
      ok(await on("peek", [`${X}/c`]), "still a viewer");
      // A good file again takes effect.
      await writePolicy(file, { rules: [{ who: ["anonymous"], allow: ["read", "chan"] }] });
      await hup(s, 3);
      ok(await on("mkchan", [`${X}/d`, "0"]), "mkchan allowed again");
    } finally {
      await s.stop();
    }
  });
});

Deno.test("an operator limited to one directory of programs cannot start /bin/sh, nor through a symlink, a relative Path or a bare name; nor work elsewhere", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/allowed`);
    await Deno.mkdir(`${dir}/work`);
    await Deno.copyFile("/bin/true", `${dir}/allowed/true`);
    await Deno.chmod(`${dir}/allowed/true`, 0o755);
    await Deno.symlink("/bin/sh", `${dir}/allowed/sh`);
    const file = `${dir}/policy.json`;
    await writePolicy(file, {
      rules: [{
        who: ["anonymous"],
        allow: ["read", "proc"],
        exec: [`${dir}/allowed/*`],
        dirs: [`${dir}/work/...`],
      }],
    });
    const s = await TestServer.start(dir, ["-policy", file]);
    const X = s.serverAnchor;
    const sh = await Deno.realPath("/bin/sh");
    const denied = (path: string, what: string) =>
      `permission denied: anonymous may not proc ${X}/${path} (${what})`;
    try {
      ok(await mkproc(s, `${X}/ok`, { Path: `${dir}/allowed/true`, Dir: `${dir}/work` }), "allowed program");
      ok(await mkproc(s, `${X}/rel`, { Path: "../allowed/true", Dir: `${dir}/work` }), "relative to Dir");
      const attempts: [string, unknown, string][] = [
        ["a", { Path: "/bin/sh", Args: ["-c", "touch pwned"], Dir: `${dir}/work` }, sh],
        ["b", { Path: `${dir}/allowed/sh`, Args: ["-c", "touch pwned"], Dir: `${dir}/work` }, sh],
        ["c", { Path: "../allowed/sh", Args: ["-c", "touch pwned"], Dir: `${dir}/work` }, sh],
        ["d", { Path: "sh", Args: ["-c", "touch pwned"], Dir: `${dir}/allowed` }, sh],
        ["e", { Path: "sh", Args: ["-c", "touch pwned"], Dir: `${dir}/work` }, sh],
        ["f", { Path: `${dir}/allowed/true`, Dir: dir }, dir],
        ["g", { Path: `${dir}/allowed/true`, Dir: `${dir}/work/../allowed` }, `${dir}/allowed`],
        ["h", { Path: `${dir}/allowed/true` }, Deno.cwd()],
      ];
      const results = await Promise.all(attempts.map(([p, cmd]) => mkproc(s, `${X}/${p}`, cmd)));
      results.forEach((r, i) => assertErr(r, denied(attempts[i][0], attempts[i][2])));
      assert.equal(await Deno.stat(`${dir}/work/pwned`).then(() => true, () => false), false);
      assert.equal(await Deno.stat(`${dir}/allowed/pwned`).then(() => true, () => false), false);
      const denials = (await s.opsLog()).filter((r) => r.Op === "deny");
      assert.deepEqual(denials.map((r) => r.Target).sort(), attempts.map((a) => a[2]).sort());
    } finally {
      await s.stop();
    }
  });
});

Deno.test("a forwarded call is judged by the hosting server's policy, not the dialed server's", async () => {
  await withDir(async (dir) => {
    await writePolicy(`${dir}/closed.json`, { rules: [] });
    await writePolicy(`${dir}/open.json`, { rules: [{ who: ["anonymous"], allow: ["read", "chan"] }] });
    const b = await TestServer.start(dir, ["-policy", `${dir}/open.json`]);
    const a = await TestServer.start(dir, ["-policy", `${dir}/closed.json`, "-j", b.url]);
    const [A, B] = [a.serverAnchor, b.serverAnchor];
    try {
      await eventually("both servers in both views", 15_000, async () => {
        const [la, lb] = await Promise.all([clientOf(a)("ls", ["/"]), clientOf(b)("ls", ["/"])]);
        return [la, lb].every((r) => r.stdout.includes(A) && r.stdout.includes(B));
      });
      // Dialing the closed server A: B's anchors are B's to judge.
      ok(await clientOf(a)("mkchan", [`${B}/c`, "0"]), "mkchan on B through A");
      assert.match(ok(await clientOf(a)("peek", [`${B}/c`]), "peek on B through A").stdout, /"Cap": 0/);
      assertErr(
        await clientOf(a)("mkchan", [`${A}/c`, "0"]),
        `permission denied: anonymous may not chan ${A}/c`,
      );
      // Dialing the open server B: A's anchors stay closed.
      assertErr(
        await clientOf(b)("mkchan", [`${A}/d`, "0"]),
        `permission denied: anonymous may not chan ${A}/d`,
      );
      assertErr(await clientOf(b)("peek", [`${A}`]), `permission denied: anonymous may not read ${A}`);
      const aDenials = (await a.opsLog()).filter((r) => r.Op === "deny").map((r) => `${r.Who} ${r.Path}`);
      assert.deepEqual(aDenials, [`anonymous ${A}/c`, `anonymous ${A}/d`, `anonymous ${A}`]);
      assert.equal((await b.opsLog()).filter((r) => r.Op === "deny").length, 0);
      const made = (await b.opsLog()).find((r) => r.Op === "make");
      assert.equal(made?.Who, "anonymous");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

Deno.test("a client cannot forge a forwarded identity: its Who is ignored, directly or through a forwarder", async () => {
  await withDir(async (dir) => {
    await writePolicy(`${dir}/viewer.json`, { rules: [{ who: ["anonymous"], allow: ["read"] }] });
    const b = await TestServer.start(dir, ["-policy", `${dir}/viewer.json`]);
    const a = await TestServer.start(dir, ["-j", b.url]);
    const B = b.serverAnchor;
    try {
      await eventually(
        "B in A's view",
        15_000,
        async () => (await clientOf(a)("ls", ["/"])).stdout.includes(B),
      );
      const forged = [
        { Name: "admin", Groups: [] },
        { Name: `server:Q0000000000000000`, Groups: [] },
        { Name: "alice", Groups: ["ops"] },
        "admin",
        null,
        42,
        { Name: ["admin"] },
      ];
      for (const url of [b.url, a.url]) {
        const conn = await connect(url);
        try {
          for (const [i, Who] of forged.entries()) {
            const err = await conn.call("mk", { Path: `${B}/f${i}`, Kind: "chan", Arg: 0, Who } as never, {
              timeoutMs: 10_000,
            })
              .then(() => "allowed", (e) => String(e));
            assert.match(
              err,
              new RegExp(`permission denied: anonymous may not chan ${B}/f${i}`),
              `${url} ${Who}`,
            );
          }
        } finally {
          conn.close("done");
        }
      }
      assert.equal((await b.opsLog()).filter((r) => r.Op === "make").length, 0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

Deno.test("ls /... shows a caller only what it may read and the way down to it", async () => {
  await withDir(async (dir) => {
    await writePolicy(`${dir}/p.json`, {
      rules: [
        { who: ["anonymous"], allow: ["read"], paths: ["/*/pub/..."] },
        { who: ["anonymous"], allow: ["chan"] },
      ],
    });
    const s = await TestServer.start(dir, ["-policy", `${dir}/p.json`]);
    const on = clientOf(s);
    const X = s.serverAnchor;
    try {
      for (const p of ["pub/a", "pub/b/c", "secret/x", "secret/y/z", "top"]) {
        ok(await on("mkchan", [`${X}/${p}`, "0"]), p);
      }
      const listed = ok(await on("ls", ["/..."]), "ls").stdout.split("\n").filter((l) => l);
      assert.deepEqual(listed, [X, `${X}/pub`, `${X}/pub/a`, `${X}/pub/b`, `${X}/pub/b/c`]);
      assert.equal(ok(await on("ls", [`${X}/secret/...`]), "ls secret").stdout, "");
      assertErr(
        await on("peek", [`${X}/secret/x`]),
        `permission denied: anonymous may not read ${X}/secret/x`,
      );
    } finally {
      await s.stop();
    }
  });
});

Deno.test("with a key, admin may do everything under a closed policy, through forwarding too; Who says so", async () => {
  await withDir(async (dir) => {
    const key = `${dir}/key`;
    const gen = ok(await circuit(["keygen"]), "keygen");
    await Deno.writeTextFile(key, gen.stdout);
    await writePolicy(`${dir}/closed.json`, { rules: [] });
    const b = await TestServer.start(dir, ["-hmac", key, "-policy", `${dir}/closed.json`]);
    const a = await TestServer.start(dir, ["-hmac", key, "-j", b.url]);
    const B = b.serverAnchor;
    const env = { env: { CIRCUIT_HMAC: key } };
    try {
      await eventually(
        "B in A's view",
        15_000,
        async () => (await clientOf(a)("ls", ["/"], env)).stdout.includes(B),
      );
      ok(await clientOf(a)("mkchan", [`${B}/c`, "0"], env), "admin through A");
      ok(await clientOf(b)("mkchan", [`${B}/d`, "0"], env), "admin at B");
      const made = (await b.opsLog()).filter((r) => r.Op === "make").map((r) => r.Who);
      assert.deepEqual(made, ["admin", "admin"]);
      const start = (await b.opsLog())[0];
      assert.deepEqual([start.Op, String(start.Who).startsWith("server:Q")], ["start", true]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
