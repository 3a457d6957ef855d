/**
 * Enforcement of the policy on a server's own anchors (SPEC §10.5): which capability an operation
 * needs, who the caller is (forwarded identities only from servers), the executable and working
 * directory a process would really use, and the denial (error, log line, `deny` record, counter).
 *
 * @module
 */
import { resolve } from "node:path";
import { validateCmd } from "../../wire/cmd.ts";
import { CircuitError } from "../../wire/errors.ts";
import type { Identity } from "../../wire/identity.ts";
import { SecurityCounters } from "./counters.ts";
import { type Capability, type ExecTarget, isPrivileged, type Policy } from "./policy.ts";

/** The capability that using an element of each kind needs. */
const _KIND_CAPABILITY: Record<string, Capability> = {
  proc: "proc",
  chan: "chan",
  dns: "dns",
  docker: "docker",
  "@join": "subscribe",
  "@leave": "subscribe",
  server: "admin",
};

/** Operations whose capability does not depend on the element: */
const _OP_CAPABILITY: Record<string, Capability> = {
  peek: "read",
  get: "read",
  ps: "read",
  tail: "read",
  watch: "read",
  close: "chan",
  send: "chan",
  set: "dns",
  unset: "dns",
  join: "admin",
  suicide: "admin",
  stk: "admin",
};

/** Operations on a process or a container: `proc`, or `docker` for a container. */
const _STREAM_OPS = new Set(["stdin", "read", "discard", "wait", "signal"]);

/**
 * The capability `op` needs; `kind` is the kind of the element it addresses (null: none).
 * Operations nobody listed here need `admin`, so a new operation is closed until it is mapped.
 */
export function capabilityOf(op: string, args: Record<string, unknown>, kind: string | null): Capability {
  const fixed = _OP_CAPABILITY[op];
  if (fixed) return fixed;
  if (op === "mk") return _KIND_CAPABILITY[String(args.Kind)] ?? "admin";
  if (_STREAM_OPS.has(op)) return kind === "docker" ? "docker" : "proc";
  if (op === "recv") return kind === "@join" || kind === "@leave" ? "subscribe" : "chan";
  // Scrubbing an empty anchor changes nothing: it needs no more than looking.
  if (op === "scrub") return kind === null ? "read" : _KIND_CAPABILITY[kind] ?? "admin";
  return "admin";
}

/**
 * The caller a hosting server judges: the connection's identity, or, when the connection is a
 * server's, the identity it forwards in `Who` (`{Name, Groups}`). A client's `Who` is ignored, so
 * it cannot pass for anyone but itself.
 */
export function callerOf(conn: Identity, who: unknown): Identity {
  if (who === undefined || !conn.name.startsWith("server:")) return conn;
  const w = who as { Name?: unknown; Groups?: unknown } | null;
  if (
    w === null || typeof w !== "object" || typeof w.Name !== "string" || w.Name === "" ||
    !Array.isArray(w.Groups) || !w.Groups.every((g) => typeof g === "string")
  ) {
    throw new CircuitError("malformed arguments: Who");
  }
  return { name: w.Name, groups: [...w.Groups] };
}

/** The `Who` a forwarding server adds to a call for `caller`. */
export function forwardedWho(caller: Identity): { Name: string; Groups: string[] } {
  return { Name: caller.name, Groups: [...caller.groups] };
}

/**
 * What a process would run: `Path` as exec(2) in `Dir` would find it, symlinks resolved. The
 * look-ups are synchronous: a few µs each on local files, where the async ops cost ~20 µs of
 * scheduling (the process start itself then spends milliseconds).
 */
export function execTarget(cmd: { Path: string; Dir: string }, serverDir: string): ExecTarget {
  const dir = _real(resolve(serverDir, cmd.Dir));
  let exe = resolve(dir, cmd.Path);
  // No PATH search when running (SPEC §7.2): a bare name is a file in Dir. Only when Dir has no
  // such file is it judged as the PATH's program (SPEC §10.5), which then fails to start anyway.
  if (!cmd.Path.includes("/") && !_exists(exe)) {
    for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
      if (d.startsWith("/") && _exists(`${d}/${cmd.Path}`)) {
        exe = `${d}/${cmd.Path}`;
        break;
      }
    }
  }
  return { exec: _real(exe), dir, serverDir };
}

function _exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function _real(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    // Missing: judged by the name it was given, normalised (exec fails on it anyway).
    return path;
  }
}

/** Where denials go besides the caller's error. */
export interface DenialSink {
  log(message: string): void;
  record(op: string, fields: Record<string, unknown>, who: string): void;
}

/**
 * The policy a server enforces, replaceable at SIGHUP, and its counters.
 *
 * @example
 * ```ts ignore
 * import { Authorizer } from "./enforce.ts";
 * const authz = new Authorizer(policy, { log: console.log, record: () => {} });
 * authz.check("mk", { Path: "/X1/c", Kind: "chan", Arg: 0 }, null, { name: "bob", groups: [] });
 * ```
 */
export class Authorizer {
  /** Read by the metrics endpoint. */
  readonly counters: SecurityCounters = new SecurityCounters();
  #policy: Policy | null;
  #sink: DenialSink;
  #serverDir = Deno.cwd();

  constructor(policy: Policy | null, sink: DenialSink) {
    this.#policy = policy;
    this.#sink = sink;
  }

  /** The policy in force, or null (everyone may do everything, SPEC §10.4). */
  get policy(): Policy | null {
    return this.#policy;
  }

  set policy(p: Policy | null) {
    this.#policy = p;
  }

  /** Throws the §10.5 denial unless `who` may perform `op` (on an element of `kind`). */
  check(op: string, args: Record<string, unknown>, kind: string | null, who: Identity): void {
    const policy = this.#policy;
    if (policy === null || isPrivileged(who) || op === "ls") return;
    const cap = capabilityOf(op, args, kind);
    const path = String(args.Path);
    if (op === "mk" && cap === "proc") {
      const cmd = validateCmd(args.Arg);
      // Nothing to resolve when the rules refuse the anchor already.
      if (policy.denial(who, cap, path) !== null) return this.#deny(who, cap, path, "");
      const why = policy.denial(who, cap, path, execTarget(cmd, this.#serverDir));
      if (why !== null) this.#deny(who, cap, path, why);
      return;
    }
    const why = policy.denial(who, cap, path);
    if (why !== null) this.#deny(who, cap, path, why);
  }

  /** Whether a listing shows `path` to `who`. */
  visible(who: Identity, path: string): boolean {
    return this.#policy === null || this.#policy.visible(who, path);
  }

  #deny(who: Identity, cap: Capability, path: string, why: string): never {
    const message = `permission denied: ${who.name} may not ${cap} ${path}${why ? ` (${why})` : ""}`;
    this.counters.denied(cap);
    this.#sink.log(message);
    const fields: Record<string, unknown> = { Capability: cap, Path: path };
    if (why) fields.Target = why;
    this.#sink.record("deny", fields, who.name);
    throw new CircuitError(message);
  }
}
