/**
 * The DNS name server element (SPEC §7.5, §12 A29) against the real `dig`, over real UDP and TCP
 * sockets on 127.0.0.1: every A29 record type answered authoritatively, CNAMEs, NXDOMAIN and
 * NOERROR with the SOA, flags, classes, EDNS and opcodes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { NameserverElement } from "../server/elements/dns.ts";
import { A29_RECORDS, dig } from "./_dig.ts";
import { testContext } from "./_dns_element.ts";
import { portOf } from "./_util.ts";

const EX_ORG = {
  A: "ex.org.\t300\tIN\tA\t192.0.2.1",
  AAAA: "ex.org.\t3600\tIN\tAAAA\t2001:db8::1",
  MX: "ex.org.\t3600\tIN\tMX\t10 mail.ex.org.",
  NS: "ex.org.\t3600\tIN\tNS\tns1.ex.org.",
  TXT: 'ex.org.\t3600\tIN\tTXT\t"hello world"',
  SOA: "ex.org.\t3600\tIN\tSOA\tns1.ex.org. admin.ex.org. 1 7200 3600 1209600 300",
};

Deno.test("nameserver answers every A29 record type authoritatively over UDP and TCP", async (t) => {
  const ns = await NameserverElement.create("127.0.0.1:0", testContext());
  try {
    const port = portOf(ns.address);
    for (const rr of A29_RECORDS) ns.set(rr);

    for (const [type, record] of Object.entries(EX_ORG)) {
      for (const transport of ["+notcp", "+tcp"]) {
        await t.step(`ex.org ${type} (${transport}) answers exactly the ${type} record`, async () => {
          const r = await dig(port, "ex.org", type, transport);
          assert.equal(r.status, "NOERROR");
          assert.deepEqual(r.answer, [record]);
          assert.equal(r.transport, transport === "+tcp" ? "TCP" : "UDP");
          assert.ok(r.flags.includes("aa") && r.flags.includes("qr"), r.raw);
          assert.ok(!r.flags.includes("ra") && !r.flags.includes("rd") && !r.flags.includes("tc"), r.raw);
        });
      }
    }

    await t.step("the SRV record of _sip._tcp.ex.org is 10 60 5060 sip.ex.org.", async () => {
      for (const transport of ["+notcp", "+tcp"]) {
        const r = await dig(port, "_sip._tcp.ex.org", "SRV", transport);
        assert.deepEqual(r.answer, ["_sip._tcp.ex.org.\t3600\tIN\tSRV\t10 60 5060 sip.ex.org."]);
      }
    });

    await t.step("dig -x 192.0.2.1 gets the PTR ex.org.", async () => {
      for (const transport of ["+notcp", "+tcp"]) {
        const r = await dig(port, "-x", "192.0.2.1", transport);
        assert.equal(r.status, "NOERROR");
        assert.deepEqual(r.answer, ["1.2.0.192.in-addr.arpa.\t3600\tIN\tPTR\tex.org."]);
      }
    });

    await t.step("ANY returns all six records of ex.org. over UDP and TCP", async () => {
      for (const transport of ["+notcp", "+tcp"]) {
        const r = await dig(port, "ex.org", "ANY", transport);
        assert.equal(r.transport, transport === "+tcp" ? "TCP" : "UDP");
        assert.deepEqual(r.answer, Object.values(EX_ORG));
      }
    });

    await t.step("a mixed-case query gets the same answer as the lower-case one", async () => {
      assert.deepEqual((await dig(port, "EX.ORG", "A")).answer, [EX_ORG.A]);
      assert.deepEqual((await dig(port, "eX.oRg", "MX", "+tcp")).answer, [EX_ORG.MX]);
      assert.deepEqual((await dig(port, "WWW.Ex.Org", "A")).answer.length, 2);
    });

    await t.step("www.ex.org A returns the CNAME and then the target's A record", async () => {
      for (const transport of ["+notcp", "+tcp"]) {
        const r = await dig(port, "www.ex.org", "A", transport);
        assert.equal(r.status, "NOERROR");
        assert.deepEqual(r.answer, ["www.ex.org.\t3600\tIN\tCNAME\tex.org.", EX_ORG.A]);
      }
    });

    await t.step("www.ex.org CNAME returns the CNAME alone", async () => {
      assert.deepEqual((await dig(port, "www.ex.org", "CNAME")).answer, [
        "www.ex.org.\t3600\tIN\tCNAME\tex.org.",
      ]);
    });

    await t.step("an unknown name is NXDOMAIN with aa and the SOA (negative TTL) in authority", async () => {
      for (const transport of ["+notcp", "+tcp"]) {
        const r = await dig(port, "nope.ex.org", "A", transport);
        assert.equal(r.status, "NXDOMAIN");
        assert.ok(r.flags.includes("aa"), r.raw);
        assert.deepEqual(r.answer, []);
        // RFC 2308: min(SOA TTL 3600, MINIMUM 300)
        assert.deepEqual(r.authority, [
          "ex.org.\t300\tIN\tSOA\tns1.ex.org. admin.ex.org. 1 7200 3600 1209600 300",
        ]);
      }
    });

    await t.step("an existing name queried for a missing type is NOERROR with an empty answer", async () => {
      const r = await dig(port, "ex.org", "SRV");
      assert.equal(r.status, "NOERROR");
      assert.ok(r.flags.includes("aa"), r.raw);
      assert.deepEqual(r.answer, []);
      assert.equal(r.authority.length, 1);
      assert.match(r.authority[0], /^ex\.org\.\t300\tIN\tSOA\t/);
    });

    await t.step("a name that only has descendants (_tcp.ex.org) is NOERROR, not NXDOMAIN", async () => {
      const r = await dig(port, "_tcp.ex.org", "A");
      assert.equal(r.status, "NOERROR");
      assert.deepEqual(r.answer, []);
    });

    await t.step("a name outside every SOA is NXDOMAIN with an empty authority section", async () => {
      const r = await dig(port, "nothing.example", "A");
      assert.equal(r.status, "NXDOMAIN");
      assert.ok(r.flags.includes("aa"), r.raw);
      assert.deepEqual(r.authority, []);
    });

    await t.step("the RD flag is copied into the response and RA stays clear", async () => {
      const r = await dig(port, "ex.org", "A", "+recurse");
      assert.ok(r.flags.includes("rd") && !r.flags.includes("ra"), r.raw);
      assert.match(r.raw, /WARNING: recursion requested but not available/);
    });

    await t.step("a query of class CH is REFUSED", async () => {
      const r = await dig(port, "-c", "CH", "ex.org", "A");
      assert.equal(r.status, "REFUSED");
      assert.deepEqual(r.answer, []);
    });

    await t.step("a query without EDNS is answered too", async () => {
      const r = await dig(port, "ex.org", "MX", "+noedns");
      assert.deepEqual(r.answer, [EX_ORG.MX]);
      assert.doesNotMatch(r.raw, /OPT PSEUDOSECTION/);
    });

    await t.step("a query with EDNS gets an OPT record back", async () => {
      assert.match((await dig(port, "ex.org", "MX")).raw, /; EDNS: version: 0, flags:; udp: 1232/);
    });

    await t.step("a query with opcode STATUS is NOTIMP", async () => {
      assert.equal((await dig(port, "ex.org", "A", "+opcode=2", "+noedns")).status, "NOTIMP");
    });

    await t.step("peek lists the owners sorted by code point, _sip._tcp.ex.org. included", () => {
      const { Address, Records } = ns.peek();
      assert.equal(Address, `127.0.0.1:${port}`);
      assert.deepEqual(Object.keys(Records), [
        "1.2.0.192.in-addr.arpa.",
        "_sip._tcp.ex.org.",
        "ex.org.",
        "www.ex.org.",
      ]);
      assert.deepEqual(Records["ex.org."], Object.values(EX_ORG));
    });
  } finally {
    await ns.scrub();
  }
});
