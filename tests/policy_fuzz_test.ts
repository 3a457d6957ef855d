/**
 * Fuzzing the authorization (SPEC §10.5): mangled policy files never crash the parser and are
 * reported at a position inside the text; random policies decide exactly as an independent
 * reference does (nothing allowed that no rule allows); random forwarded identities never
 * crash a real server nor gain anything.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Policy } from "../server/policy/policy.ts";
import { callerOf } from "../server/policy/enforce.ts";
import { CircuitError } from "../wire/errors.ts";
import { connect } from "../wire/dial.ts";
import { TestServer } from "./_harness.ts";
import { prng } from "./_util.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 1_000_000);
const NAMES = ["alice", "bob", "carol", "anonymous", "admin", "server:Q1", "ci"];
const GROUPS = ["ops", "viewers", "ci"];
const CAPS = ["read", "proc", "chan", "subscribe", "dns", "docker", "admin"] as const;
const ELEMENTS = ["X1", "X2", "jobs", "a", "b", "bin", "usr", "srv"];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function randomPath(r: () => number): string {
  const n = Math.floor(r() * 4);
  return "/" + Array.from({ length: n }, () => pick(r, ELEMENTS)).join("/");
}

function randomPattern(r: () => number): string {
  const n = Math.floor(r() * 4);
  const parts = Array.from(
    { length: n },
    () => (r() < 0.3 ? "*" : r() < 0.15 ? pick(r, ELEMENTS)[0] + "*" : pick(r, ELEMENTS)),
  );
  if (r() < 0.4) parts.push("...");
  return "/" + parts.join("/");
}

interface RefRule {
  who: string[];
  allow: string[];
  paths?: string[];
  exec?: string[];
  dirs?: string[];
}

/** The reference: each pattern as one regular expression over the whole path. */
function refMatch(pattern: string, path: string): boolean {
  const deep = pattern === "/..." || pattern.endsWith("/...");
  // "/" and "/..." both start from the root, which is the empty string here.
  const fixed = (deep ? pattern.slice(0, -4) : pattern).replace(/\/$/, "");
  const body = fixed.split("/").map((e) => e.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*"))
    .join("/");
  const normal = path === "/" ? "" : path;
  return new RegExp(`^${body}${deep ? "(/[^/]+)*" : ""}$`).test(normal);
}

function refAllowed(
  rules: RefRule[],
  who: { name: string; groups: string[] },
  cap: string,
  path: string,
  t?: { exec: string; dir: string; serverDir: string },
): boolean {
  if (who.name === "admin" || who.name.startsWith("server:")) return true;
  return rules.some((r) =>
    r.who.some((w) => w === who.name || who.groups.some((g) => w === `group:${g}`)) &&
    r.allow.includes(cap) &&
    (r.paths === undefined || r.paths.some((p) => refMatch(p, path))) &&
    (t === undefined ||
      ((r.exec === undefined || r.exec.some((p) => refMatch(p, t.exec))) &&
        (r.dirs === undefined ? t.dir === t.serverDir : r.dirs.some((p) => refMatch(p, t.dir)))))
  );
}

Deno.test(`policy fuzz (seed ${SEED}): random policies decide exactly as the reference`, () => {
  const r = prng(SEED);
  for (let round = 0; round < 300; round++) {
    const rules: RefRule[] = Array.from({ length: Math.floor(r() * 5) }, () => {
      const rule: RefRule = {
        who: Array.from(
          { length: 1 + Math.floor(r() * 2) },
          () => r() < 0.4 ? `group:${pick(r, GROUPS)}` : pick(r, NAMES.filter((n) => !n.includes(":"))),
        ),
        allow: Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(r, CAPS)),
      };
      if (r() < 0.6) rule.paths = Array.from({ length: 1 + Math.floor(r() * 2) }, () => randomPattern(r));
      if (r() < 0.4) rule.exec = [randomPattern(r)];
      if (r() < 0.4) rule.dirs = [randomPattern(r)];
      return rule;
    });
    const policy = Policy.parse(JSON.stringify({ rules }));
    for (let q = 0; q < 50; q++) {
      const who = { name: pick(r, NAMES), groups: GROUPS.filter(() => r() < 0.3) };
      const cap = pick(r, CAPS);
      const path = randomPath(r);
      const t = r() < 0.5
        ? { exec: randomPath(r), dir: randomPath(r), serverDir: pick(r, ["/", "/srv"]) }
        : undefined;
      const got = policy.denial(who, cap, path, t) === null;
      const want = refAllowed(rules, who, cap, path, t);
      assert.equal(got, want, JSON.stringify({ rules, who, cap, path, t }));
    }
  }
});

Deno.test(`policy fuzz (seed ${SEED}): mangled files fail with a position inside the text, never a crash`, () => {
  const r = prng(SEED + 1);
  const base = JSON.stringify(
    {
      revoked: ["mallory"],
      rules: [
        {
          who: ["alice", "group:ops"],
          allow: ["read", "proc"],
          paths: ["/*/jobs/..."],
          exec: ["/usr/bin/*"],
          dirs: ["/srv/..."],
        },
        { who: ["group:viewers"], allow: ["read"] },
      ],
    },
    null,
    1,
  );
  const junk = [
    '"',
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\\",
    "\n",
    " ",
    "a",
    "*",
    "/",
    "é",
    "\u0000",
    "1e999",
    "-",
    "null",
  ];
  for (let round = 0; round < 3000; round++) {
    let text = base;
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
      const at = Math.floor(r() * (text.length + 1));
      const op = r();
      if (op < 0.33) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 5));
      else if (op < 0.66) text = text.slice(0, at) + pick(r, junk) + text.slice(at);
      else text = text.slice(0, at) + pick(r, junk) + text.slice(at + 1);
    }
    try {
      Policy.parse(text);
    } catch (err) {
      assert.ok(!(err instanceof TypeError || err instanceof RangeError), `${err}: ${JSON.stringify(text)}`);
      const m = / at (\d+):(\d+)$/.exec((err as Error).message);
      assert.ok(m, `no position: ${(err as Error).message}`);
      const lines = text.split("\n");
      const [line, column] = [Number(m[1]), Number(m[2])];
      assert.ok(line >= 1 && line <= lines.length, `line ${line} of ${lines.length}`);
      assert.ok(
        column >= 1 && column <= lines[line - 1].length + 1,
        `column ${column}: ${JSON.stringify(text)}`,
      );
    }
  }
});

Deno.test(`identity fuzz (seed ${SEED}): a forwarded Who counts only from a server, and only when well formed`, () => {
  const r = prng(SEED + 2);
  const values = (): unknown => {
    const k = r();
    if (k < 0.1) return undefined;
    if (k < 0.2) return null;
    if (k < 0.3) return pick(r, NAMES);
    if (k < 0.4) return Math.floor(r() * 100);
    if (k < 0.5) return [pick(r, NAMES)];
    return {
      Name: r() < 0.8 ? pick(r, [...NAMES, ""]) : 7,
      Groups: r() < 0.8 ? GROUPS.filter(() => r() < 0.5) : pick(r, ["ops", [1], null]),
    };
  };
  for (let round = 0; round < 5000; round++) {
    const conn = { name: pick(r, NAMES), groups: GROUPS.filter(() => r() < 0.3) };
    const who = values();
    let got;
    try {
      got = callerOf(conn, who);
    } catch (err) {
      assert.ok(err instanceof CircuitError, String(err));
      assert.ok(conn.name.startsWith("server:"), "only a server's Who is even looked at");
      continue;
    }
    if (!conn.name.startsWith("server:") || who === undefined) assert.deepEqual(got, conn);
    else {
      const w = who as { Name: string; Groups: string[] };
      assert.deepEqual(got, { name: w.Name, groups: w.Groups });
    }
  }
});

Deno.test(`identity fuzz (seed ${SEED}): random Who and arguments against a real viewer server change nothing`, async () => {
  const r = prng(SEED + 3);
  const dir = await Deno.makeTempDir({ prefix: "circuit-authz-fuzz-" });
  await Deno.writeTextFile(
    `${dir}/p.json`,
    JSON.stringify({ rules: [{ who: ["anonymous"], allow: ["read"] }] }),
  );
  const s = await TestServer.start(dir, ["-policy", `${dir}/p.json`]);
  const X = s.serverAnchor;
  const conn = await connect(s.url);
  try {
    const ops = ["mk", "scrub", "close", "signal", "set", "unset", "join", "suicide", "stk", "discard"];
    for (let round = 0; round < 300; round++) {
      const op = pick(r, ops);
      const args = {
        Path: `${X}${randomPath(r)}`,
        Kind: pick(r, ["chan", "proc", "dns", "@join", "docker", "x"]),
        Arg: pick(r, [0, 3, { Path: "/bin/true" }, "127.0.0.1:0", null]),
        Signal: "TERM",
        Record: "a 1.2.3.4",
        Name: "a",
        Url: s.url,
        Kill: true,
        Who: pick(r, [
          { Name: "admin", Groups: [] },
          { Name: "server:Q1", Groups: ["ops"] },
          "admin",
          5,
          null,
        ]),
        Holder: pick(r, [1, "x", null]),
      };
      const out = await conn.call(op as "mk", args as never, { timeoutMs: 10_000 }).then(
        () => "ok",
        (e) => String(e),
      );
      // Scrubbing an empty anchor is allowed to a viewer: it changes nothing.
      const harmless = op === "scrub" && out === "ok";
      assert.ok(
        harmless || /permission denied: anonymous may not|malformed|no element|not a|unknown/.test(out),
        `${op} ${JSON.stringify(args)}: ${out}`,
      );
    }
    const changed = (await s.opsLog()).filter((rec) => !["start", "deny"].includes(String(rec.Op)));
    assert.deepEqual(changed, []);
    assert.equal(
      await conn.call("stk", { Path: X }, { timeoutMs: 10_000 }).then(() => "ok", (e) => String(e)).then((
        t,
      ) => t.includes("permission denied")),
      true,
      "still serving",
    );
  } finally {
    conn.close("done");
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
