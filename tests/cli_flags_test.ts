import assert from "node:assert/strict";
import { type FlagDef, parseFlags } from "../cli/flags.ts";
import { UsageError } from "../cli/fail.ts";

const DEFS: FlagDef[] = [
  { names: ["long", "l"], type: "bool", usage: "" },
  { names: ["depth", "de"], type: "bool", usage: "" },
  { names: ["dial", "d"], type: "string", usage: "" },
  { names: ["discover"], type: "string", usage: "" },
];

function usageError(args: string[], message: string): void {
  assert.throws(() => parseFlags(args, DEFS), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.equal(err.message, message);
    return true;
  });
}

Deno.test("parseFlags() reads Go-style flags", async (t) => {
  await t.step("a long flag takes one or two dashes, with or without =", () => {
    for (const args of [["-discover", "X"], ["--discover", "X"], ["-discover=X"], ["--discover=X"]]) {
      assert.equal(parseFlags(args, DEFS).strings.get("discover"), "X", args.join(" "));
    }
  });

  await t.step("a short alias sets the same flag as its long name", () => {
    const p = parseFlags(["-d", "u1", "-l", "-de"], DEFS);
    assert.equal(p.strings.get("dial"), "u1");
    assert.deepEqual([...p.bools].sort(), ["depth", "long"]);
  });

  await t.step("the last occurrence of a string flag wins", () => {
    assert.equal(parseFlags(["-dial", "a", "-d=b"], DEFS).strings.get("dial"), "b");
  });

  await t.step("a boolean flag takes no value, and accepts =true and =false", () => {
    assert.deepEqual(parseFlags(["-l", "/x"], DEFS).positionals, ["/x"]);
    assert.ok(parseFlags(["-l=true"], DEFS).bools.has("long"));
    assert.ok(!parseFlags(["-l", "-l=false"], DEFS).bools.has("long"));
    assert.ok(parseFlags(["--long=1"], DEFS).bools.has("long"));
  });

  await t.step("a boolean flag with an unparsable value is a usage error", () => {
    usageError(["-l=maybe"], 'invalid boolean value "maybe" for -l: parse error');
    usageError(["-l="], 'invalid boolean value "" for -l: parse error');
    usageError(["-l=constructor"], 'invalid boolean value "constructor" for -l: parse error');
  });

  await t.step("a value flag consumes the next argument, whatever it is", () => {
    assert.equal(parseFlags(["-d", "-l"], DEFS).strings.get("dial"), "-l");
    assert.equal(parseFlags(["-d", "--"], DEFS).strings.get("dial"), "--");
    const p = parseFlags(["-discover", "", "/"], DEFS);
    assert.equal(p.strings.get("discover"), "");
    assert.deepEqual(p.positionals, ["/"]);
  });

  await t.step("a value flag at the end is a usage error", () => {
    usageError(["/", "-d"], "flag needs an argument: -d");
    usageError(["--discover"], "flag needs an argument: -discover");
  });

  await t.step("flags may come after positional arguments", () => {
    const p = parseFlags(["/Xa/...", "-l", "-d", "u"], DEFS);
    assert.deepEqual(p.positionals, ["/Xa/..."]);
    assert.ok(p.bools.has("long"));
    assert.equal(p.strings.get("dial"), "u");
  });

  await t.step("-- ends flag parsing", () => {
    const p = parseFlags(["-l", "--", "-d", "-x", "--"], DEFS);
    assert.deepEqual(p.positionals, ["-d", "-x", "--"]);
    assert.ok(!p.strings.has("dial"));
  });

  await t.step("a negative number and a lone dash are positional", () => {
    assert.deepEqual(parseFlags(["/Xa/c", "-1"], DEFS).positionals, ["/Xa/c", "-1"]);
    assert.deepEqual(parseFlags(["-2.5", "-"], DEFS).positionals, ["-2.5", "-"]);
  });

  await t.step("an unknown flag is a usage error naming it with one dash", () => {
    usageError(["-x"], "flag provided but not defined: -x");
    usageError(["/", "--bogus=3"], "flag provided but not defined: -bogus");
  });

  await t.step("short flags are not bundled", () => {
    usageError(["-ld"], "flag provided but not defined: -ld");
  });

  await t.step("three dashes or an empty name is bad syntax", () => {
    usageError(["---l"], "bad flag syntax: ---l");
    usageError(["-=x"], "bad flag syntax: -=x");
  });

  await t.step("-h, -help and --help ask for help unless the command defines them", () => {
    for (const h of ["-h", "-help", "--help", "--h"]) assert.ok(parseFlags(["/", h, "-bogus"], DEFS).help, h);
    const own = parseFlags(["-h", "x"], [{ names: ["h"], type: "string", usage: "" }]);
    assert.equal(own.help, false);
    assert.equal(own.strings.get("h"), "x");
  });

  await t.step("no flags and no arguments parse to nothing", () => {
    const p = parseFlags([], DEFS);
    assert.deepEqual(p, {
      strings: new Map(),
      bools: new Set(),
      lists: new Map(),
      positionals: [],
      help: false,
    });
  });
});
