/**
 * Go-style durations (`300ms`, `5s`, `1m30s`, `2h`) for `-timeout` flags.
 *
 * @module
 */
import { UsageError } from "./fail.ts";

const _UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration into milliseconds. Throws {@link UsageError} `invalid duration "<text>"`.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * console.log(parseDuration("1m30s")); // 90000
 * ```
 */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) break;
    ms += Number(m[1]) * _UNITS[m[2]];
    at = re.lastIndex;
  }
  if (text === "" || at !== text.length || ms <= 0) throw new UsageError(`invalid duration "${text}"`);
  return ms;
}
