/**
 * The `circuit` executable: `circuit start` runs a server, every other command is a client
 * (SPEC §3–§5). Run `circuit help` for the command list.
 *
 * @module
 */
import { runCli } from "./cli/main.ts";

if (import.meta.main) Deno.exit(await runCli(Deno.args));
