/**
 * The console's `/output` event stream against a real server, without a browser: a page that
 * stops reading fills the stream's buffer while stdout and stderr both have output to send, and
 * once it reads again both must flow.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dial, type Proc } from "../mod.ts";
import { consoleHandler } from "../cli/console/http.ts";
import { withServer } from "./_harness.ts";

const TOKEN = "t0ken";

Deno.test("console output events: after the page stalls, stdout and stderr both flow again", async () => {
  await withServer(async (s) => {
    const client = await dial(s.url);
    const path = `${s.serverAnchor}/both`;
    let drained: Promise<void>[] = [];
    try {
      const proc = await client.walk(path).makeProc({
        path: "/bin/sh",
        args: [
          "-c",
          "while :; do head -c 65536 /dev/zero | tr '\\0' o; head -c 65536 /dev/zero | tr '\\0' e >&2; done",
        ],
      }) as Proc;
      // The process's own readers keep it writing (unread output holds it back, SPEC §7.2).
      drained = [proc.stdout, proc.stderr].map((r) => r.pipeTo(new WritableStream()).catch(() => {}));
      // No watch feed: this test reads only /output.
      const handler = consoleHandler(client, async function* () {}, TOKEN);
      const res = await handler(
        new Request(`http://console/output?path=${encodeURIComponent(path)}`, {
          headers: { cookie: `circuit_console=${TOKEN}` },
        }),
      );
      assert.equal(res.headers.get("content-type"), "text/event-stream");
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      // The page stalls: both followers fill the buffer and wait for room.
      await new Promise((r) => setTimeout(r, 1_500));
      // What was queued before the stall (the console's 256 KiB and the pipe's) says nothing:
      // count only what comes after the first 1 MiB read.
      const seen = { stdout: 0, stderr: 0 };
      let text = "";
      let read = 0;
      const until = performance.now() + 5_000;
      while (performance.now() < until && (seen.stdout < 3 || seen.stderr < 3)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
        read += value.length;
        const messages = text.split("\n\n");
        text = messages.pop()!;
        if (read < 1024 * 1024) continue;
        for (const m of messages) {
          const data = m.match(/^event: output\ndata: (.*)$/s)?.[1];
          if (data) seen[(JSON.parse(data) as { stream: "stdout" | "stderr" }).stream]++;
        }
      }
      await reader.cancel();
      assert.ok(seen.stdout >= 3 && seen.stderr >= 3, `after the stall: ${JSON.stringify(seen)}`);
    } finally {
      // Whatever failed, the flood ends with the test (the server is stopped by SIGKILL).
      await client.walk(path).scrub({ kill: true }).catch(() => {});
      await Promise.all(drained);
      await client.close();
    }
  });
});
