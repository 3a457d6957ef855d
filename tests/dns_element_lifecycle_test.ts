/**
 * The DNS name server element's life (SPEC §7.5, §12 A23) against the real `dig`: set, peek, unset,
 * address in use, rebinding after scrub, repeated scrub and dispose, the default address and an
 * unparsable one.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CircuitError } from "../wire/errors.ts";
import { NameserverElement } from "../server/elements/dns.ts";
import { dig } from "./_dig.ts";
import { testContext } from "./_dns_element.ts";
import { portOf } from "./_util.ts";

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
