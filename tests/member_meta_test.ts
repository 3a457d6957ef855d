/**
 * Host names and tags in the member table and their wire form (SPEC §15.1), and selectors.
 *
 * @module
 */
import assert from "node:assert/strict";
import { decodeTags, encodeTags, isUpdate, MemberTable } from "../server/membership/table.ts";
import { matches, parseSelector, parseTags } from "../wire/select.ts";

const A = "X00000000000000a0";
const B = "X00000000000000b0";

Deno.test("alive updates carry host and tags; other states and tombs carry neither", () => {
  const t = new MemberTable(A, "ua", { host: "web1", tags: encodeTags({ role: "web", dc: "ams" }) });
  assert.deepEqual(t.self(), {
    Id: A,
    Url: "ua",
    Inc: 0,
    State: "alive",
    Host: "web1",
    Tags: "role=web\ndc=ams",
  });
  assert.equal(t.apply({ Id: B, Url: "ub", Inc: 0, State: "alive", Host: "db1", Tags: "role=db" }), "joined");
  assert.deepEqual(t.members.get(B)!.meta, { host: "db1", tags: "role=db" });
  assert.equal(t.apply({ Id: B, Url: "ub", Inc: 0, State: "suspect" }), "suspected");
  assert.deepEqual(t.about(B), { Id: B, Url: "ub", Inc: 0, State: "suspect" });
  // Refuting with a new incarnation keeps the tags it announced.
  assert.equal(
    t.apply({ Id: B, Url: "ub", Inc: 1, State: "alive", Host: "db1", Tags: "role=db" }),
    "refreshed",
  );
  assert.deepEqual(t.state(8).map((u) => u.Tags), ["role=web\ndc=ams", "role=db"]);
  t.bury(B, 1, "dead");
  assert.deepEqual(t.about(B), { Id: B, Url: "ub", Inc: 1, State: "dead" });
});

Deno.test("a member without tags sends no Tags field, and an unknown host no Host", () => {
  const t = new MemberTable(A, "ua", { host: "", tags: "" });
  assert.deepEqual(t.self(), { Id: A, Url: "ua", Inc: 0, State: "alive" });
});

Deno.test("updates with host or tags of the wrong type are refused", () => {
  assert.equal(isUpdate({ Id: B, Url: "u", Inc: 0, State: "alive", Host: 7 }), false);
  assert.equal(isUpdate({ Id: B, Url: "u", Inc: 0, State: "alive", Tags: { role: "x" } }), false);
  assert.equal(isUpdate({ Id: B, Url: "u", Inc: 0, State: "alive", Host: "h", Tags: "a=b" }), true);
});

Deno.test("tags round-trip through their wire string; malformed lines from a peer are skipped", () => {
  assert.deepEqual(decodeTags(encodeTags({ a: "1", "b.c": "x=y" })), { a: "1", "b.c": "x=y" });
  assert.deepEqual(decodeTags(""), {});
  assert.deepEqual(decodeTags("junk\n=v\nk=v"), { k: "v" });
});

Deno.test("-tag values: the last duplicate wins; bad keys and values are refused naming the tag", () => {
  assert.deepEqual(parseTags(["role=web", "role=db", "empty="]), { role: "db", empty: "" });
  assert.throws(() => parseTags(["Role=x"]), /tag "Role=x" is not KEY=VALUE/);
  assert.throws(() => parseTags(["novalue"]), /tag "novalue" is not KEY=VALUE/);
  assert.throws(() => parseTags(["k=" + "v".repeat(129)]), /up to 128 printable characters/);
  assert.throws(() => parseTags(["k=a\nb"]), /printable/);
  assert.throws(() => parseTags([`${"k".repeat(33)}=v`]), /is not KEY=VALUE/);
});

Deno.test("selectors: every pair must match; host= and id= match host name and server ID; all matches all", () => {
  const m = { id: A, host: "web1", tags: { role: "web", dc: "ams" } };
  assert.equal(matches(parseSelector("role=web,dc=ams"), m), true);
  assert.equal(matches(parseSelector("role=web,dc=fra"), m), false);
  assert.equal(matches(parseSelector("host=web1"), m), true);
  assert.equal(matches(parseSelector(`id=${A}`), m), true);
  assert.equal(matches(parseSelector("all"), m), true);
  assert.equal(matches(parseSelector("zone=x"), m), false);
  assert.throws(() => parseSelector("role"), /selector "role" is not KEY=VALUE/);
});
