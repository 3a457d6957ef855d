/**
 * What every handle has: its path and the element it names on the hosting server (SPEC §6.3).
 *
 * @module
 */
import type { Connection } from "../wire/connection.ts";
import type { Target } from "../wire/ops.ts";

/** @internal What every handle has: its path and the element it names on the hosting server. */
export abstract class _Handle {
  /** The element's anchor path. */
  readonly path: string;
  /** @internal */
  protected readonly _conn: Connection;
  /** @internal */
  protected readonly _target: Target;

  /** @internal */
  constructor(conn: Connection, path: string, eid: number) {
    this._conn = conn;
    this.path = path;
    this._target = { Path: path, Eid: eid };
  }
}
