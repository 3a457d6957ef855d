/**
 * The cost of a console (SPEC §13.3): one page open in headless Chromium, watching `/...`, against
 * channel messages/s and the remote process round trip, measured in the same run with and
 * without the page (alternating rounds, so drift from other load hits both alike); and the
 * page's delay from a process's output line to its display.
 *
 * @module
 */
import puppeteer from "puppeteer-core";
import { type Chan, dial } from "../mod.ts";
import { TestServer } from "../tests/_harness.ts";
import { CHROMIUM, clickRow, startConsole, stopConsole } from "../tests/_console.ts";
import { channelSeconds } from "./bench_channel.ts";

// deno-lint-ignore no-explicit-any
declare const document: any;
// deno-lint-ignore no-explicit-any
declare const MutationObserver: any;

/**
 * Rounds per condition, in alternating order; the median of each is reported. Ten: single rounds
 * of one condition spread by up to 2x on this VM, and six still let one bad round move the median.
 */
const _ROUNDS = 10;

/** How long a page's opening or closing is left to settle before a round (Chromium's first paints). */
const _SETTLE_MS = 1_000;

function _median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Rows `[what, value, target]` for the bench table. */
export async function benchConsole(scale = 1): Promise<[string, string, string][]> {
  const dir = await Deno.makeTempDir({ prefix: "circuit-bench-console-" });
  const a = await TestServer.start(dir);
  const b = await TestServer.start(dir, ["-j", a.url]);
  const c = await TestServer.start(dir, ["-j", a.url]);
  // Started inside the `try`: a console that fails to start must not leave the servers (and so this
  // process, holding the bench lock) running.
  let con: Awaited<ReturnType<typeof startConsole>> | undefined;
  let browser: Awaited<ReturnType<typeof puppeteer.launch>> | undefined;
  try {
    con = await startConsole(a.url);
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
    await using client = await dial(a.url);
    while ((await client.view()).size < 3) await new Promise((r) => setTimeout(r, 100));
    const chanPath = `${c.serverAnchor}/bench/chan`;
    await client.walk(chanPath).makeChan(1024);
    await using sendClient = await dial(a.url);
    await using recvClient = await dial(b.url);
    const sendChan = await sendClient.walk(chanPath).get() as Chan;
    const recvChan = await recvClient.walk(chanPath).get() as Chan;
    const messagesPerSecond = async (n: number) => n / await channelSeconds(sendChan, recvChan, n);
    let seq = 0;
    const roundTrip = async (n: number) => {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const p = await client.walk(`${b.serverAnchor}/bench/rt${seq++}`).makeProc({
          path: "/bin/true",
          scrub: true,
        });
        await p.wait();
        times.push(performance.now() - t0);
      }
      return _median(times);
    };
    const msgs = Math.max(2000, Math.round(10_000 * scale));
    const trips = Math.max(50, Math.round(200 * scale));
    // Warm-up (unreported): the JIT of every process reaches its steady state.
    await messagesPerSecond(msgs * 2);
    await roundTrip(trips);

    const off = { rate: [] as number[], rt: [] as number[] };
    const on = { rate: [] as number[], rt: [] as number[] };
    const measure = async (into: { rate: number[]; rt: number[] }) => {
      into.rate.push(await messagesPerSecond(msgs));
      into.rt.push(await roundTrip(trips));
    };
    // Off-on, then on-off: a drift during the run (the JIT still warming, other load) favours neither.
    // Each condition is measured once it has settled: opening a page (first layout and paint, the
    // snapshot of /...) and closing it (the renderer's teardown) are one-off costs, not those of a
    // page left open.
    const settle = () => new Promise((r) => setTimeout(r, _SETTLE_MS));
    for (let round = 0; round < _ROUNDS; round++) {
      if (round % 2 === 0) await measure(off);
      const page = await browser.newPage();
      await page.goto(con.url);
      await page.waitForFunction(() => document.querySelectorAll("[data-server]").length === 3);
      await settle();
      await measure(on);
      await page.close();
      await settle();
      if (round % 2 === 1) await measure(off);
    }

    // The page's delay from a line's birth (its own timestamp) to its display.
    const page = await browser.newPage();
    await page.goto(con.url);
    const ticker = `${b.serverAnchor}/bench/ticker`;
    await client.walk(ticker).makeProc({
      path: "/bin/sh",
      args: [
        "-c",
        `i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "tick $i $(date +%s%3N)"; sleep 0.02; done`,
      ],
    });
    await page.waitForFunction(
      (p: string) => document.querySelector(`[data-path="${p.split("/").slice(0, 2).join("/")}"]`),
      {},
      ticker,
    );
    await clickRow(page, b.serverAnchor);
    await page.waitForFunction((p: string) => document.querySelector(`[data-path="${p}"]`), {}, ticker);
    await clickRow(page, ticker);
    await page.waitForFunction(() => document.getElementById("output"));
    const delays: number[] = await page.evaluate(() =>
      new Promise<number[]>((resolve) => {
        const out: number[] = [];
        const obs = new MutationObserver((records: { addedNodes: { textContent: string | null }[] }[]) => {
          const now = Date.now();
          for (const r of records) {
            for (const n of r.addedNodes) {
              for (const m of (n.textContent ?? "").matchAll(/tick \d+ (\d+)/g)) out.push(now - Number(m[1]));
            }
          }
          if (out.length >= 200) {
            obs.disconnect();
            resolve(out);
          }
        });
        obs.observe(document.getElementById("output"), { childList: true });
      })
    );
    await page.close();
    // Positive: the page costs that much; negative: within noise, the page run was faster.
    const pct = (cost: number) => `${(cost * 100).toFixed(1)} %`;
    const [rateOff, rateOn] = [_median(off.rate), _median(on.rate)];
    const [rtOff, rtOn] = [_median(off.rt), _median(on.rt)];
    return [
      [
        "channel messages/s without / with a console page watching /...",
        `${Math.round(rateOff)} / ${Math.round(rateOn)}`,
        "reference",
      ],
      ["console cost on channel messages/s (same run)", pct((rateOff - rateOn) / rateOff), "<= 5 %"],
      [
        "remote process round trip without / with a console page (median)",
        `${rtOff.toFixed(3)} / ${rtOn.toFixed(3)} ms`,
        "reference",
      ],
      ["console cost on the process round trip (same run)", pct((rtOn - rtOff) / rtOff), "<= 5 %"],
      ["console: process output line to display in the page (median)", `${_median(delays)} ms`, "< 100 ms"],
    ];
  } finally {
    await browser?.close();
    // A console that ended by itself has failed the section already: the servers must still stop.
    if (con) await stopConsole(con);
    for (const s of [a, b, c]) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
