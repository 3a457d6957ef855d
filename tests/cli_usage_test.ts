import assert from "node:assert/strict";
import { COMMANDS } from "./_harness.ts";

const ROOT = new URL("../", import.meta.url);
const CLI = new URL("cli.ts", ROOT).pathname;

/** The permissions the `start` task grants, so the CLI runs here as it is deployed. */
const PERMS: string[] = (() => {
  const task: string = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))).tasks.start;
  const words = task.split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("cli.ts"));
})();

/** Nothing listens on port 1 of loopback, so dialing it is refused at once. */
const REFUSED_URL = "circuit://127.0.0.1:1/1/Q0000000000000001";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI with a clean environment (no CIRCUIT* variables unless given). */
async function circuit(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const keep: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) keep[name] = v;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, CLI, ...args],
    env: { ...keep, RUST_BACKTRACE: "0", NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts ERR/USAGE of SPEC §12: the exit code, nothing on stdout, exactly one stderr line. */
function assertFails(r: Run, code: number, line: string | RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, "");
  assert.ok(
    r.stderr.endsWith("\n") && r.stderr.indexOf("\n") === r.stderr.length - 1,
    `one line: ${r.stderr}`,
  );
  if (typeof line === "string") assert.equal(r.stderr, line + "\n");
  else assert.match(r.stderr.trimEnd(), line);
}

Deno.test("circuit help lists every command", async (t) => {
  for (const args of [[], ["help"], ["-h"], ["--help"]]) {
    await t.step(`circuit ${args.join(" ")} prints the command list, exit 0`, async () => {
      const r = await circuit(args);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, "");
      for (const name of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${name} `, "m"), name);
    });
  }

  await t.step("help <command> and <command> -h print the same usage, exit 0", async () => {
    const a = await circuit(["help", "mkproc"]);
    const b = await circuit(["mkproc", "-h"]);
    assert.equal(a.code, 0);
    assert.equal(b.code, 0);
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, /^Usage: circuit mkproc \[flags\] <anchor>\n/);
    for (const flag of ["-scrub", "-dial, -d", "-discover", "-hmac"]) {
      assert.ok(a.stdout.includes(flag), flag);
    }
  });

  await t.step("help of a command ignores the other arguments and flags", async () => {
    const r = await circuit(["ls", "/", "--help", "-bogus"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /-long, -l/);
  });

  await t.step("help of an unknown command is a usage error", async () => {
    assertFails(
      await circuit(["help", "bogus"]),
      2,
      `circuit: usage: unknown command "bogus" (see 'circuit help')`,
    );
  });
});

Deno.test("circuit reports usage errors on one line with exit 2", async (t) => {
  await t.step("an unknown command", async () => {
    assertFails(await circuit(["bogus"]), 2, `circuit: usage: unknown command "bogus" (see 'circuit help')`);
  });

  const cases: [string[], string][] = [
    [["keygen", "x"], "keygen takes no arguments"],
    [["ls"], "ls needs a glob argument"],
    [["ls", "/a", "/b"], "ls needs a glob argument"],
    [["peek"], "peek needs one anchor argument"],
    [["scrub", "-kill"], "scrub needs one anchor argument"],
    [["mkchan", "/Xa/c"], "mkchan needs an anchor and a capacity arguments"],
    [["send"], "send needs one anchor argument"],
    [["recv", "/a", "/b"], "recv needs one anchor argument"],
    [["close"], "close needs one anchor argument"],
    [["mkproc"], "mkproc needs an anchor argument"],
    [["mkdkr", "-scrub"], "mkdkr needs an anchor argument"],
    [["signal", "/Xa/s"], "signal needs a signal name and an anchor arguments"],
    [["wait"], "wait needs one anchor argument"],
    [["waitall", "/Xa/p"], "waitall takes no arguments"],
    [["stdin"], "stdin needs one anchor argument"],
    [["stdout"], "stdout needs one anchor argument"],
    [["stderr"], "stderr needs one anchor argument"],
    [["mkdns"], "mkdns needs an anchor and an optional address arguments"],
    [["mkdns", "/Xa/d", "127.0.0.1:53", "x"], "mkdns needs an anchor and an optional address arguments"],
    [["set", "/Xa/d"], "set needs an anchor and a resource record arguments"],
    [["unset", "/Xa/d"], "unset needs an anchor and a resource name arguments"],
    [["mk@join"], "mk@join needs an anchor argument"],
    [["mk@leave"], "mk@leave needs an anchor argument"],
    [["join", "/Xa"], "join needs one anchor argument and one circuit address argument"],
    [["suicide"], "suicide needs one server anchor argument"],
    [["stk"], "stk needs one anchor argument"],
    [["peek", "-bogus", "/Xa"], "flag provided but not defined: -bogus"],
    [["ls", "-ld", "/"], "flag provided but not defined: -ld"],
    [["keygen", "-d", "x"], "flag provided but not defined: -d"],
    [["ls", "/", "-d"], "flag needs an argument: -d"],
    [["ls", "-l=maybe", "/"], 'invalid boolean value "maybe" for -l: parse error'],
    [["start", "-a", "127.0.0.1:0", "-if", "lo"], "-addr and -if cannot be used together"],
  ];
  for (const [args, message] of cases) {
    await t.step(`circuit ${args.join(" ")} → ${message}`, async () => {
      assertFails(await circuit(args), 2, `circuit: usage: ${message}`);
    });
  }
});

Deno.test("circuit keygen prints a new 64-byte key each time", async () => {
  const [a, b] = await Promise.all([circuit(["keygen"]), circuit(["keygen"])]);
  for (const r of [a, b]) {
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^[A-Za-z0-9+/]{86}==\n$/);
    assert.equal(atob(r.stdout.trim()).length, 64);
  }
  assert.notEqual(a.stdout, b.stdout);
});

Deno.test("client commands choose the server to dial as SPEC §4.4 says", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("with no dial address at all, ls fails with exit 1", async () => {
      const want = "circuit: ls: no dial or discovery addresses available; use -dial or -discover";
      assertFails(await circuit(["ls", "/"]), 1, want);
      assertFails(await circuit(["ls", "-discover", "", "/"], { CIRCUIT_DISCOVER: "" }), 1, want);
    });

    await t.step("-dial is dialed, and a refused connection names it", async () => {
      assertFails(
        await circuit(["ls", "-d", REFUSED_URL, "/"]),
        1,
        `circuit: dial ${REFUSED_URL}: connection refused`,
      );
    });

    await t.step("a malformed -dial URL gives the URL parser's message", async () => {
      assertFails(
        await circuit(["peek", "--dial=circuit://bad", "/"]),
        1,
        `circuit: peek: "circuit://bad" is not a valid circuit address: missing port`,
      );
    });

    await t.step("-dial beats CIRCUIT_DISCOVER and CIRCUIT", async () => {
      const env = { CIRCUIT_DISCOVER: "10.0.0.1:1", CIRCUIT: `${dir}/missing` };
      assertFails(await circuit(["ls", "/", "-d", REFUSED_URL], env), 1, /connection refused$/);
    });

    await t.step("-discover and CIRCUIT_DISCOVER must name an IPv4 multicast group", async () => {
      const want = "discovery address must be an IPv4 multicast ip:port";
      assertFails(
        await circuit(["ls", "-discover", "10.0.0.1:1", "/"]),
        1,
        `circuit: discover 10.0.0.1:1: ${want}`,
      );
      assertFails(
        await circuit(["ls", "/"], { CIRCUIT_DISCOVER: "228.8.8.8" }),
        1,
        `circuit: discover 228.8.8.8: ${want}`,
      );
    });

    await t.step("-discover beats CIRCUIT_DISCOVER", async () => {
      const r = await circuit(["ls", "-discover", "239.1.1.1:0", "/"], {
        CIRCUIT_DISCOVER: "228.8.8.8:8822",
      });
      assertFails(r, 1, /^circuit: discover 239\.1\.1\.1:0: discovery address/);
    });

    await t.step('-discover "" skips CIRCUIT_DISCOVER and dials the URL in the CIRCUIT file', async () => {
      const file = `${dir}/circuit-url`;
      await Deno.writeTextFile(file, `  ${REFUSED_URL}\n`);
      const r = await circuit(["ls", "-discover", "", "/"], {
        CIRCUIT_DISCOVER: "10.0.0.1:1",
        CIRCUIT: file,
      });
      assertFails(r, 1, `circuit: dial ${REFUSED_URL}: connection refused`);
    });

    await t.step("an unreadable CIRCUIT file is an error naming it", async () => {
      const r = await circuit(["ls", "/"], { CIRCUIT: `${dir}/missing` });
      assertFails(
        r,
        1,
        `circuit: ls: circuit environment file ${dir}/missing is not readable: no such file or directory`,
      );
    });

    await t.step("a CIRCUIT file without a URL gives the URL parser's message", async () => {
      const file = `${dir}/garbage`;
      await Deno.writeTextFile(file, "hello\n");
      const r = await circuit(["ls", "/"], { CIRCUIT: file });
      assertFails(r, 1, `circuit: ls: "hello" is not a valid circuit address: scheme must be circuit`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client commands read the key file before dialing", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("a missing -hmac file is an error, before any dial", async () => {
      const r = await circuit(["ls", "-hmac", `${dir}/none`, "-d", REFUSED_URL, "/"]);
      assertFails(
        r,
        1,
        `circuit: ls: problem reading private key file (${dir}/none): no such file or directory`,
      );
    });

    await t.step("CIRCUIT_HMAC names the key file when -hmac is absent", async () => {
      const r = await circuit(["ls", "-d", REFUSED_URL, "/"], { CIRCUIT_HMAC: `${dir}/none` });
      assertFails(r, 1, /problem reading private key file/);
    });

    await t.step('-hmac beats CIRCUIT_HMAC, and -hmac "" turns the key off', async () => {
      const good = `${dir}/good`;
      await Deno.writeTextFile(good, btoa("0123456789abcdef0123") + "\n");
      const env = { CIRCUIT_HMAC: `${dir}/none` };
      assertFails(
        await circuit(["ls", "-hmac", good, "-d", REFUSED_URL, "/"], env),
        1,
        /connection refused$/,
      );
      assertFails(await circuit(["ls", "-hmac", "", "-d", REFUSED_URL, "/"], env), 1, /connection refused$/);
    });

    await t.step("an empty key file is an error", async () => {
      await Deno.writeTextFile(`${dir}/empty`, " \n");
      const r = await circuit(["ls", "-hmac", `${dir}/empty`, "-d", REFUSED_URL, "/"]);
      assertFails(r, 1, `circuit: ls: key file ${dir}/empty is empty`);
    });

    await t.step("a key file that is not base64 is an error", async () => {
      await Deno.writeTextFile(`${dir}/bad`, "not base64!\n");
      const r = await circuit(["ls", "-hmac", `${dir}/bad`, "-d", REFUSED_URL, "/"]);
      assertFails(r, 1, /^circuit: ls: problem decoding base64 private key: /);
    });

    await t.step("a key shorter than 16 bytes is an error", async () => {
      await Deno.writeTextFile(`${dir}/short`, btoa("short key") + "\n");
      const r = await circuit(["ls", "-hmac", `${dir}/short`, "-d", REFUSED_URL, "/"]);
      assertFails(r, 1, "circuit: ls: key too short (9 bytes; at least 16)");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client commands check local arguments before dialing", async (t) => {
  await t.step("mkchan rejects a capacity that is not a non-negative integer", async () => {
    for (const cap of ["-1", "1.5", "x", ""]) {
      const r = await circuit(["mkchan", "/X0000000000000001/c", cap]);
      assertFails(
        r,
        1,
        "circuit: mkchan: second argument to mkchan must be a non-negative integral capacity",
      );
    }
  });

  await t.step("mk* on the root fails: elements live on servers", async () => {
    for (const args of [["mkchan", "/", "1"], ["mk@join", "//"], ["mkdns", "/"], ["mkproc", "/"]]) {
      const r = await circuit(args);
      assertFails(r, 1, `circuit: ${args[0]}: cannot create elements outside of servers`);
    }
  });

  await t.step("join checks the URL before dialing", async () => {
    const r = await circuit(["join", "/X0000000000000001", "notaurl"]);
    assertFails(r, 1, `circuit: join: "notaurl" is not a valid circuit address: scheme must be circuit`);
  });
});
