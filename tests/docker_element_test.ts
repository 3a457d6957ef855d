/**
 * The docker element against a real Docker engine (SPEC §7.6, §12 A30). The engine is the one
 * named by DOCKER_HOST, or else the private one that scripts/dockerd.sh starts.
 */
import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import { DockerEngine } from "../server/docker/engine.ts";
import { parsePort, parseRun } from "../server/docker/run.ts";
import { ContainerElement } from "../server/elements/docker.ts";
import type { ElementContext } from "../server/elements/element.ts";
import type { AckedSource } from "../wire/streams.ts";
import { dockerHost, TEST_IMAGE } from "./_docker.ts";

function testContext(): ElementContext & { detached: number; logs: string[] } {
  return {
    path: "/X0123456789abcdef/d",
    detached: 0,
    logs: [],
    detachSelf() {
      this.detached++;
    },
    log(message: string) {
      this.logs.push(message);
    },
  };
}

async function readAll(source: AckedSource): Promise<string> {
  const reader = source.openReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const chunk = await reader.read(64 * 1024);
    if (chunk === null) break;
    parts.push(chunk);
    reader.ack(chunk.length);
  }
  reader.ackEnd();
  return new TextDecoder().decode(await new Blob(parts as BlobPart[]).bytes());
}

async function circuitNames(engine: DockerEngine): Promise<string[]> {
  return (await engine.listNames()).filter((n) => n.startsWith("/via-circuit-"));
}

Deno.test("docker element against a real engine", async (t) => {
  const engine = DockerEngine.fromEnv(await dockerHost());
  await engine.ping();
  const run = (fields: Record<string, unknown>) => parseRun({ Image: TEST_IMAGE, ...fields });

  await t.step(
    "stdin reaches the container, stdout carries its output, wait reports exit code 7",
    async () => {
      const c = await ContainerElement.create(
        run({ Path: "/bin/sh", Args: ["-c", "cat; echo done; exit 7"] }),
        testContext(),
        engine,
      );
      const stdin = c.openStdin();
      await stdin.write(new TextEncoder().encode("hello\n"));
      await stdin.close();
      assert.equal(await readAll(c.stdout), "hello\ndone\n");
      const stat = await c.wait();
      assert.equal(stat.State.ExitCode, 7);
      assert.equal(stat.State.Running, false);
      assert.match(stat.Name, /^\/via-circuit-[0-9a-f]{16}$/);
      assert.deepEqual(stat.Config.Cmd, ["/bin/sh", "-c", "cat; echo done; exit 7"]);
      assert.equal(stat.Config.OpenStdin, true);
      assert.equal(stat.Config.Tty, false);
      await c.scrub({ kill: false });
      await c.settled();
      assert.deepEqual(await circuitNames(engine), []);
    },
  );

  await t.step("stderr is demultiplexed apart from stdout", async () => {
    const c = await ContainerElement.create(
      run({ Path: "/bin/sh", Args: ["-c", "echo out; echo err >&2; echo out2"] }),
      testContext(),
      engine,
    );
    await c.openStdin().close();
    const [out, err] = await Promise.all([readAll(c.stdout), readAll(c.stderr)]);
    assert.equal(out, "out\nout2\n");
    assert.equal(err, "err\n");
    await c.scrub({ kill: true });
    await c.settled();
  });

  await t.step("a large output arrives complete and in order", async () => {
    const size = 3_000_000;
    const c = await ContainerElement.create(
      run({ Path: "/bin/sh", Args: ["-c", `yes 0123456789 | head -c ${size}`] }),
      testContext(),
      engine,
    );
    await c.openStdin().close();
    const out = await readAll(c.stdout);
    assert.equal(out.length, size);
    assert.equal(out, "0123456789\n".repeat(Math.ceil(size / 11)).slice(0, size));
    await c.scrub({ kill: true });
    await c.settled();
  });

  await t.step("stdin of an exited container fails with broken pipe, closing it still succeeds", async () => {
    const c = await ContainerElement.create(run({ Path: "/bin/true" }), testContext(), engine);
    await c.wait();
    await c.settled();
    const stdin = c.openStdin();
    await assert.rejects(stdin.write(new TextEncoder().encode("late")), new CircuitError("broken pipe"));
    await stdin.close();
    assert.throws(() => c.openStdin(), new CircuitError("stdin already closed"));
    await c.scrub({ kill: true });
  });

  await t.step("stdin has one writer at a time and cannot be reopened once closed", async () => {
    const c = await ContainerElement.create(run({ Path: "/bin/cat" }), testContext(), engine);
    const first = c.openStdin();
    assert.throws(() => c.openStdin(), new CircuitError("stdin is being written by another client"));
    await first.write(new TextEncoder().encode("a"));
    first.release();
    const second = c.openStdin();
    await second.write(new TextEncoder().encode("b"));
    await second.close();
    assert.throws(() => c.openStdin(), new CircuitError("stdin already closed"));
    assert.equal(await readAll(c.stdout), "ab");
    assert.equal((await c.wait()).State.ExitCode, 0);
    await c.scrub({ kill: true });
    await c.settled();
  });

  await t.step("a running container peeks as Running with its port bindings; KILL ends it", async () => {
    const c = await ContainerElement.create(
      run({ Path: "/bin/sleep", Args: ["100"], Ports: ["127.0.0.1:18080:80"], Memory: 64 * 1024 * 1024 }),
      testContext(),
      engine,
    );
    const stat = await c.peek();
    assert.deepEqual(Object.keys(stat), [
      "ID",
      "Created",
      "Path",
      "Args",
      "Config",
      "State",
      "Image",
      "NetworkSettings",
      "ResolvConfPath",
      "HostnamePath",
      "HostsPath",
      "Name",
      "Driver",
      "ExecDriver",
      "Volumes",
      "VolumesRW",
      "HostConfig",
    ]);
    assert.equal(stat.State.Running, true);
    assert.ok(stat.State.Pid > 0);
    assert.deepEqual(stat.HostConfig.PortBindings?.["80/tcp"]?.[0], {
      HostIp: "127.0.0.1",
      HostPort: "18080",
    });
    assert.deepEqual(stat.Config.ExposedPorts, { "80/tcp": {} });
    assert.equal(stat.Config.Memory, 64 * 1024 * 1024);
    assert.equal(stat.State.Ghost, false);
    assert.equal(stat.HostConfig.LxcConf, null);
    await c.signal("kill");
    const final = await c.wait();
    assert.equal(final.State.Running, false);
    assert.equal(final.State.ExitCode, 137);
    await assert.rejects(c.signal("TERM"), new CircuitError("process already finished"));
    await assert.rejects(c.signal("NOPE"), new CircuitError("signal name not recognized"));
    await c.scrub({ kill: false });
    await c.settled();
    assert.deepEqual(await circuitNames(engine), []);
  });

  await t.step("scrub with kill removes a running container within 2 s and aborts waiters", async () => {
    const c = await ContainerElement.create(
      run({ Path: "/bin/sleep", Args: ["100"] }),
      testContext(),
      engine,
    );
    const waiting = assert.rejects(c.wait(), new CircuitError("aborted"));
    const started = performance.now();
    await c.scrub({ kill: true });
    assert.ok(performance.now() - started < 2000, `scrub -kill took ${performance.now() - started} ms`);
    assert.deepEqual(await circuitNames(engine), []);
    await waiting;
    await assert.rejects(c.wait(), new CircuitError("aborted"));
    await c.settled();
  });

  await t.step(
    "scrub without kill gives SIGTERM 5 s of grace, then kills and removes the container",
    async () => {
      // sleep as PID 1 of its container has no SIGTERM handler, so the kernel ignores SIGTERM.
      const c = await ContainerElement.create(
        run({ Path: "/bin/sleep", Args: ["100"] }),
        testContext(),
        engine,
      );
      const started = performance.now();
      await c.scrub({ kill: false });
      const took = performance.now() - started;
      assert.ok(took > 4500 && took < 9000, `scrub took ${took} ms`);
      assert.deepEqual(await circuitNames(engine), []);
      await c.settled();
    },
  );

  await t.step("an unknown image fails with the engine's message and leaves no container", async () => {
    await assert.rejects(
      ContainerElement.create(parseRun({ Image: "no-such-image" }), testContext(), engine),
      (err: unknown) => err instanceof CircuitError && /No such image: no-such-image/.test(err.message),
    );
    assert.deepEqual(await circuitNames(engine), []);
  });

  await t.step("a command that cannot start fails creation and leaves no container", async () => {
    await assert.rejects(
      ContainerElement.create(run({ Path: "/no/such/program" }), testContext(), engine),
      (err: unknown) => err instanceof CircuitError && /no such file or directory/.test(err.message),
    );
    assert.deepEqual(await circuitNames(engine), []);
  });

  await t.step("Scrub detaches the element and removes the container once it exited", async () => {
    const ctx = testContext();
    const c = await ContainerElement.create(
      run({ Path: "/bin/echo", Args: ["bye"], Scrub: true, Lxc: ["lxc.x=1"] }),
      ctx,
      engine,
    );
    assert.deepEqual(ctx.logs, ["ignoring Lxc options"]);
    assert.equal(await readAll(c.stdout), "bye\n");
    assert.equal((await c.wait()).State.ExitCode, 0);
    await c.settled();
    assert.equal(ctx.detached, 1);
    assert.deepEqual(await circuitNames(engine), []);
    assert.equal((await c.peek()).State.Running, false);
  });

  await t.step("Volume binds a host directory and Dir, Env and Entry reach the container", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/f`, "from host");
      const c = await ContainerElement.create(
        run({
          Entry: "/bin/sh",
          Args: ["-c", "cat /h/f; echo; pwd; echo $GREETING"],
          Volume: [`${dir}:/h:ro`, "/anon"],
          Dir: "/tmp",
          Env: ["GREETING=hi"],
        }),
        testContext(),
        engine,
      );
      await c.openStdin().close();
      assert.equal(await readAll(c.stdout), "from host\n/tmp\nhi\n");
      const stat = await c.wait();
      assert.equal(stat.Volumes["/h"], dir);
      assert.equal(stat.VolumesRW["/h"], false);
      assert.equal(stat.VolumesRW["/anon"], true);
      assert.deepEqual(stat.Config.Entrypoint, ["/bin/sh"]);
      await c.scrub({ kill: true });
      await c.settled();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("removeAll stops and removes every container the engine created", async () => {
    const a = await ContainerElement.create(
      run({ Path: "/bin/sleep", Args: ["100"] }),
      testContext(),
      engine,
    );
    const b = await ContainerElement.create(
      run({ Path: "/bin/sleep", Args: ["100"] }),
      testContext(),
      engine,
    );
    assert.equal((await circuitNames(engine)).length, 2);
    await engine.removeAll(0);
    assert.deepEqual(await circuitNames(engine), []);
    await Promise.all([a.settled(), b.settled()]);
  });

  await t.step("time to the first output byte, circuit vs docker run", async () => {
    const rounds = 5;
    const ours: number[] = [];
    const cli: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      const c = await ContainerElement.create(run({ Path: "/bin/echo", Args: ["x"] }), testContext(), engine);
      const reader = c.stdout.openReader();
      assert.ok(await reader.read(1));
      ours.push(performance.now() - started);
      reader.release();
      await c.scrub({ kill: true });
      await c.settled();

      const cliStarted = performance.now();
      const child = new Deno.Command("docker", {
        args: ["-H", engine.address, "run", "--rm", TEST_IMAGE, "/bin/echo", "x"],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const cliReader = child.stdout.getReader();
      assert.ok((await cliReader.read()).value);
      cli.push(performance.now() - cliStarted);
      await cliReader.cancel();
      await child.status;
    }
    const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(0);
    console.log(
      `first output byte, median of ${rounds}: circuit ${median(ours)} ms, docker run ${median(cli)} ms`,
    );
  });
});

Deno.test("parseRun matches keys case-insensitively and rejects values of the wrong type", () => {
  const run = parseRun({ image: "img", PATH: "/bin/sh", args: ["-c"], cpushares: 2, unknown: 1, Env: null });
  assert.equal(run.Image, "img");
  assert.equal(run.Path, "/bin/sh");
  assert.deepEqual(run.Args, ["-c"]);
  assert.equal(run.CpuShares, 2);
  assert.equal(run.Env, null);
  assert.throws(
    () => parseRun({ Image: "img", Args: "x" }),
    new CircuitError("command json not parsing: field Args must be a list of strings"),
  );
  assert.throws(
    () => parseRun({ Path: "/bin/sh" }),
    new CircuitError("command json not parsing: field Image is required"),
  );
  assert.throws(
    () => parseRun({ Image: "img", Ports: ["80:x"] }),
    new CircuitError("invalid port specification: 80:x"),
  );
});

Deno.test("parsePort reads host IP, host port, container port and protocol", () => {
  assert.deepEqual(parsePort("127.0.0.1:18080:80"), {
    port: "80/tcp",
    hostIp: "127.0.0.1",
    hostPort: "18080",
  });
  assert.deepEqual(parsePort("8080:80/udp"), { port: "80/udp", hostIp: "", hostPort: "8080" });
  assert.deepEqual(parsePort("53"), { port: "53/tcp", hostIp: "", hostPort: "" });
  assert.deepEqual(parsePort("[::1]:1:2"), { port: "2/tcp", hostIp: "::1", hostPort: "1" });
  assert.throws(() => parsePort("70000"), new CircuitError("invalid port specification: 70000"));
});

Deno.test("DockerEngine.fromEnv takes unix:// addresses and the default socket, and refuses others", () => {
  assert.equal(DockerEngine.fromEnv("unix:///tmp/d.sock").socketPath, "/tmp/d.sock");
  assert.equal(DockerEngine.fromEnv(undefined).socketPath, "/var/run/docker.sock");
  assert.throws(() => DockerEngine.fromEnv("tcp://127.0.0.1:2375"), /only unix:/);
});

Deno.test("ping of an engine socket that does not exist rejects", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(new DockerEngine(`${dir}/none.sock`).ping(), /none\.sock/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
