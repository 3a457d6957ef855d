/**
 * Fuzzing the docker Run JSON parser (SPEC §7.6): random and mutated container commands give a
 * CircuitError or a Run, never anything else. `CIRCUIT_FUZZ_N` and `CIRCUIT_FUZZ_SEED` as for
 * the other fuzz tests (see _fuzz.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseRun } from "../server/docker/run.ts";
import { CircuitError } from "../wire/errors.ts";
import { FRAMES, randomCmd } from "./_fuzz.ts";

Deno.test("random and mutated docker Run JSON gives a CircuitError or a Run, never anything else", () => {
  for (let i = 0; i < Math.max(10_000, FRAMES / 10); i++) {
    const v = randomCmd();
    try {
      const run = parseRun(v);
      assert.equal(typeof run.Image, "string");
    } catch (err) {
      assert.ok(err instanceof CircuitError, `${JSON.stringify(v)} threw ${err}`);
    }
  }
});
