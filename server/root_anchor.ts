/**
 * Calls on the root anchor `/` (SPEC §4): `ls` lists the members' server anchors; `peek`,
 * `scrub` and `get` are no-ops; nothing can be made there.
 *
 * @module
 */
import type { IncomingCall } from "../wire/connection.ts";
import { CircuitError } from "../wire/errors.ts";
import type { Member } from "../wire/ops.ts";

/** Serves `call` on `/`, with the membership's current view. */
export function serveRoot(call: IncomingCall, members: readonly Member[]): void {
  switch (call.op) {
    case "mk":
      throw new CircuitError("cannot create elements outside of servers");
    case "ls":
      return call.reply(members.map((m) => ({ Path: "/" + m.Id, Kind: "server" })));
    case "peek":
    case "scrub":
    case "get":
      return call.reply(null);
    default:
      throw new CircuitError("cannot operate on the root anchor");
  }
}
