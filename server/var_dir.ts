/**
 * The var dir and its lock (SPEC §3.4).
 *
 * @module
 */

/** How long to wait for the lock before deciding another live server holds it. */
const _LOCK_WAIT_MS = 200;

/**
 * The default var dir: `<tmp>/circuit-<workerID>-P<pid>`, pid zero-padded to 4 digits.
 *
 * @example
 * ```ts ignore
 * import { defaultVarDir } from "./var_dir.ts";
 * console.log(defaultVarDir("Q4869d7283daa354c", 9946, "/tmp")); // "/tmp/circuit-Q4869d7283daa354c-P9946"
 * ```
 */
export function defaultVarDir(workerId: string, pid: number, tmp: string): string {
  return `${tmp.replace(/\/+$/, "") || "/"}/circuit-${workerId}-P${String(pid).padStart(4, "0")}`;
}

/**
 * Creates the var dir (mode 0700, parents included) and takes an exclusive lock on
 * `<dir>/.lock` held until the returned file is closed or the process dies (the OS releases
 * it, so a SIGKILLed server's lock never blocks a new one).
 *
 * @example
 * ```ts ignore
 * import { lockVarDir } from "./var_dir.ts";
 * const lock = await lockVarDir("/tmp/circuit-test");
 * ```
 */
export async function lockVarDir(dir: string): Promise<Deno.FsFile> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = await Deno.open(`${dir}/.lock`, { read: true, write: true, create: true, mode: 0o600 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const locked = await Promise.race([
    file.lock(true).then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), _LOCK_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (!locked) throw new Error(`obtain lock (${dir} is used by another server)`);
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  return file;
}
