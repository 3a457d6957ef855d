/**
 * Handles on channels and membership subscriptions (SPEC §7.3, §7.4, §8).
 *
 * @module
 */
import { camelize } from "./case.ts";
import type { Connection } from "../wire/connection.ts";
import type { HandleInfo } from "../wire/ops.ts";
import { CALL_TIMEOUT_MS } from "../wire/timeouts.ts";
import { _Handle } from "./handle.ts";
import type { Opts } from "./handle_types.ts";

/**
 * A channel element: a FIFO of messages living on its hosting server; each message is a byte
 * stream from one sender to one receiver. `send()` waits while `cap` messages are queued, which
 * is how a channel applies back-pressure.
 *
 * @example
 * ```ts ignore
 * const chan = await client.walk(`/${client.serverId}/queue`).makeChan(1);
 * const w = (await chan.send()).getWriter();
 * await w.write(new TextEncoder().encode("job 1"));
 * await w.close();
 * console.log(await new Response(await chan.recv()).text()); // "job 1"
 * ```
 */
export class Chan extends _Handle {
  /** Always `"chan"`. */
  readonly kind = "chan" as const;
  /** The channel's capacity. */
  readonly cap: number;

  /** @internal */
  constructor(conn: Connection, path: string, info: HandleInfo) {
    super(conn, path, info.Eid);
    this.cap = info.Cap ?? 0;
  }

  /**
   * Waits until the channel admits a message and returns a stream for its body; closing the
   * stream ends the message.
   *
   * @example
   * ```ts ignore
   * const w = (await chan.send()).getWriter();
   * await w.write(new TextEncoder().encode("hello"));
   * await w.close();
   * ```
   */
  async send(opts: Opts = {}): Promise<WritableStream<Uint8Array>> {
    return (await this._conn.openInput("send", this._target, { signal: opts.signal })).writable;
  }

  /**
   * Waits for the next message and returns its body. Cancelling before the first byte puts the
   * message back at the head of the queue.
   *
   * @example
   * ```ts ignore
   * console.log(await new Response(await chan.recv()).text());
   * ```
   */
  async recv(opts: Opts = {}): Promise<ReadableStream<Uint8Array>> {
    const { stream, first } = this._conn.openOutput("recv", this._target, { signal: opts.signal });
    // The body is available once the message is taken; a failure before any byte rejects.
    await first;
    return stream;
  }

  /**
   * Closes the channel: queued messages can still be received, new sends fail.
   *
   * @example
   * ```ts ignore
   * await chan.close();
   * ```
   */
  async close(): Promise<void> {
    await this._conn.call("close", this._target, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /**
   * The channel's counters.
   *
   * @example
   * ```ts ignore
   * console.log((await chan.stat()).numSend);
   * ```
   */
  async stat(): Promise<
    { cap: number; closed: boolean; aborted: boolean; numSend: number; numRecv: number }
  > {
    return camelize(await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS })) as {
      cap: number;
      closed: boolean;
      aborted: boolean;
      numSend: number;
      numRecv: number;
    };
  }
}

/**
 * A subscription to membership events: iterate it to get `/X…` server anchor paths. Each event
 * goes to one consumer; scrubbing the anchor ends waiting loops with `subscription closed`.
 *
 * @example
 * ```ts ignore
 * const joins = await client.walk(`/${client.serverId}/watch/join`).makeOnJoin();
 * for await (const server of joins) console.log("member:", server);
 * ```
 */
export class Subscription extends _Handle implements AsyncIterable<string> {
  /** `"@join"` or `"@leave"`. */
  readonly kind: "@join" | "@leave";

  /** @internal */
  constructor(conn: Connection, path: string, info: HandleInfo) {
    super(conn, path, info.Eid);
    this.kind = info.Kind as "@join" | "@leave";
  }

  /**
   * The subscription's state: `pending` counts undelivered events exactly.
   *
   * @example
   * ```ts ignore
   * console.log((await sub.peek()).pending);
   * ```
   */
  async peek(): Promise<{ source: "join" | "leave"; pending: number; closed: boolean }> {
    return camelize(await this._conn.call("peek", this._target, { timeoutMs: CALL_TIMEOUT_MS })) as {
      source: "join" | "leave";
      pending: number;
      closed: boolean;
    };
  }

  /**
   * Yields events as they happen; leaving the loop cancels the pending wait, losing nothing.
   *
   * @example
   * ```ts ignore
   * for await (const server of sub) console.log("joined:", server);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    const ctl = new AbortController();
    try {
      for (;;) {
        const { stream } = this._conn.openOutput("recv", this._target, { signal: ctl.signal });
        yield await new Response(stream).text();
      }
    } finally {
      ctl.abort();
    }
  }
}
