/**
 * Circuit URLs: `circuit://<host>:<port>/<pid>/<workerID>` (SPEC §2.2).
 *
 * @module
 */
import { CircuitError } from "./errors.ts";

/** The parts of a circuit URL. */
export interface CircuitUrl {
  /** IPv4 literal, IPv6 literal without brackets, or a host name. */
  host: string;
  port: number;
  pid: number;
  /** `Q` + 16 lower-case hex digits. */
  workerId: string;
}

/**
 * Parses a circuit URL, throwing `CircuitError` with the specification's message on failure.
 *
 * @example
 * ```ts
 * import { parseCircuitUrl } from "./url.ts";
 * const u = parseCircuitUrl("circuit://127.0.0.1:4000/812/Q0de74570a61e9688");
 * console.log(u.port, u.pid, u.workerId); // 4000 812 "Q0de74570a61e9688"
 * ```
 */
export function parseCircuitUrl(text: string): CircuitUrl {
  const fail = (reason: string): never => {
    throw new CircuitError(`"${text}" is not a valid circuit address: ${reason}`);
  };
  const trimmed = text.trim();
  if (!trimmed.startsWith("circuit://")) fail("scheme must be circuit");
  const rest = trimmed.slice("circuit://".length);
  const slash = rest.indexOf("/");
  const hostPort = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash);
  let host: string;
  let portText: string;
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    if (close < 0) fail("bad host");
    host = hostPort.slice(1, close);
    if (!host.includes(":")) fail("bad host");
    const after = hostPort.slice(close + 1);
    if (!after.startsWith(":")) fail("missing port");
    portText = after.slice(1);
  } else {
    const colon = hostPort.lastIndexOf(":");
    if (colon < 0) fail("missing port");
    host = hostPort.slice(0, colon);
    portText = hostPort.slice(colon + 1);
    if (!_isHostName(host)) fail("bad host");
  }
  if (!_isDigits(portText, 5)) fail("missing port");
  const port = Number(portText);
  if (port < 1 || port > 65535) fail("missing port");
  const parts = path.split("/");
  if (parts.length !== 3 || parts[0] !== "") fail("path must be /<pid>/<workerID>");
  if (!_isDigits(parts[1], 10) || Number(parts[1]) < 1) fail("bad pid");
  if (!_isWorkerId(parts[2])) fail("bad worker ID");
  return { host, port, pid: Number(parts[1]), workerId: "Q" + parts[2].slice(1).toLowerCase() };
}

/**
 * Formats a circuit URL, bracketing IPv6 hosts.
 *
 * @example
 * ```ts
 * import { formatCircuitUrl } from "./url.ts";
 * console.log(formatCircuitUrl({ host: "::1", port: 9, pid: 7, workerId: "Q0000000000000001" }));
 * // "circuit://[::1]:9/7/Q0000000000000001"
 * ```
 */
export function formatCircuitUrl(url: CircuitUrl): string {
  const host = url.host.includes(":") ? `[${url.host}]` : url.host;
  return `circuit://${host}:${url.port}/${url.pid}/${url.workerId}`;
}

// Character tests rather than regular expressions: every CLI command parses a URL, and compiling a
// regular expression is a measurable part of a command's start.

function _isDigits(text: string, maxLength: number): boolean {
  if (text.length === 0 || text.length > maxLength) return false;
  for (let i = 0; i < text.length; i++) if (!_isDigit(text.charCodeAt(i))) return false;
  return true;
}

// Letters, digits, ".", "-" and "_": an IPv4 literal or a host name.
function _isHostName(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(_isDigit(c) || _isLetter(c, 0x7a) || c === 0x2e || c === 0x2d || c === 0x5f)) return false;
  }
  return true;
}

// `Q` and 16 hex digits of either case.
function _isWorkerId(text: string): boolean {
  if (text.length !== 17 || text[0] !== "Q") return false;
  for (let i = 1; i < 17; i++) {
    const c = text.charCodeAt(i);
    if (!(_isDigit(c) || _isLetter(c, 0x66))) return false;
  }
  return true;
}

function _isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

// A letter of either case up to `lastLower` ("z", or "f" for hex digits).
function _isLetter(c: number, lastLower: number): boolean {
  return (c >= 0x61 && c <= lastLower) || (c >= 0x41 && c <= lastLower - 0x20);
}
