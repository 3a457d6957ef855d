/**
 * The Run object of `mkdkr` (SPEC §7.6): parsing with case-insensitive keys (SPEC §2.4) and
 * its mapping onto the Docker Engine API's create body.
 *
 * @module
 */
import { CircuitError } from "../../wire/errors.ts";

/** A parsed Run object, every field present. */
export interface DockerRun {
  /** Image name; must exist locally (no pulls). */
  Image: string;
  /** Memory limit in bytes; 0 = unset. */
  Memory: number;
  /** Relative CPU weight; 0 = unset. */
  CpuShares: number;
  /** Ignored (a non-empty list is logged). */
  Lxc: string[] | null;
  /** `host:container[:ro]` bind mounts and `container` anonymous volumes. */
  Volume: string[] | null;
  /** Working directory; empty: the image's. */
  Dir: string;
  /** Entrypoint; empty: the image's. */
  Entry: string;
  /** `K=V` environment; null: the image's. */
  Env: string[] | null;
  /** Program, argv[0] of the command. */
  Path: string;
  /** Arguments after `Path`. */
  Args: string[] | null;
  /** `[hostIp:]hostPort:containerPort[/proto]` or `containerPort[/proto]`. */
  Ports: string[] | null;
  /** Detach and remove the container once it exited. */
  Scrub: boolean;
}

type _Kind = "string" | "number" | "boolean" | "list";

const _FIELDS: Record<keyof DockerRun, _Kind> = {
  Image: "string",
  Memory: "number",
  CpuShares: "number",
  Lxc: "list",
  Volume: "list",
  Dir: "string",
  Entry: "string",
  Env: "list",
  Path: "string",
  Args: "list",
  Ports: "list",
  Scrub: "boolean",
};

/**
 * Validates a Run object (already decoded from JSON): keys match case-insensitively, unknown keys
 * are ignored, `null` means absent. Throws `CircuitError("command json not parsing: <reason>")`
 * for a value of the wrong type or a missing `Image`.
 *
 * @example
 * ```ts
 * import { parseRun } from "./run.ts";
 * const run = parseRun({ image: "busybox", ARGS: ["-c", "true"], path: "/bin/sh" });
 * console.log(run.Image, run.Path, run.Args); // "busybox" "/bin/sh" ["-c", "true"]
 * ```
 */
export function parseRun(value: unknown): DockerRun {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    _fail("a Run must be a JSON object");
  }
  const run: DockerRun = {
    Image: "",
    Memory: 0,
    CpuShares: 0,
    Lxc: null,
    Volume: null,
    Dir: "",
    Entry: "",
    Env: null,
    Path: "",
    Args: null,
    Ports: null,
    Scrub: false,
  };
  const byLower = new Map(Object.keys(_FIELDS).map((k) => [k.toLowerCase(), k as keyof DockerRun]));
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = byLower.get(key.toLowerCase());
    if (field === undefined || v === null) continue;
    const kind = _FIELDS[field];
    const ok = kind === "list"
      ? Array.isArray(v) && v.every((s) => typeof s === "string")
      : kind === "number"
      ? typeof v === "number" && Number.isInteger(v)
      : kind === "string"
      ? typeof v === "string"
      : typeof v === "boolean";
    if (!ok) _fail(`field ${field} must be ${kind === "list" ? "a list of strings" : `a ${kind}`}`);
    (run as unknown as Record<string, unknown>)[field] = v;
  }
  if (run.Image.trim() === "") _fail("field Image is required");
  for (const spec of run.Ports ?? []) parsePort(spec);
  return run;
}

/** One `Ports` entry, parsed. */
export interface PortSpec {
  /** Container port key, e.g. `80/tcp`. */
  port: string;
  /** Host IP; empty for all interfaces. */
  hostIp: string;
  /** Host port; empty for a random one. */
  hostPort: string;
}

/**
 * Parses `[hostIp:]hostPort:containerPort[/proto]` or `containerPort[/proto]` (protocol default
 * `tcp`); an IPv6 host IP is written in brackets. Throws `CircuitError("invalid port specification: <spec>")`.
 *
 * @example
 * ```ts
 * import { parsePort } from "./run.ts";
 * console.log(parsePort("127.0.0.1:18080:80")); // { port: "80/tcp", hostIp: "127.0.0.1", hostPort: "18080" }
 * ```
 */
export function parsePort(spec: string): PortSpec {
  const m = /^(?:(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+):)?(\d+)(?:\/(tcp|udp|sctp))?$/.exec(spec.trim());
  if (!m || !_validPort(m[3]) || (m[2] !== undefined && !_validPort(m[2]))) {
    throw new CircuitError(`invalid port specification: ${spec}`);
  }
  return {
    port: `${Number(m[3])}/${m[4] ?? "tcp"}`,
    hostIp: (m[1] ?? "").replace(/^\[|\]$/g, ""),
    hostPort: m[2] === undefined ? "" : String(Number(m[2])),
  };
}

function _validPort(text: string): boolean {
  const n = Number(text);
  return n >= 1 && n <= 65535;
}

/**
 * The Engine API create body for a Run: stdin open once, stdout and stderr attached, no TTY.
 *
 * @example
 * ```ts
 * import { createBody, parseRun } from "./run.ts";
 * const body = createBody(parseRun({ Image: "busybox", Path: "/bin/echo", Args: ["hi"] }));
 * console.log(body.Cmd); // ["/bin/echo", "hi"]
 * ```
 */
export function createBody(run: DockerRun): Record<string, unknown> & { Cmd?: string[] } {
  const args = run.Args ?? [];
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const spec of run.Ports ?? []) {
    const p = parsePort(spec);
    exposed[p.port] = {};
    (bindings[p.port] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort });
  }
  const binds: string[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const v of run.Volume ?? []) {
    if (v.includes(":")) binds.push(v);
    else volumes[v] = {};
  }
  const body: Record<string, unknown> & { Cmd?: string[] } = {
    Image: run.Image.trim(),
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    ExposedPorts: exposed,
    Volumes: volumes,
    HostConfig: {
      Memory: run.Memory,
      CpuShares: run.CpuShares,
      Binds: binds.length > 0 ? binds : null,
      PortBindings: bindings,
    },
  };
  // Args without a Path are the whole command (e.g. arguments to Entry); an empty argv[0] would be bogus.
  if (run.Path !== "" || args.length > 0) body.Cmd = run.Path !== "" ? [run.Path, ...args] : args;
  if (run.Entry !== "") body.Entrypoint = [run.Entry];
  if (run.Env !== null) body.Env = run.Env;
  if (run.Dir !== "") body.WorkingDir = run.Dir;
  return body;
}

function _fail(reason: string): never {
  throw new CircuitError(`command json not parsing: ${reason}`);
}
