/**
 * Records of the DNS name server element (SPEC §7.5): zone-file syntax parsed, each type stored and
 * served the way `dig` prints it, long TXT strings split, and bad records refused with `bad
 * resource record`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import { NameserverElement } from "../server/elements/dns.ts";
import { dig } from "./_dig.ts";
import { testContext } from "./_dns_element.ts";
import { portOf } from "./_util.ts";

Deno.test("set parses zone-file syntax and prints each type the way dig does", async (t) => {
  const ns = await NameserverElement.create("127.0.0.1:0", testContext());
  try {
    const port = portOf(ns.address);
    const cases: [input: string, canonical: string, digArgs: string[]][] = [
      ["a.example 60 A 10.1.2.3", "a.example.\t60\tIN\tA\t10.1.2.3", ["a.example", "A"]],
      ["b.example IN 1h30m AAAA 2001:DB8:0:0:1:0:0:1", "b.example.\t5400\tIN\tAAAA\t2001:db8::1:0:0:1", [
        "b.example",
        "AAAA",
      ]],
      ["c.example AAAA ::ffff:192.0.2.1", "c.example.\t3600\tIN\tAAAA\t::ffff:192.0.2.1", [
        "c.example",
        "AAAA",
      ]],
      [
        'd.example TXT "a \\"quoted\\" word" two "\\255\\009"',
        'd.example.\t3600\tIN\tTXT\t"a \\"quoted\\" word" "two" "\\255\\009"',
        ["d.example", "TXT"],
      ],
      [
        "e.example SOA ( ns.e.example. host.e.example. ; serial next\n 2024 1h 15m 1w 1d )",
        "e.example.\t3600\tIN\tSOA\tns.e.example. host.e.example. 2024 3600 900 604800 86400",
        [
          "e.example",
          "SOA",
        ],
      ],
      ["f\\.g.example A 10.0.0.2", "f\\.g.example.\t3600\tIN\tA\t10.0.0.2", ["f\\.g.example", "A"]],
      ["h.example NS relative.name", "h.example.\t3600\tIN\tNS\trelative.name.", ["h.example", "NS"]],
    ];
    for (const [input, canonical, digArgs] of cases) {
      await t.step(
        `${JSON.stringify(input)} is stored and served as ${JSON.stringify(canonical)}`,
        async () => {
          ns.set(input);
          const owner = canonical.slice(0, canonical.indexOf("\t"));
          assert.deepEqual(ns.peek().Records[owner], [canonical]);
          assert.deepEqual((await dig(port, ...digArgs)).answer, [canonical]);
        },
      );
    }

    await t.step("a TXT string longer than 255 bytes is split into 255-byte strings", () => {
      ns.set(`long.example TXT ${"x".repeat(300)}`);
      assert.deepEqual(ns.peek().Records["long.example."], [
        `long.example.\t3600\tIN\tTXT\t"${"x".repeat(255)}" "${"x".repeat(45)}"`,
      ]);
    });

    const bad: [string, RegExp][] = [
      ["x.example A 1.2.3", /bad IPv4 address 1\.2\.3/],
      ["x.example A 01.2.3.4", /bad IPv4 address/],
      ["x.example AAAA 1:2:3", /bad IPv6 address/],
      ["x.example CH A 1.2.3.4", /class CH not supported/],
      ["x.example A", /missing rdata for A/],
      ["x.example A 1.2.3.4 5.6.7.8", /extra rdata for A/],
      ["x.example MX 70000 mx.example.", /bad MX preference 70000/],
      ["x.example MX 10", /missing rdata for MX/],
      ["x.example SRV 1 2 mx.example.", /missing rdata for SRV/],
      ['x.example TXT "open', /unterminated quoted string/],
      ["x.example TXT", /missing rdata for TXT/],
      ["x.example SOA a. b. 1 2 3 4", /missing rdata for SOA/],
      ["x..example A 1.2.3.4", /empty label/],
      [`${"a".repeat(64)}.example A 1.2.3.4`, /label longer than 63/],
      ["x.example 99999999999 A 1.2.3.4", /TTL .* out of range/],
      ['x.example CAA 0 issue "ca"', /unsupported type CAA/],
      ["x.example ( A 1.2.3.4", /unbalanced parenthesis/],
      ['x.example CNAME "quoted"', /quoted string/],
    ];
    for (const [input, reason] of bad) {
      await t.step(`set ${JSON.stringify(input)} fails with bad resource record: ${reason.source}`, () => {
        assert.throws(() => ns.set(input), (err) => {
          assert.ok(err instanceof CircuitError);
          assert.match(err.message, /^bad resource record: /);
          assert.match(err.message, reason);
          return true;
        });
      });
    }
  } finally {
    await ns.scrub();
  }
});
