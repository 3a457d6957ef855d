/**
 * Random and mutated DNS messages against the name server (SPEC §7.5): whatever arrives, the
 * answering function does not throw and the element keeps serving. `CIRCUIT_FUZZ_N` sets how
 * many inputs each step sends (default 20000); `CIRCUIT_FUZZ_SEED` replays a run.
 */
import assert from "node:assert/strict";
import { answerQuery } from "../server/dns/answer.ts";
import { parseRecord } from "../server/dns/record.ts";
import { Zone } from "../server/dns/zone.ts";
import { NameserverElement } from "../server/elements/dns.ts";
import { A29_RECORDS, digShort } from "./_dig.ts";
import { prng } from "./_util.ts";

const N = Number(Deno.env.get("CIRCUIT_FUZZ_N") ?? "20000");
const SEED = Number(Deno.env.get("CIRCUIT_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 32));

// A29's records, a CNAME loop, and a name whose answer does not fit in 512 bytes.
const RECORDS = [
  ...A29_RECORDS,
  "loop.ex.org. IN CNAME loop2.ex.org.",
  "loop2.ex.org. IN CNAME loop.ex.org.",
  ...Array.from({ length: 30 }, (_, i) => `big.ex.org. TXT "${"b".repeat(60)}${i}"`),
];

/** Integers in [0, n) from the seedable PRNG, so a failing run can be replayed. */
function random(seed: number): (n: number) => number {
  const rand = prng(seed);
  return (n) => Math.floor(rand() * n);
}

const NAMES = [
  "ex.org",
  "EX.ORG",
  "www.ex.org",
  "loop.ex.org",
  "_sip._tcp.ex.org",
  "big.ex.org",
  "nope.ex.org",
  "",
];
const TYPES = [1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 251, 252, 255, 0, 65535];

function validQuery(rnd: (n: number) => number): number[] {
  const edns = rnd(2) === 1;
  const out = [rnd(256), rnd(256), rnd(2) << 0, 0, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0];
  for (const label of NAMES[rnd(NAMES.length)].split(".").filter((l) => l !== "")) {
    out.push(label.length, ...new TextEncoder().encode(label));
  }
  const type = TYPES[rnd(TYPES.length)];
  out.push(0, type >> 8, type & 0xff, 0, rnd(8) === 0 ? 3 : 1);
  // OPT: root owner, type 41, UDP size, extended RCODE and version, flags, no options
  if (edns) out.push(0, 0, 41, rnd(256), rnd(256), 0, rnd(4) === 0 ? 1 : 0, 0, 0, 0, 0);
  return out;
}

function fuzzInput(rnd: (n: number) => number): Uint8Array {
  if (rnd(4) === 0) return Uint8Array.from({ length: rnd(600) }, () => rnd(256));
  const b = validQuery(rnd);
  for (let k = 1 + rnd(4); k > 0; k--) {
    const at = rnd(b.length + 1);
    switch (rnd(7)) {
      case 0:
        b[Math.min(at, b.length - 1)] ^= 1 << rnd(8);
        break;
      case 1:
        b[Math.min(at, b.length - 1)] = rnd(256);
        break;
      case 2:
        b.length = at;
        break;
      case 3:
        b.splice(at, 0, ...Array.from({ length: 1 + rnd(40) }, () => rnd(256)));
        break;
      case 4:
        // a section count that lies about what follows
        b[4 + rnd(8)] = rnd(4) === 0 ? 255 : rnd(4);
        break;
      case 5:
        // a compression pointer, anywhere, to anywhere
        b.splice(at, 0, 0xc0 | rnd(64), rnd(256));
        break;
      case 6:
        b.splice(at, 0, ...b.slice(rnd(b.length), rnd(b.length)));
        break;
    }
  }
  if (rnd(2) === 0 && b.length > 2) b[2] &= 0x7f; // mostly queries, not responses, so they get answers
  return Uint8Array.from(b);
}

Deno.test(`random and mutated DNS messages never break the name server (seed ${SEED}, n ${N})`, async (t) => {
  const rnd = random(SEED);

  await t.step("answerQuery never throws, and every response echoes the ID with QR set", () => {
    const zone = new Zone();
    for (const rr of RECORDS) zone.add(parseRecord(rr));
    for (let i = 0; i < N; i++) {
      const input = fuzzInput(rnd);
      for (const transport of ["udp", "tcp"] as const) {
        let response: Uint8Array | null;
        try {
          response = answerQuery(zone, input, transport);
        } catch (err) {
          throw new Error(`input ${Array.from(input)} over ${transport} threw: ${err}`);
        }
        if (response === null) {
          assert.ok(input.length < 12 || (input[2] & 0x80) !== 0, `dropped a query: ${Array.from(input)}`);
          continue;
        }
        assert.ok(response.length >= 12);
        assert.deepEqual([response[0], response[1]], [input[0], input[1]]);
        assert.equal(response[2] & 0x80, 0x80);
        if (transport === "udp") assert.ok(response.length <= 65535);
      }
    }
  });

  const logs: string[] = [];
  const ns = await NameserverElement.create("127.0.0.1:0", {
    path: "/Xtest/dns",
    detachSelf() {},
    log: (m) => logs.push(m),
  });
  const port = Number(ns.address.slice(ns.address.lastIndexOf(":") + 1));
  try {
    for (const rr of RECORDS) ns.set(rr);

    await t.step("the element survives fuzzed UDP datagrams and answers some of them", async () => {
      const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      let answered = 0;
      const receiving = (async () => {
        try {
          for (;;) {
            await client.receive();
            answered++;
          }
        } catch {
          // closed below
        }
      })();
      const server = { transport: "udp" as const, hostname: "127.0.0.1", port };
      for (let i = 0; i < N; i++) {
        await client.send(fuzzInput(rnd), server);
        // the server shares this event loop: give it turns, else the socket buffer overflows
        if (i % 32 === 31) await new Promise((r) => setTimeout(r, 0));
      }
      await new Promise((r) => setTimeout(r, 100));
      client.close();
      await receiving;
      assert.ok(answered > 0, "no datagram was answered");
    });

    await t.step("the element survives fuzzed TCP frames and lying length prefixes", async () => {
      // a batch of inputs per connection, a few connections at a time, below the connection limit
      const perConnection = 50;
      const parallel = 8;
      let next = 0;
      const worker = async () => {
        while (next < N) {
          const frames: number[] = [];
          for (let i = 0; i < perConnection && next < N; i++, next++) {
            const input = fuzzInput(rnd);
            // now and then a length prefix that does not match the message
            const size = rnd(10) === 0 ? rnd(65536) : input.length;
            frames.push(size >> 8, size & 0xff, ...input);
          }
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          try {
            await conn.write(Uint8Array.from(frames));
            await conn.closeWrite();
            const sink = new Uint8Array(65536);
            while (await conn.read(sink) !== null) {
              // drain until the server closes
            }
          } catch {
            // the server may reset a connection whose frames it gave up on
          } finally {
            conn.close();
          }
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
    });

    await t.step(
      "afterwards the element still answers dig over UDP and TCP, and nothing threw inside",
      async () => {
        assert.equal(await digShort(port, "+notcp", "www.ex.org", "A"), "ex.org.\n192.0.2.1");
        assert.equal(await digShort(port, "+tcp", "www.ex.org", "A"), "ex.org.\n192.0.2.1");
        assert.deepEqual(logs.filter((l) => l.includes("failed")), []);
      },
    );
  } finally {
    await ns.scrub();
  }
});
