/**
 * Acceptance scenarios A23 and A29 of SPEC §12: a DNS element created, filled and scrubbed through
 * the real CLI on a real server, queried with the real `dig` over UDP and TCP on 127.0.0.1.
 *
 * @module
 */
import assert from "node:assert/strict";
import { A29_RECORDS, dig, freePort } from "./_dig.ts";
import { assertErr, assertQuiet, circuit, type RunResult, type TestServer, withServer } from "./_harness.ts";

/** Generous bound for a command that must not block; a hang then fails the test instead of stalling it. */
const _CMD_TIMEOUT_MS = 30_000;

/** Runs `circuit <cmd> -d <server URL> <rest>`, as §12 runs every client command. */
function on(server: TestServer) {
  return (cmd: string, ...rest: string[]): Promise<RunResult> =>
    circuit([cmd, "-d", server.url, ...rest], { timeoutMs: _CMD_TIMEOUT_MS });
}

const _TRANSPORTS = [["+notcp", "UDP"], ["+tcp", "TCP"]] as const;

Deno.test("A23: mkdns, set, peek, dig, unset, address in use and rebinding after scrub through the CLI", async (t) => {
  await withServer(async (a) => {
    const cli = on(a);
    const dns = `${a.serverAnchor}/dns`;
    const port = freePort();
    const mx = ["miek.nl.\t3600\tIN\tMX\t10 mx.miek.nl.", "miek.nl.\t3600\tIN\tMX\t20 mx2.miek.nl."];

    await t.step("mkdns on 127.0.0.1:$P exits 0 and peek shows the address and no records", async () => {
      assertQuiet(await cli("mkdns", dns, `127.0.0.1:${port}`), "mkdns");
      const r = await cli("peek", dns);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { Address: `127.0.0.1:${port}`, Records: {} });
    });

    await t.step("two MX records set in turn are listed in order in canonical form", async () => {
      assertQuiet(await cli("set", dns, "miek.nl. 3600 IN MX 10 mx.miek.nl."), "set MX 10");
      assertQuiet(await cli("set", dns, "miek.nl. 3600 IN MX 20 mx2.miek.nl."), "set MX 20");
      const r = await cli("peek", dns);
      assert.deepEqual(JSON.parse(r.stdout).Records["miek.nl."], mx);
    });

    await t.step("the ops log records each set with its record", async () => {
      const sets = (await a.opsLog()).filter((l) => l.Op === "dns");
      assert.deepEqual(sets.map((l) => [l.Path, l.Action, l.Arg]), [
        [dns, "set", "miek.nl. 3600 IN MX 10 mx.miek.nl."],
        [dns, "set", "miek.nl. 3600 IN MX 20 mx2.miek.nl."],
      ]);
    });

    for (const [flag, transport] of _TRANSPORTS) {
      await t.step(`dig miek.nl MX over ${transport} gets NOERROR, aa and both records`, async () => {
        const r = await dig(port, "miek.nl", "MX", flag);
        assert.equal(r.transport, transport);
        assert.equal(r.status, "NOERROR");
        assert.ok(r.flags.includes("aa"), r.raw);
        assert.deepEqual(r.answer, mx);
      });
    }

    await t.step("set of garbage and of the empty record fails with bad resource record", async () => {
      assertErr(await cli("set", dns, "garbage here"), "bad resource record");
      assertErr(await cli("set", dns, ""), "bad resource record");
      assert.deepEqual(JSON.parse((await cli("peek", dns)).stdout).Records, { "miek.nl.": mx });
    });

    await t.step("unset miek.nl without the dot removes the records and dig then gets NXDOMAIN", async () => {
      assertQuiet(await cli("unset", dns, "miek.nl"), "unset");
      assert.deepEqual(JSON.parse((await cli("peek", dns)).stdout).Records, {});
      for (const [flag] of _TRANSPORTS) {
        const r = await dig(port, "miek.nl", "MX", flag);
        assert.equal(r.status, "NXDOMAIN");
        assert.deepEqual(r.answer, []);
      }
    });

    await t.step("unset of a name that has no records exits 0", async () => {
      assertQuiet(await cli("unset", dns, "nothing.example."), "unset absent");
    });

    await t.step("a second mkdns on the same address fails with address already in use", async () => {
      assertErr(await cli("mkdns", `${a.serverAnchor}/dns2`, `127.0.0.1:${port}`), "address already in use");
      assert.equal((await cli("peek", `${a.serverAnchor}/dns2`)).stdout.trim(), "null");
    });

    await t.step("after scrub of the first element the second mkdns binds the address", async () => {
      assertQuiet(await cli("scrub", dns), "scrub");
      assert.equal((await cli("peek", dns)).stdout.trim(), "null");
      assertQuiet(await cli("mkdns", `${a.serverAnchor}/dns2`, `127.0.0.1:${port}`), "mkdns again");
      const r = await dig(port, "miek.nl", "MX");
      assert.equal(r.status, "NXDOMAIN");
      assertQuiet(await cli("scrub", `${a.serverAnchor}/dns2`), "scrub dns2");
    });

    await t.step("set on an anchor without a name server fails with not a nameserver element", async () => {
      assertErr(await cli("set", dns, "ex.org. IN A 192.0.2.1"), "not a nameserver element");
    });
  });
});

/** The six records of `ex.org.` in insertion order, as dig prints them. */
const _EX_ORG = {
  A: "ex.org.\t300\tIN\tA\t192.0.2.1",
  AAAA: "ex.org.\t3600\tIN\tAAAA\t2001:db8::1",
  MX: "ex.org.\t3600\tIN\tMX\t10 mail.ex.org.",
  NS: "ex.org.\t3600\tIN\tNS\tns1.ex.org.",
  TXT: 'ex.org.\t3600\tIN\tTXT\t"hello world"',
  SOA: "ex.org.\t3600\tIN\tSOA\tns1.ex.org. admin.ex.org. 1 7200 3600 1209600 300",
};

Deno.test("A29: records of every type set through the CLI are answered by type over UDP and TCP", async (t) => {
  await withServer(async (a) => {
    const cli = on(a);
    const dns = `${a.serverAnchor}/dns`;
    const port = freePort();
    assertQuiet(await cli("mkdns", dns, `127.0.0.1:${port}`), "mkdns");
    for (const rr of A29_RECORDS) assertQuiet(await cli("set", dns, rr), `set ${rr}`);

    for (const [type, record] of Object.entries(_EX_ORG)) {
      for (const [flag, transport] of _TRANSPORTS) {
        await t.step(`ex.org ${type} over ${transport} answers exactly the ${type} record`, async () => {
          const r = await dig(port, "ex.org", type, flag);
          assert.equal(r.transport, transport);
          assert.equal(r.status, "NOERROR");
          assert.deepEqual(r.answer, [record]);
          assert.ok(r.flags.includes("qr") && r.flags.includes("aa"), r.raw);
          assert.ok(!r.flags.includes("ra") && !r.flags.includes("tc"), r.raw);
        });
      }
    }

    for (const [flag, transport] of _TRANSPORTS) {
      await t.step(`_sip._tcp.ex.org SRV over ${transport} is 10 60 5060 sip.ex.org.`, async () => {
        const r = await dig(port, "_sip._tcp.ex.org", "SRV", flag);
        assert.equal(r.status, "NOERROR");
        assert.deepEqual(r.answer, ["_sip._tcp.ex.org.\t3600\tIN\tSRV\t10 60 5060 sip.ex.org."]);
      });

      await t.step(`dig -x 192.0.2.1 over ${transport} gets the PTR ex.org.`, async () => {
        const r = await dig(port, "-x", "192.0.2.1", flag);
        assert.equal(r.status, "NOERROR");
        assert.deepEqual(r.answer, ["1.2.0.192.in-addr.arpa.\t3600\tIN\tPTR\tex.org."]);
      });

      await t.step(`www.ex.org CNAME over ${transport} is the CNAME alone`, async () => {
        const r = await dig(port, "www.ex.org", "CNAME", flag);
        assert.deepEqual(r.answer, ["www.ex.org.\t3600\tIN\tCNAME\tex.org."]);
      });

      await t.step(`ex.org ANY over ${transport} returns all 6 records of ex.org.`, async () => {
        const r = await dig(port, "ex.org", "ANY", flag);
        assert.equal(r.transport, transport);
        assert.deepEqual(r.answer, Object.values(_EX_ORG));
      });

      await t.step(
        `EX.ORG A and eX.oRg MX over ${transport} get the same answers as lower case`,
        async () => {
          assert.deepEqual((await dig(port, "EX.ORG", "A", flag)).answer, [_EX_ORG.A]);
          assert.deepEqual((await dig(port, "eX.oRg", "MX", flag)).answer, [_EX_ORG.MX]);
          assert.deepEqual((await dig(port, "WWW.EX.ORG", "A", flag)).answer, [
            "www.ex.org.\t3600\tIN\tCNAME\tex.org.",
            _EX_ORG.A,
          ]);
        },
      );

      await t.step(`www.ex.org A over ${transport} gets the CNAME and the A record`, async () => {
        const r = await dig(port, "www.ex.org", "A", flag);
        assert.equal(r.status, "NOERROR");
        assert.deepEqual(r.answer, ["www.ex.org.\t3600\tIN\tCNAME\tex.org.", _EX_ORG.A]);
      });

      await t.step(
        `nope.ex.org A over ${transport} is NXDOMAIN with aa and the SOA in authority`,
        async () => {
          const r = await dig(port, "nope.ex.org", "A", flag);
          assert.equal(r.status, "NXDOMAIN");
          assert.ok(r.flags.includes("aa"), r.raw);
          assert.deepEqual(r.answer, []);
          assert.equal(r.authority.length, 1, r.raw);
          assert.match(r.authority[0], /^ex\.org\.\t\d+\tIN\tSOA\tns1\.ex\.org\. admin\.ex\.org\. 1 7200 /);
        },
      );

      await t.step(
        `ex.org SRV (a type the name lacks) over ${transport} is NOERROR, empty answer`,
        async () => {
          const r = await dig(port, "ex.org", "SRV", flag);
          assert.equal(r.status, "NOERROR");
          assert.ok(r.flags.includes("aa"), r.raw);
          assert.deepEqual(r.answer, []);
        },
      );
    }

    await t.step("ex.org MX over TCP is the same answer as over UDP", async () => {
      const [udp, tcp] = [await dig(port, "ex.org", "MX"), await dig(port, "ex.org", "MX", "+tcp")];
      assert.deepEqual([tcp.status, tcp.flags, tcp.answer], [udp.status, udp.flags, udp.answer]);
    });

    await t.step("peek lists the owners sorted, _sip._tcp.ex.org. included", async () => {
      const r = await cli("peek", dns);
      assert.equal(r.code, 0, r.stderr);
      const { Address, Records } = JSON.parse(r.stdout);
      assert.equal(Address, `127.0.0.1:${port}`);
      assert.deepEqual(Object.keys(Records), [
        "1.2.0.192.in-addr.arpa.",
        "_sip._tcp.ex.org.",
        "ex.org.",
        "www.ex.org.",
      ]);
      assert.deepEqual(Records["ex.org."], Object.values(_EX_ORG));
    });

    await t.step("a set after the first queries is answered at once", async () => {
      assertQuiet(await cli("set", dns, "ex.org. 300 IN A 192.0.2.2"), "set second A");
      const r = await dig(port, "ex.org", "A");
      assert.deepEqual(r.answer, [_EX_ORG.A, "ex.org.\t300\tIN\tA\t192.0.2.2"]);
    });

    await t.step("ls -l shows the element as dns", async () => {
      const r = await cli("ls", "-l", a.serverAnchor);
      assert.equal(r.stdout, `dns${" ".repeat(13)}${dns}\n`);
    });

    assertQuiet(await cli("scrub", dns), "scrub");
  });
});
