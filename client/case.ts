/**
 * PascalCase wire shapes to the library's camelCase (SPEC §8).
 *
 * @module
 */

/**
 * Lower-cases a leading capital or acronym: `ID` → `id`, `IPAddress` → `ipAddress`, `HostIp` → `hostIp`.
 *
 * @example
 * ```ts
 * import { camelKey } from "./case.ts";
 * console.log(camelKey("IPAddress")); // "ipAddress"
 * ```
 */
export function camelKey(key: string): string {
  const m = /^[A-Z]+/.exec(key);
  if (!m) return key;
  const run = m[0];
  if (run.length === key.length) return key.toLowerCase();
  if (run.length === 1) return run.toLowerCase() + key.slice(1);
  return run.slice(0, -1).toLowerCase() + key.slice(run.length - 1);
}

/**
 * Converts object keys to camelCase recursively, except inside the fields named in `dataMaps`,
 * whose keys are data (port names, paths) and stay as they are (their values are converted).
 *
 * @example
 * ```ts
 * import { camelize } from "./case.ts";
 * console.log(camelize({ NumSend: 1, Ports: { "80/tcp": [{ HostIp: "" }] } }, new Set(["Ports"])));
 * // { numSend: 1, ports: { "80/tcp": [ { hostIp: "" } ] } }
 * ```
 */
export function camelize(value: unknown, dataMaps: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.map((v) => camelize(v, dataMaps));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (dataMaps.has(k) && v !== null && typeof v === "object" && !Array.isArray(v)) {
      const inner: Record<string, unknown> = {};
      for (const [dk, dv] of Object.entries(v as Record<string, unknown>)) inner[dk] = camelize(dv, dataMaps);
      out[camelKey(k)] = inner;
    } else {
      out[camelKey(k)] = camelize(v, dataMaps);
    }
  }
  return out;
}
