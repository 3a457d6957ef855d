/**
 * The server element (SPEC §7.1): one per server, permanent, at the server anchor.
 *
 * @module
 */
import type { Element } from "./element.ts";

/** What the server element needs from the daemon. */
export interface ServerControl {
  /** Merges this server's cluster with the one at `url` (SPEC §9.3). */
  join(url: string): Promise<void>;
  /** Starts a graceful shutdown after the reply went out. */
  suicide(): void;
  /** The diagnostic dump, ending with the `•••` line. */
  stack(): string;
}

/**
 * The permanent element of a server anchor.
 *
 * @example
 * ```ts ignore
 * import { ServerElement } from "./server.ts";
 * const el = new ServerElement("circuit://127.0.0.1:4000/812/Q0de74570a61e9688", new Date(), control);
 * console.log(el.peek());
 * ```
 */
export class ServerElement implements Element {
  readonly kind = "server" as const;
  #addr: string;
  #joined: Date;
  #host: string;
  #tags: Record<string, string>;
  /** The daemon operations behind `join`, `suicide` and `stk`. */
  readonly control: ServerControl;

  /** Creates the element of the server at `addr` on `host` with `tags`, started at `joined`. */
  constructor(
    addr: string,
    joined: Date,
    control: ServerControl,
    host = "",
    tags: Record<string, string> = {},
  ) {
    this.#addr = addr;
    this.#joined = joined;
    this.control = control;
    this.#host = host;
    this.#tags = tags;
  }

  /** `{"Addr": <URL>, "Joined": <start time>, "Host": <host name>, "Tags": {…}}` (SPEC §15.1). */
  peek(): { Addr: string; Joined: string; Host: string; Tags: Record<string, string> } {
    return {
      Addr: this.#addr,
      Joined: this.#joined.toISOString(),
      Host: this.#host,
      Tags: { ...this.#tags },
    };
  }

  /** Server anchors cannot be scrubbed. */
  scrub(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to release: the element lives as long as the server. */
  dispose(): void {}
}
