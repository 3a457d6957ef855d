/**
 * Where the CLI dials and what it says about itself (SPEC §15.4): `CIRCUIT_URL`, contexts in
 * the config file, common flags before the command, `version`, and completion scripts that
 * the shells accept.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dial } from "../mod.ts";
import { circuit, CLI, PERMISSIONS, QUIET_ENV, TestServer } from "./_harness.ts";

async function withServer(fn: (s: TestServer, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-config-" });
  const s = await TestServer.start(dir);
  try {
    await fn(s, dir);
  } finally {
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function writeConfig(dir: string, config: unknown): void {
  Deno.mkdirSync(`${dir}/circuit`, { recursive: true });
  Deno.writeTextFileSync(
    `${dir}/circuit/config.json`,
    typeof config === "string" ? config : JSON.stringify(config),
  );
}

Deno.test("the CLI dials CIRCUIT_URL, then the chosen context; flags may stand before the command", async (t) => {
  await withServer(async (s, dir) => {
    const root = `${s.serverAnchor}\n`;
    const env = { XDG_CONFIG_HOME: `${dir}/none` };
    await t.step("CIRCUIT_URL", async () => {
      const r = await circuit(["ls", "/"], { env: { ...env, CIRCUIT_URL: s.url } });
      assert.deepEqual(r, { code: 0, stdout: root, stderr: "" });
    });
    await t.step("CIRCUIT (a file) comes before CIRCUIT_URL", async () => {
      Deno.writeTextFileSync(`${dir}/url`, "circuit://127.0.0.1:1/1/Q0000000000000001\n");
      const r = await circuit(["ls", "/"], { env: { ...env, CIRCUIT: `${dir}/url`, CIRCUIT_URL: s.url } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /dial circuit:\/\/127\.0\.0\.1:1/);
    });
    await t.step("flags before the command", async () => {
      assert.deepEqual(await circuit(["-d", s.url, "ls", "/"], { env }), {
        code: 0,
        stdout: root,
        stderr: "",
      });
      assert.deepEqual(await circuit([`--dial=${s.url}`, "ls", "/"], { env }), {
        code: 0,
        stdout: root,
        stderr: "",
      });
    });
    await t.step("the current context, -context and CIRCUIT_CONTEXT", async () => {
      const cfg = `${dir}/cfg`;
      writeConfig(cfg, {
        current: "prod",
        contexts: { prod: { url: s.url }, lab: { url: "circuit://127.0.0.1:1/1/Q0000000000000001" } },
      });
      const e = { XDG_CONFIG_HOME: cfg };
      assert.deepEqual(await circuit(["ls", "/"], { env: e }), { code: 0, stdout: root, stderr: "" });
      const lab = await circuit(["ls", "-context", "lab", "/"], { env: e });
      assert.equal(lab.code, 1);
      assert.match(lab.stderr, /127\.0\.0\.1:1/);
      const viaEnv = await circuit(["ls", "/"], { env: { ...e, CIRCUIT_CONTEXT: "lab" } });
      assert.equal(viaEnv.code, 1);
      const missing = await circuit(["ls", "-context", "nope", "/"], { env: e });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^circuit: ls: context "nope" is not in .*config\.json\n$/);
    });
    await t.step("circuit context lists and switches", async () => {
      const cfg = `${dir}/cfg`;
      const e = { XDG_CONFIG_HOME: cfg };
      const list = await circuit(["context"], { env: e });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^ {2}lab\t.*\n\* prod\tcircuit:/);
      assert.equal((await circuit(["context", "lab"], { env: e })).code, 0);
      assert.match((await circuit(["context"], { env: e })).stdout, /^\* lab/);
      const bad = await circuit(["context", "zzz"], { env: e });
      assert.equal(bad.code, 1);
    });
    await t.step("a broken config file is one error line naming it", async () => {
      const cfg = `${dir}/broken`;
      writeConfig(cfg, "{not json");
      const r = await circuit(["ls", "/"], { env: { XDG_CONFIG_HOME: cfg } });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`^circuit: ls: config file ${cfg}/circuit/config.json is broken: .*\\n$`),
      );
    });
    await t.step("no address at all: the §4.4 message", async () => {
      const r = await circuit(["ls", "/"], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no dial or discovery addresses available/);
    });
    await t.step("dial() without a URL reads CIRCUIT_URL", async () => {
      const before = Deno.env.get("CIRCUIT_URL");
      Deno.env.set("CIRCUIT_URL", s.url);
      try {
        await using client = await dial();
        assert.equal("/" + client.serverId, s.serverAnchor);
      } finally {
        if (before === undefined) Deno.env.delete("CIRCUIT_URL");
        else Deno.env.set("CIRCUIT_URL", before);
      }
    });
  });
});

Deno.test("version and --version print one line with the deno and protocol versions", async () => {
  for (const args of [["version"], ["--version"], ["-version"]]) {
    const r = await circuit(args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^circuit \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+, protocol \d+\)\n$/);
  }
  assert.equal((await circuit(["version", "x"])).code, 2);
});

async function shellAccepts(shell: string, script: string): Promise<{ code: number; stderr: string } | null> {
  const path = `/tmp/circuit-completion-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(path, script);
  try {
    const out = await new Deno.Command(shell, { args: ["-n", path], stderr: "piped" }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  } finally {
    Deno.removeSync(path);
  }
}

for (const shell of ["bash", "zsh", "fish"]) {
  Deno.test(`completion ${shell} prints a script ${shell} accepts, naming every command`, async (t) => {
    const r = await circuit(["completion", shell]);
    assert.equal(r.code, 0, r.stderr);
    for (const cmd of ["run", "ps", "mkproc", "ls"]) assert.ok(r.stdout.includes(cmd));
    assert.ok(r.stdout.includes("circuit ls"), "anchor paths come from circuit ls");
    const checked = await shellAccepts(shell, r.stdout);
    if (checked === null) {
      await t.step({ name: `${shell} is not installed`, ignore: true, fn: () => {} });
      return;
    }
    assert.equal(checked.code, 0, checked.stderr);
  });
}

Deno.test("the bash completion completes commands, flags and anchor paths from a live server", async () => {
  await withServer(async (s, dir) => {
    const script = (await circuit(["completion", "bash"])).stdout;
    Deno.writeTextFileSync(`${dir}/c.bash`, script);
    // `circuit` on PATH, as an installed binary would be.
    Deno.mkdirSync(`${dir}/bin`);
    const perms = PERMISSIONS.join(" ");
    Deno.writeTextFileSync(`${dir}/bin/circuit`, `#!/bin/sh\nexec deno run ${perms} ${CLI} "$@"\n`, {
      mode: 0o755,
    });
    const complete = async (...words: string[]) => {
      const out = await new Deno.Command("bash", {
        args: [
          "-c",
          `source ${dir}/c.bash; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); ` +
          `COMP_CWORD=${words.length - 1}; _circuit; echo "\${COMPREPLY[@]}"`,
        ],
        env: { PATH: `${dir}/bin:${Deno.env.get("PATH")}`, CIRCUIT_URL: s.url, ...QUIET_ENV },
        stdout: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout).trim();
    };
    assert.equal(await complete("circuit", "ver"), "version");
    assert.equal(await complete("circuit", "run", "-deta"), "-detach");
    assert.equal(await complete("circuit", "ls", "/X"), s.serverAnchor);
  });
});

Deno.test("completion with an unknown shell is a usage error", async () => {
  const r = await circuit(["completion", "tcsh"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /completion supports bash, zsh and fish/);
});
