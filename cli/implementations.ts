/**
 * Binds each command of cli/command_table.ts to its implementation. Every implementation is
 * imported statically so that `deno bundle` and `deno compile` produce one self-contained
 * program; as one bundled file, loading all of them costs less than resolving a module graph at
 * run time. Only the server itself is imported when `start` runs (cli/start.ts), as its modules'
 * initialisation is the one cost worth skipping.
 *
 * @module
 */
import type { CommandFn } from "./command_types.ts";
import * as chanCommands from "./chan.ts";
import * as dnsCommands from "./dns.ts";
import * as dockerCommands from "./docker.ts";
import * as helpCommand from "./help.ts";
import * as keygenCommand from "./keygen.ts";
import * as issueCommand from "./issue.ts";
import * as lsCommand from "./ls.ts";
import * as procCommands from "./proc.ts";
import * as serverCommands from "./server.ts";
import * as startCommand from "./start.ts";
import * as completionCommand from "./completion.ts";
import * as contextCommand from "./context.ts";
import * as psCommand from "./ps.ts";
import * as runCommand from "./run.ts";
import * as versionCommand from "./version.ts";
import * as consoleCommand from "./console/command.ts";
import * as tailCommand from "./tail.ts";
import * as watchCommand from "./watch.ts";

/** The implementation of each command, by name. */
export const IMPLEMENTATIONS: Readonly<Record<string, CommandFn>> = {
  "start": startCommand.start,
  "keygen": keygenCommand.keygen,
  "issue": issueCommand.issue,
  "help": helpCommand.help,
  "ls": lsCommand.ls,
  "peek": serverCommands.peek,
  "scrub": serverCommands.scrub,
  "mkchan": chanCommands.mkchan,
  "send": chanCommands.send,
  "recv": chanCommands.recv,
  "close": chanCommands.close,
  "mkproc": procCommands.mkproc,
  "mkdkr": dockerCommands.mkdkr,
  "signal": procCommands.signal,
  "wait": procCommands.wait,
  "waitall": procCommands.waitall,
  "stdin": procCommands.stdin,
  "stdout": procCommands.stdout,
  "stderr": procCommands.stderr,
  "mkdns": dnsCommands.mkdns,
  "set": dnsCommands.set,
  "unset": dnsCommands.unset,
  "mk@join": serverCommands.mkJoin,
  "mk@leave": serverCommands.mkLeave,
  "join": serverCommands.join,
  "suicide": serverCommands.suicide,
  "stk": serverCommands.stk,
  // operator ergonomics (SPEC §15)
  "run": runCommand.run,
  "ps": psCommand.ps,
  "context": contextCommand.context,
  "version": versionCommand.version,
  "completion": completionCommand.completion,
  "watch": watchCommand.watch,
  "tail": tailCommand.tail,
  "console": consoleCommand.console,
};
