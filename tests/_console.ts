/**
 * Test and bench helpers for `circuit console`: starting it as its own process with the
 * permissions it needs, and where Chromium is.
 *
 * @module
 */
import { PERMISSIONS } from "./_harness.ts";

/** Debian's `chromium` package (scripts/test.sh installs it). */
export const CHROMIUM = "/usr/bin/chromium";

/** Starts `circuit console -d <url>` with the permissions it needs and reads the page address. */
export async function startConsole(dialUrl: string): Promise<{ child: Deno.ChildProcess; url: string }> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net",
      // The dial reads the same environment as every client command (the start task's list).
      PERMISSIONS.find((p) => p.startsWith("--allow-env="))!,
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
 * Ends a console started by {@link startConsole} with SIGINT (Ctrl-C), unless it already ended by
 * itself; its exit status either way.
 */
export async function stopConsole(con: { child: Deno.ChildProcess }): Promise<Deno.CommandStatus> {
  try {
    con.child.kill("SIGINT");
  } catch {
    // it ended by itself: the status says how
  }
  return await con.child.status;
}

/**
 * Clicks the element matching `selector` inside the page, once it exists: the tree and the
 * details re-render on changes, so a handle held across an event may be detached by the time a
 * mouse click would land.
 */
export async function clickOn(
  page: { waitForFunction(fn: (sel: string) => unknown, opts: object, arg: string): Promise<unknown> },
  selector: string,
): Promise<void> {
  await page.waitForFunction(
    (sel: string) => {
      // deno-lint-ignore no-explicit-any
      const target = (globalThis as any).document.querySelector(sel);
      target?.click();
      return target !== null;
    },
    {},
    selector,
  );
}

/** Clicks the tree row of `path` (see {@link clickOn}). */
export function clickRow(
  page: { waitForFunction(fn: (sel: string) => unknown, opts: object, arg: string): Promise<unknown> },
  path: string,
): Promise<void> {
  return clickOn(page, `[data-path="${path}"]`);
}
