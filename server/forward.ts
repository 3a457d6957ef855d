/**
 * Forwarding: the dialed server relays a call on another server's anchor over its peer
 * connection, frame for frame, so flow control and cancellation work end to end (SPEC §6.3, §11.7).
 *
 * @module
 */
import type { Connection, IncomingCall } from "../wire/connection.ts";
import { ErrorKind, T } from "../wire/frame.ts";

/** Fails relayed calls when their hosting server leaves the view. */
export class RelayTable {
  #byServer = new Map<string, Set<(reason: string) => void>>();

  /** @internal */
  _add(serverId: string, fail: (reason: string) => void): () => void {
    let set = this.#byServer.get(serverId);
    if (!set) this.#byServer.set(serverId, set = new Set());
    set.add(fail);
    return () => {
      set.delete(fail);
      if (set.size === 0) this.#byServer.delete(serverId);
    };
  }

  /** Fails every call relayed to `serverId` with `server <id> unreachable: <reason>`. */
  failAll(serverId: string, reason: string): void {
    for (const fail of [...this.#byServer.get(serverId) ?? []]) fail(reason);
  }

  /** Number of calls being relayed. */
  get size(): number {
    let n = 0;
    for (const s of this.#byServer.values()) n += s.size;
    return n;
  }
}

/**
 * Relays `call` (with `args`) to server `serverId` over `peer`. `timeoutMs` bounds
 * non-blocking operations; system errors come back as `server <id> unreachable: <reason>`.
 *
 * @example
 * ```ts ignore
 * import { relay, RelayTable } from "./forward.ts";
 * relay(call, call.args, peerConn, "X88550014d4c82e4d", new RelayTable(), 10_000);
 * ```
 */
export function relay(
  call: IncomingCall,
  args: unknown,
  peer: Connection,
  serverId: string,
  table: RelayTable,
  timeoutMs: number | undefined,
): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const finish = () => {
    done = true;
    clearTimeout(timer);
    remove();
    call.signal.removeEventListener("abort", onAbort);
  };
  const unreachable = (reason: string) => {
    if (done) return;
    finish();
    raw?.cancel();
    call.failRaw(ErrorKind.System, `server ${serverId} unreachable: ${reason}`);
  };
  const remove = table._add(serverId, unreachable);
  const onAbort = () => {
    if (done) return;
    finish();
    raw?.cancel();
  };
  let raw: ReturnType<Connection["startRaw"]> | undefined;
  try {
    raw = peer.startRaw(call.op, args, {
      onStream: (type, payload) => call.sendStream(type, payload),
      onResult: (value) => {
        if (done) return;
        finish();
        call.reply(value);
      },
      onError: (kind, message) => {
        if (done) return;
        if (kind === ErrorKind.System && (message === "connection lost" || message === "cancelled")) {
          return unreachable(message);
        }
        finish();
        call.failRaw(kind, message);
      },
    });
  } catch {
    return unreachable("connection lost");
  }
  call.onStream = (f) => {
    if (f[0] === T.Data || f[0] === T.Credit || f[0] === T.End) raw!.sendStream(f[0], f[2] as never);
  };
  call.signal.addEventListener("abort", onAbort, { once: true });
  if (call.signal.aborted) onAbort();
  if (timeoutMs !== undefined) {
    timer = setTimeout(() => unreachable(`timed out after ${Math.round(timeoutMs / 1000)}s`), timeoutMs);
  }
}
