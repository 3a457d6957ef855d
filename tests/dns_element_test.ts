/**
 * The DNS name server element (SPEC §7.5, §12 A23 and A29) against the real `dig`, over real
 * UDP and TCP sockets on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import { DnsListener } from "../server/dns/listener.ts";
import { NameserverElement } from "../server/elements/dns.ts";
import type { ElementContext } from "../server/elements/element.ts";
import { A29_RECORDS, dig } from "./_dig.ts";
import { portOf } from "./_util.ts";

function testContext(): ElementContext & { logs: string[] } {
  return {
    path: "/Xtest/dns",
    logs: [],
    detachSelf() {},
    log(message: string) {
      this.logs.push(message);
    },
  };
}

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

Deno.test("nameserver element basics: set, peek, dig, unset, address in use, rebind after scrub (A23)", async (t) => {
  const ns = await NameserverElement.create("127.0.0.1:0", testContext());
  let second: NameserverElement | undefined;
  try {
    const port = portOf(ns.address);
    const mx = ["miek.nl.\t3600\tIN\tMX\t10 mx.miek.nl.", "miek.nl.\t3600\tIN\tMX\t20 mx2.miek.nl."];

    await t.step("a new element peeks its address and no records", () => {
      assert.equal(ns.address, `127.0.0.1:${port}`);
      assert.deepEqual(ns.peek(), { Address: `127.0.0.1:${port}`, Records: {} });
    });

    await t.step("set appends records to their owner in canonical form", () => {
      ns.set("miek.nl. 3600 IN MX 10 mx.miek.nl.");
      ns.set("miek.nl. 3600 IN MX 20 mx2.miek.nl.");
      assert.deepEqual(ns.peek().Records, { "miek.nl.": mx });
    });

    await t.step("an identical record, even spelled differently, is stored once", () => {
      ns.set("MIEK.NL IN 3600 MX 10 mx.miek.nl");
      ns.set("miek.nl. MX 20 mx2.miek.nl.");
      assert.deepEqual(ns.peek().Records, { "miek.nl.": mx });
    });

    await t.step("dig MX gets NOERROR, aa and both MX records", async () => {
      const r = await dig(port, "miek.nl", "MX");
      assert.equal(r.status, "NOERROR");
      assert.ok(r.flags.includes("aa"), r.raw);
      assert.deepEqual(r.answer, mx);
    });

    await t.step("set refuses garbage and the empty record with bad resource record", () => {
      for (const bad of ["garbage here", "", "   "]) {
        assert.throws(() => ns.set(bad), (err) => {
          assert.ok(err instanceof CircuitError);
          assert.match(err.message, /^bad resource record: ./);
          return true;
        });
      }
      assert.deepEqual(ns.peek().Records, { "miek.nl.": mx });
    });

    await t.step("unset without the trailing dot and in other case removes the owner", async () => {
      ns.unset("MIEK.nl");
      assert.deepEqual(ns.peek().Records, {});
      const r = await dig(port, "miek.nl", "MX");
      assert.equal(r.status, "NXDOMAIN");
      assert.ok(r.flags.includes("aa"), r.raw);
    });

    await t.step("unset of an absent or invalid name is no error", () => {
      ns.unset("absent.example.");
      ns.unset("a..b");
      ns.unset("");
    });

    await t.step("a second element on the same address fails with address already in use", async () => {
      await assert.rejects(NameserverElement.create(`127.0.0.1:${port}`, testContext()), (err) => {
        assert.ok(err instanceof CircuitError);
        assert.equal(err.message, `listen udp 127.0.0.1:${port}: address already in use`);
        return true;
      });
    });

    await t.step(
      "after scrub, with a TCP client connected before, the address binds again at once",
      async () => {
        const client = await Deno.connect({ hostname: "127.0.0.1", port });
        await dig(port, "miek.nl", "MX", "+tcp");
        await ns.scrub();
        assert.equal(await client.read(new Uint8Array(1)), null, "scrub closes open TCP connections");
        client.close();
        second = await NameserverElement.create(`127.0.0.1:${port}`, testContext());
        second.set("miek.nl. MX 10 mx.miek.nl.");
        assert.deepEqual((await dig(port, "miek.nl", "MX", "+tcp")).answer, [mx[0]]);
        assert.deepEqual((await dig(port, "miek.nl", "MX")).answer, [mx[0]]);
      },
    );
  } finally {
    await ns.scrub();
    await second?.scrub();
  }
});

Deno.test("scrub and dispose may both be called, repeatedly", async () => {
  const ns = await NameserverElement.create("127.0.0.1:0", testContext());
  await ns.scrub();
  await ns.scrub();
  ns.dispose();
  ns.dispose();
  // dispose does not wait, so bind once more to prove the port is free
  const again = await NameserverElement.create(ns.address, testContext());
  await again.scrub();
});

Deno.test("an element created without an address binds 0.0.0.0 on a port free for UDP and TCP", async () => {
  const ns = await NameserverElement.create(undefined, testContext());
  try {
    assert.match(ns.address, /^0\.0\.0\.0:[1-9][0-9]*$/);
    ns.set("a.example. A 10.0.0.1");
    const port = portOf(ns.address);
    assert.deepEqual((await dig(port, "a.example", "A")).answer, ["a.example.\t3600\tIN\tA\t10.0.0.1"]);
    assert.deepEqual((await dig(port, "a.example", "A", "+tcp")).answer, [
      "a.example.\t3600\tIN\tA\t10.0.0.1",
    ]);
  } finally {
    await ns.scrub();
  }
});

Deno.test("an unparsable address fails creation with a CircuitError", async () => {
  await assert.rejects(NameserverElement.create("127.0.0.1:http", testContext()), CircuitError);
});

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

Deno.test("an answer too large for UDP is truncated with TC and complete over TCP", async () => {
  const ns = await NameserverElement.create("127.0.0.1:0", testContext());
  try {
    const port = portOf(ns.address);
    const texts = Array.from({ length: 40 }, (_, i) => `"${"t".repeat(100)} ${String(i).padStart(2, "0")}"`);
    for (const text of texts) ns.set(`big.example. TXT ${text}`);
    const udp = await dig(port, "big.example", "TXT", "+ignore");
    assert.equal(udp.transport, "UDP");
    assert.ok(udp.flags.includes("tc"), udp.raw);
    assert.deepEqual(udp.answer, []);
    const plain = await dig(port, "big.example", "TXT", "+noedns", "+ignore");
    assert.ok(plain.flags.includes("tc"), plain.raw);
    const tcp = await dig(port, "big.example", "TXT", "+tcp");
    assert.ok(!tcp.flags.includes("tc"), tcp.raw);
    assert.deepEqual(tcp.answer, texts.map((text) => `big.example.\t3600\tIN\tTXT\t${text}`));
    // without +ignore dig itself retries over TCP, as SPEC §7.5 intends
    const retried = await dig(port, "big.example", "TXT");
    assert.equal(retried.transport, "TCP");
    assert.equal(retried.answer.length, 40);
    // a client announcing a large EDNS buffer gets everything over UDP
    const large = await dig(port, "big.example", "TXT", "+bufsize=8192", "+ignore");
    assert.equal(large.transport, "UDP");
    assert.equal(large.answer.length, 40);
  } finally {
    await ns.scrub();
  }
});

/** A query message for `name` and `type` with ID `id`, no EDNS. */
function query(id: number, name: string, type: number): Uint8Array {
  const labels = name.split(".").filter((l) => l !== "").map((l) => new TextEncoder().encode(l));
  const out = [id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const l of labels) out.push(l.length, ...l);
  out.push(0, type >> 8, type & 0xff, 0, 1);
  return Uint8Array.from(out);
}

function frame(message: Uint8Array): Uint8Array {
  return Uint8Array.from([message.length >> 8, message.length & 0xff, ...message]);
}

async function readFrame(conn: Deno.Conn): Promise<Uint8Array | null> {
  const read = async (n: number) => {
    const buf = new Uint8Array(n);
    for (let at = 0; at < n;) {
      const got = await conn.read(buf.subarray(at));
      if (got === null) return null;
      at += got;
    }
    return buf;
  };
  const size = await read(2);
  return size === null ? null : await read((size[0] << 8) | size[1]);
}

Deno.test("TCP answers several queries sent on one connection, in order", async () => {
  const ns = await NameserverElement.create("127.0.0.1:0", testContext());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(ns.address) });
  try {
    ns.set("ex.org. A 192.0.2.1");
    // all three in one write, the last split across two writes
    const third = frame(query(3, "ex.org", 1));
    await conn.write(
      Uint8Array.from([
        ...frame(query(1, "ex.org", 1)),
        ...frame(query(2, "nope.org", 1)),
        ...third.slice(0, 5),
      ]),
    );
    await conn.write(third.slice(5));
    const answers = [await readFrame(conn), await readFrame(conn), await readFrame(conn)];
    assert.deepEqual(answers.map((a) => a && (a[0] << 8 | a[1])), [1, 2, 3]);
    // RCODE and ANCOUNT: NOERROR with one answer, NXDOMAIN with none, NOERROR with one
    assert.deepEqual(answers.map((a) => a && [a[3] & 0x0f, a[7]]), [[0, 1], [3, 0], [0, 1]]);
  } finally {
    conn.close();
    await ns.scrub();
  }
});

Deno.test("UDP answers a malformed query with FORMERR and ignores a datagram shorter than a header", async () => {
  const ns = await NameserverElement.create("127.0.0.1:0", testContext());
  const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const server = { transport: "udp" as const, hostname: "127.0.0.1", port: portOf(ns.address) };
    await client.send(Uint8Array.of(1, 2, 3), server);
    const truncated = query(9, "ex.org", 1).slice(0, 20);
    await client.send(truncated, server);
    const [reply] = await client.receive();
    assert.equal(reply[0] << 8 | reply[1], 9, "the FORMERR answers the second datagram, the first got none");
    assert.equal(reply[2] & 0x80, 0x80);
    assert.equal(reply[3] & 0x0f, 1);
  } finally {
    client.close();
    await ns.scrub();
  }
});

Deno.test("TCP closes idle connections and those beyond the connection limit", async () => {
  const answer = (q: Uint8Array) => q.slice();
  const listener = DnsListener.bind("127.0.0.1", 0, answer, () => {}, { idleMs: 300, maxConnections: 2 });
  const port = portOf(listener.address);
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 3; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const started = Date.now();
    assert.equal(await conns[2].read(new Uint8Array(1)), null, "the third connection is closed at once");
    assert.ok(Date.now() - started < 250);
    const echo = frame(query(5, "x", 1));
    await conns[0].write(echo);
    assert.deepEqual(await readFrame(conns[0]), echo.slice(2));
    assert.equal(await conns[1].read(new Uint8Array(1)), null, "an idle connection is closed");
    assert.ok(Date.now() - started >= 250);
    assert.equal(await conns[0].read(new Uint8Array(1)), null);
  } finally {
    for (const c of conns) c.close();
    await listener.close();
  }
});
