/**
 * `deno task compile` (scripts/compile.ts): the binaries carry the server's explicit permission
 * list, and a build that cannot fetch the Deno runtime says so in one line and exits 1.
 *
 * @module
 */
import assert from "node:assert/strict";
import { compileArgs, TARGETS } from "../scripts/compile.ts";
import { PERMISSIONS, QUIET_ENV } from "./_harness.ts";

const _root = new URL("..", import.meta.url).pathname;
const _config = JSON.parse(Deno.readTextFileSync(`${_root}deno.json`));

/** Four full builds download four runtimes (tens of MB each) when online; offline it fails in seconds. */
const COMPILE_TIMEOUT_MS = 300_000;

Deno.test("compile builds each target with the start task's permission flags and never -A", () => {
  assert.deepEqual([...TARGETS].sort(), [
    "aarch64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "x86_64-unknown-linux-gnu",
  ]);
  for (const target of TARGETS) {
    const args = compileArgs(target, `/tmp/out/circuit-${target}`);
    assert.equal(args[0], "compile");
    for (const flag of PERMISSIONS) assert.ok(args.includes(flag), `${flag} missing for ${target}`);
    assert.ok(args.includes("--unstable-net"));
    assert.ok(!args.includes("-A") && !args.includes("--allow-all"));
    // Environment and system information are granted by name only (SPEC §3.6).
    assert.ok(args.some((a) => a.startsWith("--allow-env=")) && !args.includes("--allow-env"));
    assert.ok(args.some((a) => a.startsWith("--allow-sys=")) && !args.includes("--allow-sys"));
    assert.deepEqual(args.slice(-5), [
      "--target",
      target,
      "--output",
      `/tmp/out/circuit-${target}`,
      `${_root}cli.ts`,
    ]);
  }
});

Deno.test("deno task compile builds checksummed binaries, or says in one line that it cannot download the runtime", async () => {
  const out = await Deno.makeTempDir({ prefix: "circuit-compile-" });
  try {
    const taskFlags = (_config.tasks.compile as string).split(" ").filter((w) => w.startsWith("--"));
    const child = new Deno.Command("deno", {
      args: ["run", ...taskFlags, `${_root}scripts/compile.ts`, "--out", out],
      stdout: "piped",
      stderr: "piped",
      env: QUIET_ENV,
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), COMPILE_TIMEOUT_MS);
    const r = await child.output().finally(() => clearTimeout(timer));
    const stderr = new TextDecoder().decode(r.stderr);
    if (r.code === 0) {
      const sums = (await Deno.readTextFile(`${out}/SHA256SUMS`)).trim().split("\n");
      assert.equal(sums.length, TARGETS.length);
      for (const line of sums) {
        const [hex, name] = line.split("  ");
        const bytes = await Deno.readFile(`${out}/${name}`);
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        assert.equal(hex, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
      }
    } else {
      assert.equal(r.code, 1, stderr);
      assert.match(
        stderr,
        /^circuit: compile: cannot download the Deno runtime for x86_64-unknown-linux-gnu: \S.*\n$/,
      );
      assert.deepEqual([...Deno.readDirSync(out)], [], "nothing is left behind");
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
