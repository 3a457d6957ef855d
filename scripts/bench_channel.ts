/**
 * The channel workload every bench section shares: `n` messages of 1 KiB through one channel,
 * `inFlight` senders on one client and as many receivers on another, each byte counted.
 *
 * @module
 */
import type { Chan } from "../mod.ts";

const _BODY = new Uint8Array(1024).fill(97);

/**
 * Seconds to pass `n` 1 KiB messages from `sendChan` to `recvChan`, `inFlight` at a time on each
 * side (32 unless said); throws if any byte went missing.
 *
 * @example
 * ```ts ignore
 * const secs = await channelSeconds(sendChan, recvChan, 20_000);
 * console.log(`${Math.round(20_000 / secs)} messages/s`);
 * ```
 */
export async function channelSeconds(
  sendChan: Chan,
  recvChan: Chan,
  n: number,
  inFlight = 32,
): Promise<number> {
  let sent = 0;
  let received = 0;
  let bytes = 0;
  const t0 = performance.now();
  const sender = async () => {
    while (sent < n) {
      sent++;
      const w = (await sendChan.send()).getWriter();
      await w.write(_BODY);
      await w.close();
    }
  };
  const receiver = async () => {
    while (received < n) {
      received++;
      // Read before adding: `bytes += await …` would read `bytes` before the await.
      const got = (await new Response(await recvChan.recv()).arrayBuffer()).byteLength;
      bytes += got;
    }
  };
  await Promise.all([
    ...Array.from({ length: inFlight }, sender),
    ...Array.from({ length: inFlight }, receiver),
  ]);
  const secs = (performance.now() - t0) / 1000;
  if (bytes !== n * 1024) throw new Error(`channel bench received ${bytes} bytes, expected ${n * 1024}`);
  return secs;
}
