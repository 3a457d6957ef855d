/**
 * The Cmd object that describes a process to start (SPEC §7.2), and its JSON input form
 * (SPEC §2.4): one strict JSON object, keys matched case-insensitively, unknown keys ignored.
 *
 * @module
 */
import { CircuitError } from "./errors.ts";

/**
 * A process to start, in the PascalCase shape of the wire, the CLI input and `peek`.
 *
 * @example
 * ```ts
 * import type { Cmd } from "./cmd.ts";
 * const cmd: Cmd = { Path: "/bin/echo", Args: ["hi"], Env: null, Dir: "", Scrub: false };
 * console.log(cmd.Path); // "/bin/echo"
 * ```
 */
export interface Cmd {
  /** The executable; no `PATH` search: a path without `/` is relative to `Dir`. */
  Path: string;
  /** argv[1…]; argv[0] is `Path`. */
  Args: string[];
  /** `K=V` entries; `null` inherits the server's environment, `[]` is an empty one. */
  Env: string[] | null;
  /** The working directory; empty: the server's. */
  Dir: string;
  /** Detach the element automatically when the process exits. */
  Scrub: boolean;
}

/**
 * Parses the JSON text of a Cmd (what `mkproc` reads on stdin). Throws
 * `CircuitError("command json not parsing: <reason>")` for anything but one JSON object with
 * fields of the right types and a non-blank `Path`.
 *
 * @example
 * ```ts
 * import { parseCmdJson } from "./cmd.ts";
 * const cmd = parseCmdJson('{"path": " /bin/sh ", "ARGS": ["-c", "exit 3"], "other": 1}');
 * console.log(cmd); // { Path: "/bin/sh", Args: ["-c", "exit 3"], Env: null, Dir: "", Scrub: false }
 * ```
 */
export function parseCmdJson(text: string): Cmd {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw _parseError((err as Error).message);
  }
  return validateCmd(value);
}

/**
 * Checks an already decoded value (e.g. what the wire brought) and returns it as a Cmd, with the
 * same rules and errors as {@link parseCmdJson}: keys case-insensitive, unknown keys ignored,
 * `null` fields taking their defaults, `Path` trimmed and required.
 *
 * @example
 * ```ts
 * import { validateCmd } from "./cmd.ts";
 * console.log(validateCmd({ Path: "/bin/true", Env: [] }).Env); // []
 * ```
 */
export function validateCmd(value: unknown): Cmd {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw _parseError("not a JSON object");
  }
  const cmd: Cmd = { Path: "", Args: [], Env: null, Dir: "", Scrub: false };
  // Later keys win, as when Go decodes `{"path": …, "Path": …}` into one field.
  for (const [key, field] of Object.entries(value)) {
    switch (key.toLowerCase()) {
      case "path":
        cmd.Path = _string(field, "Path");
        break;
      case "args":
        cmd.Args = _strings(field, "Args") ?? [];
        break;
      case "env":
        cmd.Env = _strings(field, "Env");
        break;
      case "dir":
        cmd.Dir = _string(field, "Dir");
        break;
      case "scrub":
        if (field !== null && typeof field !== "boolean") throw _parseError("Scrub must be a boolean");
        cmd.Scrub = field ?? false;
        break;
    }
  }
  cmd.Path = cmd.Path.trim();
  if (cmd.Path === "") throw _parseError("Path is required");
  return cmd;
}

function _string(field: unknown, name: string): string {
  if (field !== null && typeof field !== "string") throw _parseError(`${name} must be a string`);
  return field ?? "";
}

function _strings(field: unknown, name: string): string[] | null {
  if (field === null) return null;
  if (!Array.isArray(field) || !field.every((item) => typeof item === "string")) {
    throw _parseError(`${name} must be a list of strings`);
  }
  return [...field];
}

function _parseError(reason: string): CircuitError {
  return new CircuitError(`command json not parsing: ${reason}`);
}
