/**
 * The process command JSON (SPEC §7.2, wire/cmd.ts): keys case-insensitive, unknown keys ignored,
 * defaults filled in and wrong types refused with `command json not parsing`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseCmdJson, validateCmd } from "../wire/cmd.ts";
import { CircuitError } from "../wire/errors.ts";
import { isCause } from "./_proc_element.ts";

Deno.test("Cmd JSON: keys case-insensitive, unknown keys ignored, wrong types refused", async (t) => {
  await t.step("fields and defaults", () => {
    assert.deepEqual(parseCmdJson('{"path": " /bin/sh ", "ARGS": ["-c", "x"], "Other": {"a": 1}}'), {
      Path: "/bin/sh",
      Args: ["-c", "x"],
      Env: null,
      Dir: "",
      Scrub: false,
    });
    assert.deepEqual(parseCmdJson('{"Path":"/x","Env":[],"dir":"/tmp","scrub":true,"args":null}'), {
      Path: "/x",
      Args: [],
      Env: [],
      Dir: "/tmp",
      Scrub: true,
    });
  });
  await t.step("errors", () => {
    const cases: [string, string][] = [
      ['{"Path": 3}', "Path must be a string"],
      ['{"Path": "/x", "Args": "a"}', "Args must be a list of strings"],
      ['{"Path": "/x", "Args": [1]}', "Args must be a list of strings"],
      ['{"Path": "/x", "Env": {}}', "Env must be a list of strings"],
      ['{"Path": "/x", "Scrub": "yes"}', "Scrub must be a boolean"],
      ['{"Path": "/x", "Dir": false}', "Dir must be a string"],
      ['{"Path": "  "}', "Path is required"],
      ["[]", "not a JSON object"],
      ["null", "not a JSON object"],
    ];
    for (const [text, reason] of cases) {
      assert.throws(() => parseCmdJson(text), isCause(`command json not parsing: ${reason}`), text);
    }
    assert.throws(() => parseCmdJson('{"Path": "/x"} {}'), CircuitError);
    assert.throws(() => validateCmd("text"), isCause("command json not parsing: not a JSON object"));
  });
});
