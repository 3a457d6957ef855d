/**
 * Signal names as `circuit signal` accepts them (SPEC §5) and as a process's Exit describes
 * them (SPEC §7.2).
 *
 * @module
 */
import { CircuitError } from "../wire/errors.ts";

// SPEC §5's list, without the SIG prefix, mapped to the name Deno sends. IOT is ABRT's other
// name (the same signal number on every Unix), and Deno only knows it as SIGABRT.
const SIGNALS: ReadonlyMap<string, Deno.Signal> = new Map<string, Deno.Signal>([
  ["ABRT", "SIGABRT"],
  ["ALRM", "SIGALRM"],
  ["BUS", "SIGBUS"],
  ["CHLD", "SIGCHLD"],
  ["CONT", "SIGCONT"],
  ["FPE", "SIGFPE"],
  ["HUP", "SIGHUP"],
  ["ILL", "SIGILL"],
  ["INT", "SIGINT"],
  ["IO", "SIGIO"],
  ["IOT", "SIGABRT"],
  ["KILL", "SIGKILL"],
  ["PIPE", "SIGPIPE"],
  ["PROF", "SIGPROF"],
  ["QUIT", "SIGQUIT"],
  ["SEGV", "SIGSEGV"],
  ["STOP", "SIGSTOP"],
  ["SYS", "SIGSYS"],
  ["TERM", "SIGTERM"],
  ["TRAP", "SIGTRAP"],
  ["TSTP", "SIGTSTP"],
  ["TTIN", "SIGTTIN"],
  ["TTOU", "SIGTTOU"],
  ["URG", "SIGURG"],
  ["USR1", "SIGUSR1"],
  ["USR2", "SIGUSR2"],
  ["VTALRM", "SIGVTALRM"],
  ["WINCH", "SIGWINCH"],
  ["XCPU", "SIGXCPU"],
  ["XFSZ", "SIGXFSZ"],
]);

// SPEC §7.2's descriptions; other signals are described by their name.
const DESCRIPTIONS: ReadonlyMap<string, string> = new Map([
  ["SIGHUP", "hangup"],
  ["SIGINT", "interrupt"],
  ["SIGQUIT", "quit"],
  ["SIGILL", "illegal instruction"],
  ["SIGTRAP", "trace/breakpoint trap"],
  ["SIGABRT", "aborted"],
  ["SIGBUS", "bus error"],
  ["SIGFPE", "floating point exception"],
  ["SIGKILL", "killed"],
  ["SIGUSR1", "user defined signal 1"],
  ["SIGSEGV", "segmentation fault"],
  ["SIGUSR2", "user defined signal 2"],
  ["SIGPIPE", "broken pipe"],
  ["SIGALRM", "alarm clock"],
  ["SIGTERM", "terminated"],
]);

/**
 * Parses a signal name: case-insensitive, surrounding blanks ignored, `SIG` prefix optional,
 * numbers not accepted. Throws `CircuitError("signal name not recognized")` otherwise.
 *
 * @example
 * ```ts
 * import { parseSignal } from "./signals.ts";
 * console.log(parseSignal(" term ")); // "SIGTERM"
 * console.log(parseSignal("SigKill")); // "SIGKILL"
 * ```
 */
export function parseSignal(name: string): Deno.Signal {
  let key = name.trim().toUpperCase();
  if (key.startsWith("SIG")) key = key.slice(3);
  const signal = SIGNALS.get(key);
  if (signal === undefined) throw new CircuitError("signal name not recognized");
  return signal;
}

/**
 * The description of a signal that killed a process, as in its Exit body `signal: <description>`:
 * SPEC §7.2's table, or the signal's name for the others.
 *
 * @example
 * ```ts
 * import { describeSignal } from "./signals.ts";
 * console.log(describeSignal("SIGTERM")); // "terminated"
 * console.log(describeSignal("SIGWINCH")); // "SIGWINCH"
 * ```
 */
export function describeSignal(signal: string): string {
  return DESCRIPTIONS.get(signal) ?? signal;
}
