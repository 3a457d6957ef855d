/**
 * SPEC §7.7: a reader acknowledges at least every 64 KiB it has handed on, whatever the credit
 * window, so the next reader after a SIGKILLed one sees again at most 64 KiB: process stdout and
 * stderr through the real CLI (also forwarded by another server), and a channel body read
 * through a real connection.
 *
 * @module
 */
import assert from "node:assert/strict";
import { eventually, spawnCircuit, TestServer } from "./_harness.ts";
import { Connection, type IncomingCall } from "../wire/connection.ts";
import { FrameTransport } from "../wire/transport.ts";
import { ChanElement } from "../server/elements/chan.ts";
import type { AckedReader } from "../wire/streams.ts";
import { sleep } from "./_util.ts";
import { concat } from "../wire/bytes.ts";

/** SPEC §7.7's bound on what a killed reader's successor may see again. */
const REPEAT_LIMIT = 64 * 1024;

// `seq -w 1 150000`: 150 000 lines of 7 bytes, every offset's content unique, about 1 MB.
const LINES = 150_000;
const EXPECTED = new TextEncoder().encode(
  Array.from({ length: LINES }, (_, i) => String(i + 1).padStart(6, "0") + "\n").join(""),
);

/**
 * Runs `circuit <args>`, reads `atLeast` bytes of its stdout, lets it block on the full pipe,
 * SIGKILLs it and returns everything it wrote (the pipe keeps what was written before the kill).
 */
async function printedBeforeKill(args: string[], atLeast: number): Promise<Uint8Array> {
  const child = spawnCircuit(args);
  const reader = child.stdout.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  while (n < atLeast) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.length;
  }
  // The CLI writes on until the pipe is full; its acknowledgements for what it wrote leave meanwhile.
  await sleep(500);
  child.kill("SIGKILL");
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  await child.stderr.cancel();
  await child.status;
  return concat(parts);
}

async function run(args: string[]): Promise<Uint8Array> {
  const child = spawnCircuit(args);
  const [out, status] = await Promise.all([
    new Response(child.stdout).bytes(),
    child.status,
    child.stderr.cancel(),
  ]);
  assert.equal(status.code, 0, `circuit ${args.join(" ")} failed`);
  return out;
}

/** Asserts that `first` and `second` together are the whole output, overlapping by at most 64 KiB. */
function assertSplit(first: Uint8Array, second: Uint8Array): void {
  assert.ok(
    first.length > 0 && first.length < EXPECTED.length,
    `the killed reader printed ${first.length} bytes`,
  );
  assert.deepEqual(first, EXPECTED.subarray(0, first.length), "the killed reader printed a prefix");
  const resumedAt = EXPECTED.length - second.length;
  assert.deepEqual(second, EXPECTED.subarray(resumedAt), "the next reader printed a suffix");
  const seenAgain = first.length - resumedAt;
  assert.ok(seenAgain >= 0, `${-seenAgain} bytes lost`);
  assert.ok(seenAgain <= REPEAT_LIMIT, `the next reader saw ${seenAgain} bytes again`);
}

Deno.test("a SIGKILLed reader of 1 MB of output leaves at most 64 KiB to be seen again", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "circuit-redelivery-" });
  const a = await TestServer.start(dir);
  try {
    const mk = async (name: string, script: string) => {
      const child = spawnCircuit(["mkproc", "-d", a.url, `${a.serverAnchor}/${name}`], { stdin: "piped" });
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(JSON.stringify({ Path: "/bin/sh", Args: ["-c", script] })));
      await w.close();
      const [status] = await Promise.all([child.status, child.stdout.cancel(), child.stderr.cancel()]);
      assert.equal(status.code, 0);
    };
    const case_ = async (name: string, cmd: "stdout" | "stderr", dialed: TestServer) => {
      const path = `${a.serverAnchor}/${name}`;
      const first = await printedBeforeKill([cmd, "-d", dialed.url, path], 300 * 1024);
      const second = await run([cmd, "-d", dialed.url, path]);
      assertSplit(first, second);
    };

    await t.step("stdout", async () => {
      await mk("out", `seq -w 1 ${LINES}`);
      await case_("out", "stdout", a);
    });
    await t.step("stderr", async () => {
      await mk("err", `seq -w 1 ${LINES} >&2`);
      await case_("err", "stderr", a);
    });
    await t.step("stdout forwarded by another server", async () => {
      const b = await TestServer.start(dir, ["-j", a.url]);
      try {
        await eventually("B's view lists A", 5000, async () => {
          const out = new TextDecoder().decode(await run(["ls", "-d", b.url, "/"]));
          return out.split("\n").includes(a.serverAnchor);
        });
        await mk("fwd", `seq -w 1 ${LINES}`);
        await case_("fwd", "stdout", b);
      } finally {
        await b.stop();
      }
    });
  } finally {
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A connected pair of connections over loopback TCP; `serve` handles the dialer's calls. */
async function connectionPair(serve: (call: IncomingCall) => void): Promise<[Connection, Connection]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const { port } = listener.addr as Deno.NetAddr;
  const dialed = await Deno.connect({ hostname: "127.0.0.1", port });
  const server = new Connection(new FrameTransport(await accepted), { dialer: false, onCall: serve });
  listener.close();
  const client = new Connection(new FrameTransport(dialed), { dialer: true });
  server.start();
  client.start();
  return [client, server];
}

Deno.test("a channel body's receiver acknowledges at least every 64 KiB it handed on", async () => {
  const chan = new ChanElement(1);
  let acked = 0;
  const [client, server] = await connectionPair((call) => {
    chan.recv(call.signal).then((reader) => {
      const counted: AckedReader = {
        read: (max, signal) => reader.read(max, signal),
        ack: (n) => {
          acked += n;
          reader.ack(n);
        },
        ackEnd: () => reader.ackEnd(),
        release: () => reader.release(),
      };
      return call.serveOutput(counted);
    }).then(() => call.reply(null), (err) => call.fail(err));
  });
  try {
    const sending = (async () => {
      const sink = await chan.send();
      for (let off = 0; off < EXPECTED.length; off += 100_000) {
        await sink.write(EXPECTED.subarray(off, off + 100_000));
      }
      await sink.close();
    })();
    const { stream, result } = client.openOutput("recv", { Path: "/X/c" });
    const parts: Uint8Array[] = [];
    let handedOn = 0;
    for await (const chunk of stream) {
      // This chunk is being handed on and everything before it has been: at most 64 KiB of
      // that may be unacknowledged once the acknowledgements on their way have arrived.
      handedOn += chunk.length;
      const due = handedOn - REPEAT_LIMIT;
      const began = Date.now();
      while (acked < due && Date.now() - began < 2000) await sleep(5);
      assert.ok(acked >= due, `${handedOn} bytes handed on, only ${acked} acknowledged`);
      parts.push(chunk);
    }
    await Promise.all([sending, result]);
    assert.deepEqual(concat(parts), EXPECTED);
  } finally {
    client.close();
    server.close();
  }
});
