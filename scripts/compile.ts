/**
 * `deno task compile`: builds one self-contained `circuit` executable per target with
 * `deno compile`, embedding the server's explicit permission list (the deno.json `start` task's
 * flags, never `-A`), and writes `SHA256SUMS` beside them.
 *
 * ```sh
 * deno task compile                                   # all four targets into dist/
 * deno task compile --out /tmp/bin x86_64-unknown-linux-gnu
 * ```
 *
 * `deno compile` downloads the Deno runtime (`denort`) of each target; when it cannot, the script
 * prints one line `circuit: compile: cannot download the Deno runtime for <target>: <cause>` and
 * exits 1 without writing a checksum file.
 *
 * @module
 */

/** The targets `deno compile` builds: Linux and macOS on x86_64 and aarch64. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
];

const _root = new URL("..", import.meta.url).pathname;

/**
 * The permission and unstable flags the server runs with: the flags of the deno.json `start`
 * task, so the binaries and `deno task start` cannot drift apart.
 *
 * @example
 * ```ts
 * import { permissionFlags } from "./compile.ts";
 * console.log(permissionFlags().includes("--unstable-net")); // true
 * ```
 */
export function permissionFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${_root}deno.json`));
  const flags = (config.tasks.start as string).split(" ").filter((w) => w.startsWith("--"));
  // A blanket grant would silently widen what every installed server may do (SPEC §3.6).
  if (flags.some((f) => f === "-A" || f === "--allow-all")) {
    throw new Error("the start task must list its permissions explicitly");
  }
  if (!flags.includes("--unstable-net")) flags.push("--unstable-net");
  return flags;
}

/**
 * The `deno` arguments that build the binary for `target` at `output`.
 *
 * @example
 * ```ts
 * import { compileArgs } from "./compile.ts";
 * console.log(compileArgs("aarch64-apple-darwin", "dist/circuit-aarch64-apple-darwin").join(" "));
 * ```
 */
export function compileArgs(target: string, output: string): string[] {
  return ["compile", ...permissionFlags(), "--target", target, "--output", output, `${_root}cli.ts`];
}

/**
 * The one-line explanation of a failed `deno compile`, from its stderr: a runtime that could not
 * be downloaded is named as such, with the innermost cause deno reported.
 *
 * @example
 * ```ts
 * import { failureLine } from "./compile.ts";
 * const stderr = "error: Writing …\n\nCaused by:\n    0: Setting up base binary.\n    1: dns error\n";
 * console.log(failureLine("x86_64-apple-darwin", stderr));
 * // circuit: compile: cannot download the Deno runtime for x86_64-apple-darwin: dns error
 * ```
 */
export function failureLine(target: string, stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && !/^\d+: <unknown>$/.test(l)
  );
  const causes = lines.filter((l) => /^\d+: /.test(l)).map((l) => l.replace(/^\d+: /, ""));
  const error = lines.find((l) => l.startsWith("error: "))?.slice("error: ".length) ?? "unknown error";
  const cause = causes.at(-1) ?? error;
  if (/denort|base binary|dl\.deno\.land/i.test(stderr)) {
    return `circuit: compile: cannot download the Deno runtime for ${target}: ${cause}`;
  }
  return `circuit: compile: ${target}: ${cause}`;
}

async function _sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Builds the binaries; returns the exit code. */
async function _main(args: string[]): Promise<number> {
  let out = `${_root}dist`;
  const targets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out" && i + 1 < args.length) out = args[++i];
    else if (TARGETS.includes(args[i])) targets.push(args[i]);
    else {
      console.error(`circuit: compile: unknown argument ${args[i]} (targets: ${TARGETS.join(", ")})`);
      return 2;
    }
  }
  await Deno.mkdir(out, { recursive: true });
  const sums: string[] = [];
  for (const target of targets.length ? targets : TARGETS) {
    const name = `circuit-${target}`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target, `${out}/${name}`),
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
    if (!r.success) {
      console.error(failureLine(target, new TextDecoder().decode(r.stderr)));
      return 1;
    }
    sums.push(`${await _sha256(`${out}/${name}`)}  ${name}\n`);
    console.error(`circuit: compile: built ${out}/${name}`);
  }
  // The same format as `sha256sum`, so `sha256sum -c SHA256SUMS` verifies a download.
  await Deno.writeTextFile(`${out}/SHA256SUMS`, sums.join(""));
  return 0;
}

if (import.meta.main) Deno.exit(await _main(Deno.args));
