/**
 * `circuit ps` lists container elements beside processes (SPEC §15.3), against the private
 * Docker engine of scripts/dockerd.sh.
 *
 * @module
 */
import assert from "node:assert/strict";
import { circuit, TestServer } from "./_harness.ts";
import { dockerHost, TEST_IMAGE } from "./_docker.ts";

Deno.test("ps shows a running container with its phase, pid, start time and command, and its exit", async () => {
  const host = await dockerHost();
  const dir = await Deno.makeTempDir({ prefix: "circuit-ps-docker-" });
  const a = await TestServer.start(dir, ["-docker"], { DOCKER_HOST: host });
  const d = `${a.serverAnchor}/c`;
  try {
    const run = { Image: TEST_IMAGE, Path: "/bin/sh", Args: ["-c", "read x; exit 4"] };
    const mk = await circuit(["mkdkr", "-d", a.url, d], { stdin: JSON.stringify(run) });
    assert.equal(mk.code, 0, mk.stderr);
    const rows = async () => JSON.parse((await circuit(["ps", "-d", a.url, "--json"])).stdout);
    const [running] = await rows();
    assert.equal(running.Anchor, d);
    assert.equal(running.Host, Deno.hostname());
    assert.equal(running.Phase, "running");
    assert.equal(running.Exit, "-");
    assert.ok(Number.isInteger(running.Pid) && running.Pid > 0, `pid ${running.Pid}`);
    assert.match(running.Started, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(running.Command, "/bin/sh -c read x; exit 4");
    assert.equal((await circuit(["stdin", "-d", a.url, d], { stdin: "go\n" })).code, 0);
    assert.equal((await circuit(["wait", "-d", a.url, d])).code, 0);
    const [exited] = await rows();
    assert.equal(exited.Phase, "exited");
    assert.equal(exited.Exit, "exit 4");
    assert.equal(exited.Pid, null);
  } finally {
    await circuit(["scrub", "-d", a.url, d]);
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
