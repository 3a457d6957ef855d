import assert from "node:assert/strict";
import { OutputSampler } from "../cli/console/output_sampler.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("output sampler: output under the limit goes whole, a character split across chunks intact", () => {
  const s = new OutputSampler(64);
  const euro = bytes("€"); // three bytes
  s.add(bytes("price: "));
  s.add(euro.subarray(0, 1));
  assert.deepEqual(s.take(), { text: "price: ", skipped: 0 });
  s.add(euro.subarray(1));
  s.add(bytes("5\n"));
  assert.deepEqual(s.take(), { text: "€5\n", skipped: 0 });
  assert.deepEqual(s.empty, true);
});

Deno.test("output sampler: a flood keeps the newest bytes and counts the rest as skipped", () => {
  const s = new OutputSampler(10);
  for (let i = 0; i < 100; i++) s.add(bytes(`${i % 10}`.repeat(10)));
  const got = s.take();
  assert.deepEqual(got, { text: "9999999999", skipped: 990 });
  s.add(bytes("next"));
  assert.deepEqual(s.take(), { text: "next", skipped: 0 }, "a take starts the count afresh");
});

Deno.test("output sampler: a cut inside a character starts at the next one and counts the part skipped", () => {
  const s = new OutputSampler(5);
  s.add(bytes("ab€€")); // 2 + 3 + 3 bytes: the newest 5 begin inside the first €
  assert.deepEqual(s.take(), { text: "€", skipped: 5 });
});
