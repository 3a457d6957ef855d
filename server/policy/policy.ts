/**
 * The authorization policy of SPEC §10.5, pure: parsed from its JSON text with positions, and
 * the decision whether an identity may use a capability on an anchor (and, for processes, an
 * executable and a working directory). Enforcement lives in enforce.ts.
 *
 * @module
 */
import type { Identity } from "../../wire/identity.ts";
import { type Node, parseJsonWithPositions, PositionedError } from "./json_positions.ts";
import { compilePattern, matches, matchesBelow, pathElements, type Pattern } from "./pattern.ts";

/** The capabilities a rule can allow. */
export const CAPABILITIES = ["read", "proc", "chan", "subscribe", "dns", "docker", "admin"] as const;

/** One capability. */
export type Capability = typeof CAPABILITIES[number];

/**
 * Decisions remembered per policy: channel traffic asks the same question once per message. The
 * bound keeps a caller who walks many distinct paths from growing it without limit; past it the
 * memory starts over (cheap, and the next questions fill it again).
 */
const _MEMO_LIMIT = 10_000;

/** Credential names (SPEC §10.5), and so the names a rule's `who` can give. */
const _NAME = /^[a-z0-9._-]{1,64}$/;

interface _Rule {
  names: Set<string>;
  groups: Set<string>;
  allow: Set<Capability>;
  /** null: every anchor. */
  paths: Pattern[] | null;
  /** null: every executable. */
  exec: Pattern[] | null;
  /** null: only the server's working directory. */
  dirs: Pattern[] | null;
}

/** What a process would run: its resolved executable and working directory (absolute, real). */
export interface ExecTarget {
  exec: string;
  dir: string;
  /** The server's own working directory, which rules without `dirs` allow. */
  serverDir: string;
}

/** Whether identities of this name are allowed everything whatever the policy says. */
export function isPrivileged(who: Identity): boolean {
  return who.name === "admin" || who.name.startsWith("server:");
}

/**
 * A parsed policy.
 *
 * @example
 * ```ts
 * import { Policy } from "./policy.ts";
 * const p = Policy.parse('{"rules": [{"who": ["group:viewers"], "allow": ["read"]}]}');
 * console.log(p.denial({ name: "bob", groups: ["viewers"] }, "read", "/X1/a")); // null
 * ```
 */
export class Policy {
  readonly #rules: _Rule[];
  readonly #revoked: Set<string>;
  #memo = new Map<string, string | null>();

  private constructor(rules: _Rule[], revoked: Set<string>) {
    this.#rules = rules;
    this.#revoked = revoked;
  }

  /** Number of rules. */
  get size(): number {
    return this.#rules.length;
  }

  /** Parses and validates a policy file's text; throws an Error `<cause> at <line>:<column>`. */
  static parse(text: string): Policy {
    const root = parseJsonWithPositions(text);
    const top = _object(root, "the policy", ["revoked", "rules"]);
    const revoked = new Set<string>();
    if (top.revoked) {
      for (const n of _strings(top.revoked, "revoked")) {
        revoked.add(_name(n, "revoked name"));
      }
    }
    const rules: _Rule[] = [];
    if (top.rules) {
      if (top.rules.kind !== "array") throw new PositionedError("rules must be a list", top.rules.pos);
      for (const r of top.rules.items) rules.push(_rule(r));
    }
    return new Policy(rules, revoked);
  }

  /** Whether `name` is revoked (refused at the handshake). */
  isRevoked(name: string): boolean {
    return this.#revoked.has(name);
  }

  /**
   * Why `who` may not use `cap` on `path` (with `target` for a process to start): null when it
   * may, else the text of the parenthesis of the denial message (`""` when only the capability
   * or the path is missing, else the executable or the directory that no rule allows).
   */
  denial(who: Identity, cap: Capability, path: string, target?: ExecTarget): string | null {
    if (isPrivileged(who)) return null;
    // A revoked name is refused at this server's handshake; forwarded by a server whose policy
    // does not revoke it yet, it may still do nothing here.
    if (this.#revoked.has(who.name)) return "";
    if (target !== undefined) return this.#decide(who, cap, path, target);
    const key = `${who.name}\0${who.groups.join("\0")}\0\0${cap}\0${path}`;
    let why = this.#memo.get(key);
    if (why === undefined) {
      why = this.#decide(who, cap, path);
      if (this.#memo.size >= _MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(key, why);
    }
    return why;
  }

  #decide(who: Identity, cap: Capability, path: string, target?: ExecTarget): string | null {
    const names = pathElements(path);
    let why = "";
    for (const r of this.#rules) {
      if (!_applies(r, who) || !r.allow.has(cap)) continue;
      if (r.paths !== null && !r.paths.some((p) => matches(p, names))) continue;
      if (target === undefined) return null;
      const execOk = r.exec === null || r.exec.some((p) => matches(p, pathElements(target.exec)));
      if (!execOk) {
        why ||= target.exec;
        continue;
      }
      const dirOk = r.dirs === null
        ? target.dir === target.serverDir
        : r.dirs.some((p) => matches(p, pathElements(target.dir)));
      if (dirOk) return null;
      // An executable some rule allows: the directory is what stands in the way.
      why = target.dir;
    }
    return why;
  }

  /** Whether a listing may show `path` to `who`: it may read it, or something below it. */
  visible(who: Identity, path: string): boolean {
    if (isPrivileged(who)) return true;
    if (this.#revoked.has(who.name)) return false;
    const names = pathElements(path);
    for (const r of this.#rules) {
      if (!_applies(r, who) || !r.allow.has("read")) continue;
      if (r.paths === null || r.paths.some((p) => matches(p, names) || matchesBelow(p, names))) return true;
    }
    return false;
  }
}

function _applies(r: _Rule, who: Identity): boolean {
  if (r.names.has(who.name)) return true;
  for (const g of who.groups) if (r.groups.has(g)) return true;
  return false;
}

function _object(node: Node, what: string, fields: string[]): Record<string, Node> {
  if (node.kind !== "object") throw new PositionedError(`${what} must be an object`, node.pos);
  const out: Record<string, Node> = {};
  for (const e of node.entries) {
    if (!fields.includes(e.key)) {
      throw new PositionedError(
        `unknown field ${JSON.stringify(e.key)} in ${what} (known: ${fields.join(", ")})`,
        e.keyPos,
      );
    }
    if (e.key in out) throw new PositionedError(`duplicate field ${JSON.stringify(e.key)}`, e.keyPos);
    out[e.key] = e.value;
  }
  return out;
}

function _strings(node: Node, what: string): { value: string; pos: Node["pos"] }[] {
  if (node.kind !== "array") throw new PositionedError(`${what} must be a list of strings`, node.pos);
  return node.items.map((item) => {
    if (item.kind !== "string") throw new PositionedError(`${what} must be a list of strings`, item.pos);
    return { value: item.value, pos: item.pos };
  });
}

function _name(s: { value: string; pos: Node["pos"] }, what: string): string {
  if (!_NAME.test(s.value)) {
    throw new PositionedError(`${what} ${JSON.stringify(s.value)} is not 1-64 of [a-z0-9._-]`, s.pos);
  }
  return s.value;
}

function _patterns(node: Node | undefined, what: string): Pattern[] | null {
  if (node === undefined) return null;
  return _strings(node, what).map((s) => {
    try {
      return compilePattern(s.value);
    } catch (err) {
      throw new PositionedError((err as Error).message, s.pos);
    }
  });
}

function _rule(node: Node): _Rule {
  const f = _object(node, "a rule", ["who", "allow", "paths", "exec", "dirs"]);
  if (!f.who) throw new PositionedError('a rule needs "who"', node.pos);
  if (!f.allow) throw new PositionedError('a rule needs "allow"', node.pos);
  const rule: _Rule = {
    names: new Set(),
    groups: new Set(),
    allow: new Set(),
    paths: _patterns(f.paths, "paths"),
    exec: _patterns(f.exec, "exec"),
    dirs: _patterns(f.dirs, "dirs"),
  };
  for (const w of _strings(f.who, "who")) {
    if (w.value.startsWith("group:")) rule.groups.add(_name({ ...w, value: w.value.slice(6) }, "group"));
    else rule.names.add(_name(w, "who"));
  }
  for (const c of _strings(f.allow, "allow")) {
    if (!(CAPABILITIES as readonly string[]).includes(c.value)) {
      throw new PositionedError(
        `unknown capability ${JSON.stringify(c.value)} (known: ${CAPABILITIES.join(", ")})`,
        c.pos,
      );
    }
    rule.allow.add(c.value as Capability);
  }
  return rule;
}
