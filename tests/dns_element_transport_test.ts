/**
 * The DNS name server element's transports (SPEC §7.5) over real sockets on 127.0.0.1: an answer
 * too large for UDP truncated with TC, several queries on one TCP connection, FORMERR over UDP, and
 * TCP's idle and connection limits.
 *
 * @module
 */
import assert from "node:assert/strict";
import { DnsListener } from "../server/dns/listener.ts";
import { NameserverElement } from "../server/elements/dns.ts";
import { dig } from "./_dig.ts";
import { testContext } from "./_dns_element.ts";
import { portOf } from "./_util.ts";

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
