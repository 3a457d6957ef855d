/**
 * A JSON parser that remembers where every value starts, so a policy file's mistakes can be
 * reported at `line:column` (SPEC §10.5). Strict RFC 8259: no comments, no trailing commas.
 *
 * @module
 */

/** A 1-based position in the source text. */
export interface Position {
  line: number;
  column: number;
}

/** A parsed JSON value with the position of its first character. */
export type Node =
  | { kind: "object"; pos: Position; entries: { key: string; keyPos: Position; value: Node }[] }
  | { kind: "array"; pos: Position; items: Node[] }
  | { kind: "string"; pos: Position; value: string }
  | { kind: "number"; pos: Position; value: number }
  | { kind: "boolean"; pos: Position; value: boolean }
  | { kind: "null"; pos: Position };

/** A mistake in the text, at a position. */
export class PositionedError extends Error {
  constructor(readonly cause_: string, readonly pos: Position) {
    super(`${cause_} at ${pos.line}:${pos.column}`);
  }
}

/** Nesting beyond this is refused: a policy is two levels deep, and recursion must not overflow. */
const _MAX_DEPTH = 64;

const _ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/**
 * Parses `text`; throws {@linkcode PositionedError} for the first mistake.
 *
 * @example
 * ```ts
 * import { parseJsonWithPositions } from "./json_positions.ts";
 * const node = parseJsonWithPositions('{"a": [1]}');
 * console.log(node.kind); // "object"
 * ```
 */
export function parseJsonWithPositions(text: string): Node {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const here = (): Position => ({ line, column: i - lineStart + 1 });
  const fail = (cause: string): never => {
    throw new PositionedError(cause, here());
  };
  const describe = () => (i >= text.length ? "end of file" : `character ${JSON.stringify(text[i])}`);
  const skip = () => {
    while (i < text.length) {
      const c = text[i];
      if (c === "\n") {
        i++;
        line++;
        lineStart = i;
      } else if (c === " " || c === "\t" || c === "\r") i++;
      else break;
    }
  };
  const expect = (c: string, what: string) => {
    skip();
    if (text[i] !== c) fail(`expected ${what}, found ${describe()}`);
    i++;
  };
  const string = (): string => {
    i++; // opening quote
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c < " ") fail("control character in string");
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      if (e === "u") {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("invalid \\u escape");
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else if (e !== undefined && e in _ESCAPES) {
        out += _ESCAPES[e];
        i += 2;
      } else fail("invalid escape in string");
    }
  };
  const value = (depth: number): Node => {
    skip();
    if (depth > _MAX_DEPTH) fail("nesting too deep");
    const pos = here();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: { key: string; keyPos: Position; value: Node }[] = [];
      skip();
      if (text[i] === "}") {
        i++;
        return { kind: "object", pos, entries };
      }
      for (;;) {
        skip();
        const keyPos = here();
        if (text[i] !== '"') fail(`expected a field name, found ${describe()}`);
        const key = string();
        expect(":", "':'");
        entries.push({ key, keyPos, value: value(depth + 1) });
        skip();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return { kind: "object", pos, entries };
        } else fail(`expected ',' or '}', found ${describe()}`);
      }
    }
    if (c === "[") {
      i++;
      const items: Node[] = [];
      skip();
      if (text[i] === "]") {
        i++;
        return { kind: "array", pos, items };
      }
      for (;;) {
        items.push(value(depth + 1));
        skip();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return { kind: "array", pos, items };
        } else fail(`expected ',' or ']', found ${describe()}`);
      }
    }
    if (c === '"') return { kind: "string", pos, value: string() };
    for (const [word, node] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return node === null ? { kind: "null", pos } : { kind: "boolean", pos, value: node };
      }
    }
    const num = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (num) {
      i += num[0].length;
      return { kind: "number", pos, value: Number(num[0]) };
    }
    return fail(`unexpected ${describe()}`);
  };
  const root = value(0);
  skip();
  if (i < text.length) fail(`unexpected ${describe()} after the JSON value`);
  return root;
}
