/**
 * The two error classes every circuit operation can throw.
 *
 * @module
 */

/**
 * An application error: the server understood the request and refused it.
 * The message is the cause text of the specification (e.g. `channel closed`).
 *
 * @example
 * ```ts
 * import { CircuitError } from "@circuit/client";
 * const err = new CircuitError("channel closed");
 * console.log(err instanceof CircuitError, err.message); // true "channel closed"
 * ```
 */
export class CircuitError extends Error {
  /** Creates an application error with the given cause text. */
  constructor(message: string) {
    super(message);
    this.name = "CircuitError";
  }
}

/**
 * A system error: a server is unreachable, timed out, failed authentication or went away.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@circuit/client";
 * const err = new ConnectionError("connection lost");
 * console.log(err instanceof ConnectionError); // true
 * ```
 */
export class ConnectionError extends Error {
  /** Creates a system error with the given cause text. */
  constructor(message: string) {
    super(message);
    this.name = "ConnectionError";
  }
}
