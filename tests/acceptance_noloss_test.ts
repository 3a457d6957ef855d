/**
 * Acceptance scenario A27 (a), (b), (c) and (e) of SPEC §12: SIGKILLing a CLI client in the
 * middle of a `recv` or `stdout` loses no message and no byte, also through forwarding.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  assertQuiet,
  circuit,
  collect,
  eventually,
  type RunResult,
  spawnCircuit,
  TestServer,
} from "./_harness.ts";
import { sleep, withTempDir } from "./_util.ts";

/** Starts `circuit <args>` in the background and SIGKILLs it after `ms`; returns what it printed. */
async function killedAfter(ms: number, args: string[]): Promise<RunResult> {
  const child = spawnCircuit(args);
  await sleep(ms);
  child.kill("SIGKILL");
  return await collect(child);
}

/** Success with exactly `stdout` printed and nothing on stderr. */
function printed(r: RunResult, stdout: string): void {
  assert.deepEqual(r, { code: 0, stdout, stderr: "" });
}

/**
 * A27 (a): a receiver killed while waiting leaves the message to the next one. `dialed` is the
 * server the CLI dials, `host` the one whose anchor holds the channel.
 */
async function killedReceiverLosesNothing(dialed: TestServer, host: TestServer, name: string): Promise<void> {
  const q = `${host.serverAnchor}/${name}`;
  assertQuiet(await circuit(["mkchan", "-d", dialed.url, q, "1"]));
  const killed = await killedAfter(1000, ["recv", "-d", dialed.url, q]);
  assert.equal(killed.stdout, "", "the killed receiver got nothing");
  assertQuiet(await circuit(["send", "-d", dialed.url, q], { stdin: "msg\n" }));
  printed(await circuit(["recv", "-d", dialed.url, q]), "msg\n");
  const peek = await circuit(["peek", "-d", dialed.url, q]);
  assert.equal(peek.code, 0, peek.stderr);
  const stat = JSON.parse(peek.stdout);
  assert.equal(stat.NumSend, 1);
  assert.equal(stat.NumRecv, 1);
}

Deno.test("A27 — killed clients lose no message and no output", async (t) => {
  await withTempDir("circuit-acc-noloss-", async (dir) => {
    const a = await TestServer.start(dir);
    try {
      const XA = a.serverAnchor;

      await t.step(
        "(a) a receiver SIGKILLed while waiting leaves the message for the next recv",
        async () => {
          await killedReceiverLosesNothing(a, a, "q");
        },
      );

      await t.step(
        "(b) a stdout reader SIGKILLed before the output exists leaves it to the next",
        async () => {
          assertQuiet(
            await circuit(["mkproc", "-d", a.url, `${XA}/late`], {
              stdin: JSON.stringify({ Path: "/bin/sh", Args: ["-c", "sleep 2; echo late"] }),
            }),
          );
          const killed = await killedAfter(1000, ["stdout", "-d", a.url, `${XA}/late`]);
          assert.equal(killed.stdout, "");
          await sleep(3000);
          printed(await circuit(["stdout", "-d", a.url, `${XA}/late`]), "late\n");
        },
      );

      await t.step(
        "(c) output split between a killed reader and the next one covers every line",
        async () => {
          const script = "i=0; while [ $i -lt 50 ]; do echo line$i; i=$((i+1)); sleep 0.1; done";
          assertQuiet(
            await circuit(["mkproc", "-d", a.url, `${XA}/lines`], {
              stdin: JSON.stringify({ Path: "/bin/sh", Args: ["-c", script] }),
            }),
          );
          const f1 = (await killedAfter(2000, ["stdout", "-d", a.url, `${XA}/lines`])).stdout;
          const second = await circuit(["stdout", "-d", a.url, `${XA}/lines`]);
          assert.equal(second.code, 0, second.stderr);
          const f2 = second.stdout;
          const all = Array.from({ length: 50 }, (_, i) => `line${i}\n`).join("");
          assert.ok(f1.length > 0, "the first reader printed something in 2 s");
          assert.ok(all.startsWith(f1), `f1 is not a prefix: ${JSON.stringify(f1)}`);
          assert.ok(all.endsWith(f2), `f2 is not a suffix: ${JSON.stringify(f2)}`);
          assert.ok(
            f1.length + f2.length >= all.length,
            `lines lost between f1 and f2: ${f1.length}+${f2.length}`,
          );
        },
      );

      await t.step(
        "(e) a killed receiver loses nothing when the call is forwarded by another server",
        async () => {
          const b = await TestServer.start(dir, ["-j", a.url]);
          try {
            await eventually("B's view lists A", 2000, async () => {
              const r = await circuit(["ls", "-d", b.url, "/"]);
              return r.code === 0 && r.stdout.split("\n").includes(XA);
            });
            await killedReceiverLosesNothing(b, a, "qe");
          } finally {
            await b.stop();
          }
        },
      );
    } finally {
      await a.stop();
    }
  });
});
