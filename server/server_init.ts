/**
 * What a server is made of, decided by `circuit start` before the daemon runs.
 *
 * @module
 */
import type { OperatorPki } from "../wire/crypto/operator_pki.ts";
import type { DockerEngine } from "./docker/engine.ts";
import type { OpsLog } from "./ops_log.ts";
import type { Policy } from "./policy/policy.ts";
import type { TlsListener } from "./tls_listener.ts";

/** Everything the daemon is made of, decided before it starts. */
export interface ServerInit {
  /** Plain TCP, or TLS 1.3 with the server's leaf when keyed. */
  listener: Deno.Listener<Deno.TcpConn> | TlsListener;
  url: string;
  workerId: string;
  serverId: string;
  key?: Uint8Array;
  /** An operator's PKI instead of the key (SPEC §10.1). */
  pki?: OperatorPki;
  opsLog: OpsLog;
  lock: Deno.FsFile;
  docker?: DockerEngine;
  /** Keep metrics (SPEC §13.4): `-metrics` was given. Off, nothing is counted or timed. */
  metrics?: boolean;
  /** The OS host name and `-tag` pairs this server announces (SPEC §15.1). */
  host?: string;
  tags?: Record<string, string>;
  /** The `-policy` in force at start; null or absent: none (SPEC §10.4). */
  policy?: Policy | null;
}
