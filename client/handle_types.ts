/**
 * The plain data of the library's handles: options, commands and element states (SPEC §8).
 *
 * @module
 */

/**
 * Options of a blocking operation (`wait`, `send`, `recv`).
 *
 * @example
 * ```ts ignore
 * // Give up waiting after five seconds; the process keeps running.
 * const stat = await proc.wait({ signal: AbortSignal.timeout(5_000) });
 * ```
 */
export interface Opts {
  /** Aborting cancels the operation like a disconnect: nothing is lost. */
  signal?: AbortSignal;
}

/**
 * A command to run (SPEC §7.2).
 *
 * @example
 * ```ts ignore
 * const cmd: Cmd = { path: "/bin/sh", args: ["-c", "ls"], env: ["LANG=C"], dir: "/tmp", scrub: true };
 * const proc = await anchor.makeProc(cmd);
 * ```
 */
export interface Cmd {
  /** Executable; no PATH search: a path without `/` is relative to `dir`. */
  path: string;
  /** The arguments after argv[0] (which is `path`). */
  args?: string[];
  /** `K=V` entries; `null` or absent inherits the server's environment; `[]` is an empty one. */
  env?: string[] | null;
  /** Working directory; empty or absent: the server's. */
  dir?: string;
  /** Detach the element when the process exits. */
  scrub?: boolean;
}

/**
 * A process's state, as {@linkcode Proc.peek} and {@linkcode Proc.wait} return it.
 *
 * @example
 * ```ts ignore
 * const stat = await proc.wait();
 * if (stat.exit === null) console.log("success");
 * else console.log(stat.exit.body); // e.g. "exit status 3", "signal: killed"
 * ```
 */
export interface ProcStat {
  /** The command as the server runs it, every field filled in. */
  cmd: Required<Cmd>;
  /** `unknown` means the executable could not be started. */
  phase: "running" | "exited" | "signaled" | "unknown";
  /**
   * `null` while running and after exit status 0. Otherwise `body` says what happened and
   * `code` (exit status) or `signal` (e.g. `"SIGTERM"`) is set; both are null if it never started.
   */
  exit: { body: string; code: number | null; signal: string | null } | null;
}

/**
 * A container to run (SPEC §7.6); the server must run with `-docker`.
 *
 * @example
 * ```ts ignore
 * const run: DockerRun = { image: "busybox", path: "/bin/sh", args: ["-c", "echo hi"], scrub: true };
 * const container = await anchor.makeDocker(run);
 * ```
 */
export interface DockerRun {
  /** Image name; it must exist on the host (no pulls). */
  image: string;
  /** Memory limit in bytes; 0 or absent: none. */
  memory?: number;
  /** CPU shares; 0 or absent: the engine's default. */
  cpuShares?: number;
  /** Ignored (kept for compatibility); a non-empty list is logged. */
  lxc?: string[];
  /** `host:container[:ro]` bind mounts, or `container` for an anonymous volume. */
  volume?: string[];
  /** Working directory inside the container. */
  dir?: string;
  /** Entrypoint. */
  entry?: string;
  /** `K=V` environment entries. */
  env?: string[];
  /** Command; with `args`, the command is `[path, ...args]`; both empty: the image's default. */
  path?: string;
  /** Arguments of the command. */
  args?: string[];
  /** `[hostIp:]hostPort:containerPort[/proto]`, or `containerPort[/proto]` for a random host port. */
  ports?: string[];
  /** Remove the container when it exits. */
  scrub?: boolean;
}

/**
 * A container's state: SPEC §7.6's shape with camelCase keys (`ID` → `id`, `IPAddress` →
 * `ipAddress`); map keys such as ports stay as they are.
 *
 * @example
 * ```ts ignore
 * const stat = await container.wait();
 * console.log((stat.state as { exitCode: number }).exitCode);
 * ```
 */
export type DockerStat = Record<string, unknown>;
