/**
 * Test and bench helpers for `circuit console`: starting it as its own process with the
 * permissions it needs, and where Chromium is.
 *
 * @module
 */

/** Debian's `chromium` package (scripts/test.sh installs it). */
export const CHROMIUM = "/usr/bin/chromium";

/** Starts `circuit console -d <url>` with the permissions it needs and reads the page address. */
export async function startConsole(dialUrl: string): Promise<{ child: Deno.ChildProcess; url: string }> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net",
      "--allow-env=CIRCUIT,CIRCUIT_DISCOVER,CIRCUIT_HMAC",
      new URL("../cli.ts", import.meta.url).pathname,
      "console",
      "-d",
      dialUrl,
    ],
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("console did not start");
    text += value;
  }
  reader.releaseLock();
  return { child, url: text.trim() };
}

/**
 * Clicks the tree row of `path` inside the page: the tree re-renders on every change, so a
 * handle held across an event may be detached by the time a mouse click would land.
 */
export async function clickRow(
  page: { waitForFunction(fn: (p: string) => unknown, opts: object, arg: string): Promise<unknown> },
  path: string,
): Promise<void> {
  await page.waitForFunction(
    (p: string) => {
      // deno-lint-ignore no-explicit-any
      const row = (globalThis as any).document.querySelector(`[data-path="${p}"]`);
      row?.click();
      return row !== null;
    },
    {},
    path,
  );
}
