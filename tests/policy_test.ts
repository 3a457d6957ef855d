/**
 * The pure policy module (SPEC §10.5): parsing with positions, patterns, decisions for named
 * identities and groups, forwarded identities, and the capability every operation needs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Policy } from "../server/policy/policy.ts";
import { compilePattern, matches, matchesBelow, pathElements } from "../server/policy/pattern.ts";
import { Authorizer, callerOf, capabilityOf, execTarget } from "../server/policy/enforce.ts";
import { CircuitError } from "../wire/errors.ts";
import { OpsLog } from "../server/ops_log.ts";

const alice = { name: "alice", groups: [] };
const bob = { name: "bob", groups: ["viewers"] };
const carol = { name: "carol", groups: ["ops", "viewers"] };
const mallory = { name: "mallory", groups: [] };

const SPEC_POLICY = `{"revoked": ["mallory"],
 "rules": [
   {"who": ["alice", "group:ops"], "allow": ["read", "proc", "chan"], "paths": ["/*/jobs/..."],
    "exec": ["/usr/bin/*", "/bin/sh"], "dirs": ["/srv/jobs/..."]},
   {"who": ["group:viewers"], "allow": ["read"]}]}`;

function parseError(text: string): string {
  try {
    Policy.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`parsed: ${text}`);
}

Deno.test("policy: the SPEC example parses; its rules grant by name and by group", () => {
  const p = Policy.parse(SPEC_POLICY);
  assert.equal(p.size, 2);
  assert.equal(p.isRevoked("mallory"), true);
  assert.equal(p.isRevoked("alice"), false);
  assert.equal(p.denial(alice, "chan", "/X1/jobs/c"), null);
  assert.equal(p.denial(alice, "chan", "/X1/jobs"), null, "/... matches the anchor itself");
  assert.equal(p.denial(alice, "chan", "/X1/other"), "");
  assert.equal(p.denial(alice, "dns", "/X1/jobs/d"), "");
  assert.equal(p.denial(carol, "chan", "/X1/jobs/a/b/c"), null);
  assert.equal(p.denial(bob, "read", "/X1/anything/at/all"), null);
  assert.equal(p.denial(bob, "chan", "/X1/jobs/c"), "");
  assert.equal(p.denial(mallory, "read", "/X1/jobs"), "", "default deny");
});

Deno.test("policy: admin and server identities are allowed everything; anonymous only by a rule", () => {
  const p = Policy.parse(`{"rules": []}`);
  assert.equal(p.denial({ name: "admin", groups: [] }, "docker", "/X1/d"), null);
  assert.equal(p.denial({ name: "server:Q0123456789abcdef", groups: [] }, "admin", "/X1"), null);
  assert.equal(p.denial({ name: "anonymous", groups: [] }, "read", "/X1"), "");
  const q = Policy.parse(`{"rules": [{"who": ["anonymous"], "allow": ["read"]}]}`);
  assert.equal(q.denial({ name: "anonymous", groups: [] }, "read", "/X1"), null);
  assert.equal(q.denial({ name: "anonymous", groups: [] }, "chan", "/X1/c"), "");
});

Deno.test("policy: exec and dirs are judged together, in the same rule; the denial names what is missing", () => {
  const p = Policy.parse(SPEC_POLICY);
  const t = (exec: string, dir: string) => ({ exec, dir, serverDir: "/home/circuit" });
  assert.equal(p.denial(alice, "proc", "/X1/jobs/p", t("/usr/bin/make", "/srv/jobs/a")), null);
  assert.equal(p.denial(alice, "proc", "/X1/jobs/p", t("/bin/sh", "/srv/jobs")), null);
  assert.equal(p.denial(alice, "proc", "/X1/jobs/p", t("/usr/bin/x/y", "/srv/jobs")), "/usr/bin/x/y");
  assert.equal(p.denial(alice, "proc", "/X1/jobs/p", t("/bin/bash", "/srv/jobs")), "/bin/bash");
  assert.equal(p.denial(alice, "proc", "/X1/jobs/p", t("/usr/bin/make", "/tmp")), "/tmp");
  assert.equal(p.denial(alice, "proc", "/X1/other", t("/usr/bin/make", "/srv/jobs")), "");
  // Without `dirs` only the server's own working directory; without `exec` any program.
  const q = Policy.parse(`{"rules": [{"who": ["alice"], "allow": ["proc"]}]}`);
  assert.equal(q.denial(alice, "proc", "/X1/p", t("/bin/anything", "/home/circuit")), null);
  assert.equal(q.denial(alice, "proc", "/X1/p", t("/bin/anything", "/tmp")), "/tmp");
});

Deno.test("policy: a listing shows what may be read and the way down to it, nothing else", () => {
  const p = Policy.parse(`{"rules": [{"who": ["bob"], "allow": ["read"], "paths": ["/*/pub/..."]},
    {"who": ["bob"], "allow": ["chan"], "paths": ["/*/secret/..."]}]}`);
  assert.equal(p.visible(bob, "/X1/pub"), true);
  assert.equal(p.visible(bob, "/X1/pub/a/b"), true);
  assert.equal(p.visible(bob, "/X1"), true);
  assert.equal(p.visible(bob, "/X1/secret"), false, "chan is not read");
  assert.equal(p.visible(bob, "/X1/public"), false);
  assert.equal(p.visible(alice, "/X1/pub"), false);
});

Deno.test("patterns: * is one element or a glob within it; /... is any depth including none", () => {
  const m = (pat: string, path: string) => matches(compilePattern(pat), pathElements(path));
  assert.equal(m("/usr/bin/*", "/usr/bin/make"), true);
  assert.equal(m("/usr/bin/*", "/usr/bin"), false);
  assert.equal(m("/usr/bin/*", "/usr/bin/a/b"), false);
  assert.equal(m("/usr/bin/py*", "/usr/bin/python3"), true);
  assert.equal(m("/usr/bin/py*", "/usr/bin/perl"), false);
  assert.equal(m("/a.b/*", "/aXb/c"), false, "a dot is literal");
  assert.equal(m("/srv/ci/...", "/srv/ci"), true);
  assert.equal(m("/srv/ci/...", "/srv/ci/x/y/z"), true);
  assert.equal(m("/srv/ci/...", "/srv/cix"), false);
  assert.equal(m("/...", "/"), true);
  assert.equal(m("/", "/"), true);
  assert.equal(matchesBelow(compilePattern("/*/a/b"), ["X1"]), true);
  assert.equal(matchesBelow(compilePattern("/*/a/b"), ["X1", "c"]), false);
  assert.equal(matchesBelow(compilePattern("/*/a/b"), ["X1", "a", "b"]), false);
});

Deno.test("policy: every mistake is reported with its line:column", () => {
  assert.equal(
    parseError(`{"rules": [\n  {"who": ["bob"], "allow": ["wirte"]}]}`),
    'unknown capability "wirte" (known: read, proc, chan, subscribe, dns, docker, admin) at 2:30',
  );
  assert.equal(
    parseError(`{"rules": [\n  {"who": ["bob"] "allow": []}]}`),
    "expected ',' or '}', found character \"\\\"\" at 2:19",
  );
  assert.equal(
    parseError(`{"rulez": []}`),
    'unknown field "rulez" in the policy (known: revoked, rules) at 1:2',
  );
  assert.equal(parseError(`{"rules": [{"allow": ["read"]}]}`), 'a rule needs "who" at 1:12');
  assert.equal(
    parseError(`{"rules": [{"who": ["Bob"], "allow": ["read"]}]}`),
    'who "Bob" is not 1-64 of [a-z0-9._-] at 1:21',
  );
  assert.equal(
    parseError(`{"rules": [{"who": ["b"], "allow": ["read"], "paths": ["x/..."]}]}`),
    'pattern "x/..." must start with / at 1:56',
  );
  assert.equal(
    parseError(`{"rules": [{"who": ["b"], "allow": ["read"], "exec": ["/a/.../b"]}]}`).endsWith("at 1:55"),
    true,
  );
  assert.equal(parseError(`{"rules": [], }`), `expected a field name, found character "}" at 1:15`);
  assert.equal(parseError(`{"rules": [1]}`), "a rule must be an object at 1:12");
  assert.equal(parseError(``), "unexpected end of file at 1:1");
  assert.equal(parseError(`{} {}`), `unexpected character "{" after the JSON value at 1:4`);
  assert.equal(parseError(`{"rules": "x"}`), "rules must be a list at 1:11");
  assert.equal(parseError(`{"rules": [], "rules": []}`), 'duplicate field "rules" at 1:15');
  assert.equal(parseError("[".repeat(100)).startsWith("nesting too deep"), true);
});

Deno.test("callerOf: only a server connection forwards an identity; a client's Who is ignored", () => {
  const server = { name: "server:Q0123456789abcdef", groups: [] };
  assert.deepEqual(callerOf(server, { Name: "bob", Groups: ["viewers"] }), bob);
  assert.deepEqual(callerOf(server, undefined), server);
  assert.deepEqual(callerOf({ name: "anonymous", groups: [] }, { Name: "admin", Groups: [] }), {
    name: "anonymous",
    groups: [],
  });
  assert.deepEqual(callerOf(bob, { Name: "admin", Groups: ["ops"] }), bob);
  for (const bad of [null, 1, "admin", { Name: 1, Groups: [] }, { Name: "x" }, { Name: "", Groups: [] }]) {
    assert.throws(() => callerOf(server, bad), CircuitError);
  }
});

Deno.test("capabilityOf: each operation needs the capability of SPEC §10.5", () => {
  const cap = (op: string, kind: string | null, args: Record<string, unknown> = {}) =>
    capabilityOf(op, args, kind);
  assert.equal(cap("peek", "proc"), "read");
  assert.equal(cap("get", null), "read");
  assert.equal(cap("mk", null, { Kind: "chan" }), "chan");
  assert.equal(cap("mk", null, { Kind: "proc" }), "proc");
  assert.equal(cap("mk", null, { Kind: "@join" }), "subscribe");
  assert.equal(cap("mk", null, { Kind: "docker" }), "docker");
  assert.equal(cap("mk", null, { Kind: "dns" }), "dns");
  assert.equal(cap("mk", null, { Kind: "bogus" }), "admin");
  assert.equal(cap("read", "proc"), "proc", "a stdout reader needs proc");
  assert.equal(cap("read", "docker"), "docker");
  assert.equal(cap("stdin", "proc"), "proc");
  assert.equal(cap("wait", "proc"), "proc");
  assert.equal(cap("signal", "docker"), "docker");
  assert.equal(cap("recv", "chan"), "chan");
  assert.equal(cap("recv", "@leave"), "subscribe");
  assert.equal(cap("send", "chan"), "chan");
  assert.equal(cap("close", "chan"), "chan");
  assert.equal(cap("set", "dns"), "dns");
  assert.equal(cap("scrub", "proc"), "proc");
  assert.equal(cap("scrub", "dns"), "dns");
  assert.equal(cap("scrub", null), "read");
  assert.equal(cap("stk", "server"), "admin");
  assert.equal(cap("suicide", "server"), "admin");
  assert.equal(cap("join", "server"), "admin");
  assert.equal(cap("some-new-op", null), "admin", "closed until mapped");
});

Deno.test("execTarget: symlinks resolved, relative paths against Dir, bare names in Dir else the PATH", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "circuit-policy-" }));
  try {
    await Deno.symlink("/bin/sh", `${dir}/innocent`);
    const sh = await Deno.realPath("/bin/sh");
    assert.equal((execTarget({ Path: `${dir}/innocent`, Dir: "" }, "/")).exec, sh);
    assert.equal((execTarget({ Path: "./innocent", Dir: dir }, "/")).exec, sh);
    assert.equal((execTarget({ Path: "innocent", Dir: dir }, "/")).exec, sh, "the file in Dir runs");
    assert.equal((execTarget({ Path: "sh", Dir: dir }, "/")).exec, sh, "looked up in the PATH");
    assert.equal((execTarget({ Path: "../x/../innocent", Dir: `${dir}/sub` }, "/")).exec, sh);
    assert.equal((execTarget({ Path: "/bin/true", Dir: "" }, dir)).dir, dir);
    assert.equal((execTarget({ Path: "/no/such", Dir: "" }, dir)).exec, "/no/such");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Authorizer: a denial throws the §10.5 message, logs it, records deny with Who, and counts it", async () => {
  const lines: string[] = [];
  const records: unknown[] = [];
  const authz = new Authorizer(
    Policy.parse(`{"rules": [{"who": ["group:viewers"], "allow": ["read"]},
      {"who": ["alice"], "allow": ["proc"], "exec": ["/no/such/dir/*"]}]}`),
    { log: (m) => lines.push(m), record: (op, fields, who) => records.push({ op, who, ...fields }) },
  );
  authz.check("peek", { Path: "/X1/c" }, "chan", bob);
  authz.check("ls", { Path: "/X1" }, null, mallory);
  assert.throws(
    () => authz.check("send", { Path: "/X1/c" }, "chan", bob),
    new CircuitError("permission denied: bob may not chan /X1/c"),
  );
  assert.throws(
    () => authz.check("mk", { Path: "/X1/p", Kind: "proc", Arg: { Path: "/bin/true" } }, null, alice),
    new CircuitError(`permission denied: alice may not proc /X1/p (${await Deno.realPath("/bin/true")})`),
  );
  assert.deepEqual(lines, ["permission denied: bob may not chan /X1/c", lines[1]]);
  assert.deepEqual(records[0], { op: "deny", who: "bob", Capability: "chan", Path: "/X1/c" });
  assert.equal(authz.counters.deniedTotal.get("chan"), 1);
  assert.equal(authz.counters.deniedTotal.get("proc"), 1);
  assert.equal(authz.counters.deniedTotal.get("read"), 0);
  authz.policy = null;
  authz.check("send", { Path: "/X1/c" }, "chan", bob);
  assert.equal(authz.visible(mallory, "/X1/secret"), true, "no policy: everything is listed");
});

Deno.test("ops log: Who follows Op on every record, the server's own identity by default; rejects reach the counter hook", async () => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-opslog-" });
  try {
    const log = OpsLog.open(`${dir}/ops.log`, "server:Q0123456789abcdef");
    const seen: string[] = [];
    log.onRecord = (op) => seen.push(op);
    log.record("start", { Addr: "circuit://x", ServerID: "X1" });
    log.record("make", { Path: "/X1/c", Kind: "chan", Arg: "0" }, "bob");
    log.record("reject", { Peer: "127.0.0.1:1", Reason: "key mismatch" });
    log.close();
    const recs = (await Deno.readTextFile(`${dir}/ops.log`)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(recs.map((r) => Object.keys(r).slice(0, 3)), Array(3).fill(["Time", "Op", "Who"]));
    assert.deepEqual(recs.map((r) => r.Who), ["server:Q0123456789abcdef", "bob", "server:Q0123456789abcdef"]);
    assert.deepEqual(seen, ["start", "make", "reject"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
