/**
 * Acceptance scenario A30 of SPEC §12 and the docker parts of A25 and §3.5: containers made and
 * driven through the real CLI on a real server started with `-docker`, against a real Docker
 * engine. The engine is the one named by DOCKER_HOST, or else the private one that
 * scripts/dockerd.sh starts (with the `circuit-test` image it imports). What the engine holds is
 * checked through its own API with `curl --unix-socket`, apart from circuit's code.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertErr, assertQuiet, circuit, eventually, ok, type RunResult, TestServer } from "./_harness.ts";
import { dockerHost, TEST_IMAGE } from "./_docker.ts";

/** Generous bound for a command that must not block; a hang then fails the test instead of stalling it. */
const _CMD_TIMEOUT_MS = 60_000;

/** One container as the engine lists it (`GET /containers/json?all=1`). */
interface Listed {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
}

/** Every container of the engine, in all states, straight from its API. */
async function engineContainers(host: string): Promise<Listed[]> {
  const out = await new Deno.Command("curl", {
    args: [
      "-fsS",
      "--max-time",
      "10",
      "--unix-socket",
      host.slice("unix://".length),
      "http://localhost/containers/json?all=1",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `engine list failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/**
 * Whether the engine still has a container of this name (`/via-circuit-…`). Other tests may use
 * the same engine at the same time, so only this test's own containers are looked for.
 */
async function engineHas(host: string, name: string): Promise<boolean> {
  return (await engineContainers(host)).some((c) => c.Names.includes(name));
}

/** Runs `circuit <cmd> -d <server URL> <rest>`, as §12 runs every client command. */
function on(server: TestServer) {
  return (cmd: string, rest: string[], stdin?: string): Promise<RunResult> =>
    circuit([cmd, "-d", server.url, ...rest], { timeoutMs: _CMD_TIMEOUT_MS, stdin });
}

/** A docker element's peek or wait JSON, as much of it as these tests read. */
interface Stat {
  Name: string;
  State: { Running: boolean; ExitCode: number; Pid: number };
  HostConfig: { PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[]> | null };
}

function stat(r: RunResult, what: string): Stat {
  return JSON.parse(ok(r, what).stdout);
}

/** A fresh temp dir; servers registered in `servers` are stopped and the dir removed afterwards. */
async function withDir(fn: (dir: string, servers: TestServer[]) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-acc-docker-" });
  const servers: TestServer[] = [];
  try {
    await fn(dir, servers);
  } finally {
    // SIGTERM, so a server removes the containers a failed test left behind.
    await Promise.all(servers.map((s) => s.stop("SIGTERM")));
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("A25: mkdkr on a server without -docker fails with docker not enabled on this server", async () => {
  await withDir(async (dir, servers) => {
    const a = await TestServer.start(dir);
    servers.push(a);
    const run = JSON.stringify({ Image: TEST_IMAGE, Path: "/bin/true" });
    assertErr(await on(a)("mkdkr", [`${a.serverAnchor}/d`], run), "docker not enabled on this server");
    assert.equal((await on(a)("peek", [`${a.serverAnchor}/d`])).stdout.trim(), "null");
  });
});

Deno.test("A30: containers driven through the CLI on a server with -docker", async (t) => {
  const host = await dockerHost();
  await withDir(async (dir, servers) => {
    const a = await TestServer.start(dir, ["-docker"], { DOCKER_HOST: host });
    servers.push(a);
    const cli = on(a);
    const mkdkr = (anchor: string, run: Record<string, unknown>, flags: string[] = []) =>
      cli("mkdkr", [...flags, anchor], JSON.stringify({ Image: TEST_IMAGE, ...run }));

    await t.step("the server logs that docker elements are enabled on the engine", () => {
      assert.match(a.log(), /Enabling docker elements, using /);
    });

    const d = `${a.serverAnchor}/d`;
    await t.step(
      "stdin reaches the container, stdout carries its output, wait reports exit code 7",
      async () => {
        assertQuiet(await mkdkr(d, { Path: "/bin/sh", Args: ["-c", "cat; echo done; exit 7"] }), "mkdkr");
        assertQuiet(await cli("stdin", [d], "hello\n"), "stdin");
        assert.deepEqual(await cli("stdout", [d]), { code: 0, stdout: "hello\ndone\n", stderr: "" });
        const final = stat(await cli("wait", [d]), "wait");
        assert.equal(final.State.ExitCode, 7);
        assert.equal(final.State.Running, false);
        assert.match(final.Name, /^\/via-circuit-[0-9a-f]{16}$/);
        assert.ok(await engineHas(host, final.Name), "an exited container stays until scrubbed");
        assertQuiet(await cli("scrub", [d]), "scrub");
        assert.equal(await engineHas(host, final.Name), false, "scrub removes the container");
        assert.equal((await cli("peek", [d])).stdout.trim(), "null");
      },
    );

    await t.step("stderr carries the container's standard error apart from stdout", async () => {
      const e = `${a.serverAnchor}/e`;
      assertQuiet(await mkdkr(e, { Path: "/bin/sh", Args: ["-c", "echo out; echo err >&2"] }), "mkdkr");
      assertQuiet(await cli("stdin", [e]), "stdin </dev/null");
      assert.deepEqual(await cli("stderr", [e]), { code: 0, stdout: "err\n", stderr: "" });
      assert.deepEqual(await cli("stdout", [e]), { code: 0, stdout: "out\n", stderr: "" });
      assertQuiet(await cli("scrub", [e]), "scrub");
    });

    const s = `${a.serverAnchor}/s`;
    let sleeper = "";
    await t.step(
      "a running container peeks as Running with its port binding and lists as docker",
      async () => {
        assertQuiet(
          await mkdkr(s, { Path: "/bin/sleep", Args: ["100"], Ports: ["127.0.0.1:18080:80"] }),
          "mkdkr sleep",
        );
        const peek = stat(await cli("peek", [s]), "peek");
        sleeper = peek.Name;
        assert.equal(peek.State.Running, true);
        assert.deepEqual(peek.HostConfig.PortBindings?.["80/tcp"]?.[0], {
          HostIp: "127.0.0.1",
          HostPort: "18080",
        });
        // Only an engine with a bridge network publishes the port.
        const published = peek.NetworkSettings.Ports?.["80/tcp"];
        if (published) assert.deepEqual(published[0], { HostIp: "127.0.0.1", HostPort: "18080" });
        const listed = (await engineContainers(host)).find((c) => c.Names.includes(sleeper));
        assert.equal(listed?.State, "running");
        assert.ok(
          ok(await cli("ls", ["-l", a.serverAnchor]), "ls").stdout.includes(`docker${" ".repeat(10)}${s}\n`),
        );
      },
    );

    await t.step("signal KILL ends the container and wait returns its final state", async () => {
      assertQuiet(await cli("signal", ["KILL", s]), "signal");
      const final = stat(await cli("wait", [s]), "wait");
      assert.equal(final.State.Running, false);
      assert.equal(final.State.ExitCode, 137);
      assertErr(await cli("signal", ["TERM", s]), "process already finished");
      assertErr(await cli("signal", ["bogus", s]), "signal name not recognized");
    });

    await t.step("scrub removes the container from the engine's list of all containers", async () => {
      assertQuiet(await cli("scrub", [s]), "scrub");
      assert.equal(await engineHas(host, sleeper), false);
    });

    await t.step("scrub -kill of a running container removes it within 2 s", async () => {
      const k = `${a.serverAnchor}/k`;
      assertQuiet(await mkdkr(k, { Path: "/bin/sleep", Args: ["100"] }), "mkdkr");
      const name = stat(await cli("peek", [k]), "peek").Name;
      assert.ok(await engineHas(host, name));
      const started = performance.now();
      assertQuiet(await cli("scrub", ["-kill", k]), "scrub -kill");
      await eventually("container removed", 2000, async () => !await engineHas(host, name));
      const took = performance.now() - started;
      assert.ok(took < 2000, `removed ${took.toFixed(0)} ms after scrub -kill started`);
    });

    await t.step("mkdkr -scrub removes the container and detaches the element once it exited", async () => {
      const x = `${a.serverAnchor}/x`;
      assertQuiet(
        await mkdkr(x, { Path: "/bin/sh", Args: ["-c", "read line; echo $line"] }, ["-scrub"]),
        "mkdkr",
      );
      const name = stat(await cli("peek", [x]), "peek").Name;
      assertQuiet(await cli("stdin", [x], "bye\n"), "stdin");
      await eventually(
        "element detached",
        5000,
        async () => (await cli("peek", [x])).stdout.trim() === "null",
      );
      await eventually("container removed", 5000, async () => !await engineHas(host, name));
    });

    await t.step("mkdkr of an unknown image fails with No such image and leaves no container", async () => {
      const n = `${a.serverAnchor}/n`;
      const r = await cli("mkdkr", [n], JSON.stringify({ Image: "no-such-image", Path: "/bin/true" }));
      assertErr(r, "No such image");
      assert.equal((await cli("peek", [n])).stdout.trim(), "null");
      assert.deepEqual((await engineContainers(host)).filter((c) => c.Image.startsWith("no-such-image")), []);
    });
  });
});

Deno.test("SIGTERM of a server with a running container removes the container", async () => {
  const host = await dockerHost();
  await withDir(async (dir, servers) => {
    const a = await TestServer.start(dir, ["-docker"], { DOCKER_HOST: host });
    servers.push(a);
    const d = `${a.serverAnchor}/d`;
    const run = JSON.stringify({ Image: TEST_IMAGE, Path: "/bin/sleep", Args: ["100"] });
    assertQuiet(await on(a)("mkdkr", [d], run), "mkdkr");
    const name = stat(await on(a)("peek", [d]), "peek").Name;
    assert.ok(await engineHas(host, name));
    // §3.5: stop with 5 s grace (sleep as PID 1 ignores SIGTERM), then remove.
    const status = await a.stop("SIGTERM");
    assert.equal(status.code, 0);
    assert.equal(await engineHas(host, name), false);
  });
});
