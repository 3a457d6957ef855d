/**
 * Domain names: presentation text (with `\X` and `\DDD` escapes) to labels and back, the way
 * `dig` prints them, and the lower-case key under which a name is looked up.
 *
 * @module
 */

/** A domain name as its labels, most specific first, without the empty root label. */
export type Labels = readonly Uint8Array[];

// RFC 1035 §2.3.4.
const MAX_LABEL = 63;
const MAX_NAME_WIRE = 255;

const _utf8 = new TextEncoder();

/**
 * Parses a name in presentation form. Relative names are completed with the root origin, so
 * `mail.ex.org` and `mail.ex.org.` are the same name; `@` and `.` are the root. Throws an
 * `Error` whose message is the reason when the text is no valid name.
 *
 * @example
 * ```ts
 * import { formatName, parseName } from "./name.ts";
 * console.log(formatName(parseName("Mail.ex.org"))); // "Mail.ex.org."
 * ```
 */
export function parseName(text: string): Labels {
  if (text === "") throw new Error("empty domain name");
  if (text === "." || text === "@") return [];
  const labels: Uint8Array[] = [];
  let label: number[] = [];
  let wire = 1;
  const endLabel = () => {
    if (label.length === 0) throw new Error(`empty label in domain name ${text}`);
    if (label.length > MAX_LABEL) throw new Error(`label longer than ${MAX_LABEL} bytes in ${text}`);
    wire += label.length + 1;
    labels.push(Uint8Array.from(label));
    label = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ".") {
      endLabel();
    } else if (c === "\\") {
      const digits = text.slice(i + 1, i + 4);
      if (/^[0-9]{3}$/.test(digits)) {
        const value = Number(digits);
        if (value > 255) throw new Error(`bad escape \\${digits} in ${text}`);
        label.push(value);
        i += 3;
      } else {
        const next = text.codePointAt(i + 1);
        if (next === undefined) throw new Error(`dangling backslash in ${text}`);
        const ch = String.fromCodePoint(next);
        label.push(..._utf8.encode(ch));
        i += ch.length;
      }
    } else {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      label.push(..._utf8.encode(ch));
      i += ch.length - 1;
    }
  }
  if (label.length > 0) endLabel();
  if (wire > MAX_NAME_WIRE) throw new Error(`domain name longer than ${MAX_NAME_WIRE} bytes: ${text}`);
  return labels;
}

// Printed with a backslash in front, as BIND's dns_name_totext does: " ( ) . ; \ @ $
const _SPECIAL = new Set([0x22, 0x28, 0x29, 0x2e, 0x3b, 0x5c, 0x40, 0x24]);

/**
 * Prints labels in presentation form, fully qualified, escaping as `dig` does.
 *
 * @example
 * ```ts
 * import { formatName } from "./name.ts";
 * console.log(formatName([new TextEncoder().encode("a.b"), new TextEncoder().encode("org")])); // "a\\.b.org."
 * ```
 */
export function formatName(labels: Labels): string {
  if (labels.length === 0) return ".";
  let out = "";
  for (const label of labels) {
    for (const b of label) {
      if (_SPECIAL.has(b)) out += "\\" + String.fromCharCode(b);
      else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b);
      else out += "\\" + String(b).padStart(3, "0");
    }
    out += ".";
  }
  return out;
}

/**
 * The lookup key of a name: its presentation form with ASCII letters lowered (DNS compares
 * names case-insensitively in ASCII only, RFC 4343).
 *
 * @example
 * ```ts
 * import { nameKey, parseName } from "./name.ts";
 * console.log(nameKey(parseName("EX.org"))); // "ex.org."
 * ```
 */
export function nameKey(labels: Labels): string {
  // The presentation form is pure ASCII (other bytes are \DDD escapes), so this lowers A-Z only.
  return formatName(labels).toLowerCase();
}
