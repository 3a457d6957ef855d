/**
 * `circuit console` (SPEC §13.3) in a real headless Chromium against a real three-server cluster:
 * the token, the servers, the tree, starting a process from the form, its live output, a signal,
 * its exit code, a scrub, and a SIGKILLed server leaving the membership view. Screenshots of the
 * main views, dark and light, go to docs/console/.
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import puppeteer from "puppeteer-core";
import { dial, type Proc } from "../mod.ts";
import { eventually, TestServer } from "./_harness.ts";
import { CHROMIUM, clickOn, clickRow, startConsole, stopConsole } from "./_console.ts";

// The page's globals, as the functions puppeteer runs in the browser see them (the test is
// type-checked against Deno's library, not the DOM's).
// deno-lint-ignore no-explicit-any
declare const document: any;
// deno-lint-ignore no-explicit-any
declare const MutationObserver: any;

const SHOTS = new URL("../docs/console/", import.meta.url).pathname;

Deno.test("console: token, servers, tree, a process from the form with live output, signal, exit code, scrub, a killed server leaves", async () => {
  const dir = await Deno.makeTempDir();
  const a = await TestServer.start(dir);
  const b = await TestServer.start(dir, ["-j", a.url]);
  const c = await TestServer.start(dir, ["-j", a.url]);
  const client = await dial(a.url);
  await eventually("three members", 10_000, async () => (await client.view()).size === 3);
  await client.walk(`${a.serverAnchor}/queue`).makeChan(4);
  await client.walk(`${c.serverAnchor}/svc/db`).makeProc({ path: "/bin/sleep", args: ["600"] });
  const con = await startConsole(a.url);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--headless"],
    // Our own profile directory, removed with the test's: puppeteer's own cleanup races Chromium's last writes.
    userDataDir: `${dir}/chromium`,
  });
  try {
    assert(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/.test(con.url), con.url);
    const origin = new URL(con.url).origin;
    for (const bad of [`${origin}/`, `${origin}/?token=nope`, `${origin}/events`, `${origin}/console.js`]) {
      const r = await fetch(bad);
      await r.body?.cancel();
      assertEquals(r.status, 401, bad);
    }
    const post = await fetch(`${origin}/api/scrub`, { method: "POST", body: "{}" });
    await post.body?.cancel();
    assertEquals(post.status, 401);

    const page = await browser.newPage();
    await page.setViewport({ width: 1440, height: 860 });
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
    page.on("dialog", (d) => d.accept());
    await page.goto(con.url);
    assertEquals(new URL(page.url()).search, "", "the token leaves the address bar for a cookie");
    const cookies = await browser.cookies();
    assert(cookies.some((k) => k.name === "circuit_console" && k.httpOnly && k.sameSite === "Strict"));

    // Three servers with their addresses.
    await page.waitForFunction(() => document.querySelectorAll("[data-server]").length === 3);
    for (const s of [a, b, c]) {
      await page.waitForFunction(
        (id: string, url: string) =>
          document.querySelector(`[data-server="${id}"]`)?.textContent?.includes(url),
        {},
        s.serverAnchor.slice(1),
        s.url,
      );
    }
    // Expanding a server shows its anchors with kinds and states.
    await clickRow(page, c.serverAnchor);
    await page.waitForFunction(
      (p: string) => document.querySelector(`[data-path="${p}"]`)?.textContent?.includes("running"),
      {},
      `${c.serverAnchor}/svc/db`,
    );

    // Start a process from the form; its output arrives live, stdout and stderr told apart.
    const procPath = `${b.serverAnchor}/jobs/ticker`;
    const script = `trap 'echo bye >&2; exit 7' TERM; i=0; while true; do i=$((i+1)); ` +
      `echo "tick $i $(date +%s%3N)"; echo "warn $i" >&2; sleep 0.1; done`;
    await page.click("#forms summary");
    await page.$eval(
      "#proc-form [name=anchor]",
      (e, v) => ((e as unknown as { value: string }).value = v as string),
      procPath,
    );
    await page.$eval(
      "#proc-form [name=args]",
      (e, v) => ((e as unknown as { value: string }).value = v as string),
      JSON.stringify(["-c", script]),
    );
    await page.click("#proc-form button[type=submit]");
    await page.waitForFunction(() =>
      (document.getElementById("output")?.textContent ?? "").includes("tick 5 ")
    );
    await page.waitForFunction(() => document.querySelector("#output .err")?.textContent?.includes("warn"));
    // The page's delay from a line's birth to its display.
    const delays: number[] = await page.evaluate(() =>
      new Promise<number[]>((resolve) => {
        const out: number[] = [];
        const pre = document.getElementById("output")!;
        const obs = new MutationObserver((records: { addedNodes: { textContent: string | null }[] }[]) => {
          const now = Date.now();
          for (const r of records) {
            for (const n of r.addedNodes) {
              for (const m of (n.textContent ?? "").matchAll(/tick \d+ (\d+)/g)) out.push(now - Number(m[1]));
            }
          }
          if (out.length >= 20) {
            obs.disconnect();
            resolve(out);
          }
        });
        obs.observe(pre, { childList: true });
      })
    );
    delays.sort((x, y) => x - y);
    const median = delays[Math.floor(delays.length / 2)];
    console.log(
      `console output delay: median ${median} ms, max ${delays.at(-1)} ms over ${delays.length} lines`,
    );
    assert(median < 100, `median ${median} ms`);
    await page.screenshot({ path: `${SHOTS}console-dark.png` });
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
    await page.screenshot({ path: `${SHOTS}console-light.png` });
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);

    // Signal it: the trap exits 7, and the page says so.
    await page.waitForFunction(() => {
      const name = document.getElementById("signal-name");
      if (!name) return false;
      name.value = "TERM";
      document.getElementById("signal-btn").click();
      return true;
    });
    await page.waitForFunction(
      (p: string) => document.querySelector(`[data-path="${p}"] .status`)?.textContent === "exited 7",
      { timeout: 10_000 },
      procPath,
    );
    await page.waitForFunction(() => (document.getElementById("output")?.textContent ?? "").includes("bye"));
    assertEquals((await (await client.walk(procPath).get() as Proc).peek()).exit?.code, 7);

    // Scrub it (the confirmation is accepted): it leaves the tree.
    await clickOn(page, "#scrub-btn");
    await page.waitForFunction((p: string) => !document.querySelector(`[data-path="${p}"]`), {}, procPath);
    assertEquals(await client.walk(procPath).get(), null);

    // An error is shown as the CLI prints it.
    await page.$eval(
      "#chan-form [name=anchor]",
      (e, v) => ((e as unknown as { value: string }).value = v as string),
      `${a.serverAnchor}/queue`,
    );
    await page.click("#chan-form button[type=submit]");
    await page.waitForFunction(() =>
      document.getElementById("error-text")?.textContent === "circuit: mkchan: anchor already has an element"
    );
    await page.click("#error-close");
    await page.waitForFunction(() => document.getElementById("error").hidden, { timeout: 2_000 });

    // A server killed outright leaves the membership view, and the timeline says so.
    // A SIGKILLed server cannot end its processes: its sleeper goes first, or it would outlive the test.
    await client.walk(`${c.serverAnchor}/svc/db`).scrub({ kill: true });
    await c.stop("SIGKILL");
    await page.waitForFunction(
      (id: string) =>
        !document.querySelector(`[data-server="${id}"]`) &&
        (document.getElementById("timeline")?.textContent ?? "").includes(`left /${id}`),
      { timeout: 30_000 },
      c.serverAnchor.slice(1),
    );
    await page.click("#forms summary");
    await clickRow(page, a.serverAnchor);
    await page.waitForFunction(() => document.querySelector(".detail-head .path"));
    await page.screenshot({ path: `${SHOTS}console-membership.png` });
  } finally {
    await browser.close();
    const status = await stopConsole(con);
    assertEquals(status.code, 0, "the console ends cleanly on SIGINT");
    await client.close();
    for (const s of [a, b, c]) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("console: with 1,000 anchors and a process writing ~10 MB/s the page answers typing within 100 ms", async () => {
  const dir = await Deno.makeTempDir();
  const a = await TestServer.start(dir);
  const client = await dial(a.url);
  const con = await startConsole(a.url);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--headless"],
    // Our own profile directory, removed with the test's: puppeteer's own cleanup races Chromium's last writes.
    userDataDir: `${dir}/chromium`,
  });
  try {
    for (let i = 0; i < 1000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) => client.walk(`${a.serverAnchor}/many/c${i + k}`).makeChan(0)),
      );
    }
    const flood = `${a.serverAnchor}/flood`;
    // 1 MiB ten times a second: about 10 MB/s for as long as the test runs.
    const proc = await client.walk(flood).makeProc({
      path: "/bin/sh",
      args: ["-c", "while :; do head -c 1048576 /dev/zero | tr '\\0' y; echo; sleep 0.1; done"],
    });
    // Unread output holds the process back at 1 MiB (SPEC §7.2): its reader keeps it flowing.
    const stdout = proc.stdout;
    const drained = stdout.pipeTo(new WritableStream()).catch(() => {});
    const page = await browser.newPage();
    await page.setViewport({ width: 1440, height: 860 });
    await page.goto(con.url);
    await page.waitForFunction(() => document.getElementById("anchor-count")?.textContent === "1001");
    await clickRow(page, a.serverAnchor);
    await page.waitForFunction(() => document.querySelectorAll("#tree .row").length > 1000);
    await clickRow(page, flood);
    await page.waitForFunction(() => (document.getElementById("output")?.textContent?.length ?? 0) > 50_000);
    await page.click("#forms summary");
    await page.evaluate(() => {
      // deno-lint-ignore no-explicit-any
      const w = globalThis as any;
      w.inputDelays = [];
      document.querySelector("#chan-form [name=anchor]").addEventListener(
        "keydown",
        (e: { timeStamp: number }) => {
          w.requestAnimationFrame(() => w.inputDelays.push(w.performance.now() - e.timeStamp));
        },
      );
    });
    await page.type("#chan-form [name=anchor]", "/responsive/check", { delay: 50 });
    await new Promise((r) => setTimeout(r, 300));
    // deno-lint-ignore no-explicit-any
    const delays: number[] = await page.evaluate(() => (globalThis as any).inputDelays);
    delays.sort((x, y) => x - y);
    const median = delays[Math.floor(delays.length / 2)];
    console.log(
      `input to next frame under load: median ${median.toFixed(1)} ms, max ${delays.at(-1)!.toFixed(1)} ms`,
    );
    assertEquals(delays.length, "/responsive/check".length);
    assert(median < 100, `median ${median} ms`);
    const shown: number = await page.evaluate(() => document.getElementById("output").textContent.length);
    assert(shown <= 100_000 + 40_000, `the page caps its output (${shown} characters)`);
    const gaps: number = await page.evaluate(() => document.querySelectorAll("#output .skipped").length);
    assert(gaps > 0, "a flood is sampled, and the page says what it skipped");
    // Leaving the flood's view mid-flood ends its output stream, and only that.
    for (let i = 0; i < 5; i++) {
      await clickRow(page, a.serverAnchor);
      await clickRow(page, flood);
      await new Promise((r) => setTimeout(r, 120));
    }
    await clickRow(page, a.serverAnchor);
    const alive = await Promise.race([
      con.child.status.then(() => "exited"),
      new Promise((r) => setTimeout(() => r("serving"), 500)),
    ]);
    assertEquals(alive, "serving", "the console outlives the output streams it ended");
    await client.walk(flood).scrub({ kill: true });
    await drained;
  } finally {
    await browser.close();
    assertEquals((await stopConsole(con)).code, 0, "the console ends cleanly on SIGINT");
    await client.close();
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
