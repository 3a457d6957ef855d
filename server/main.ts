/**
 * `circuit start`: validates the flags, prepares the var dir, listens, prints the URL and runs
 * the daemon until it shuts down (SPEC §3).
 *
 * @module
 */
import { parseKeyText } from "../wire/crypto/keys.ts";
import { serverLeaf } from "./tls_leaf.ts";
import type { OperatorPki } from "../wire/crypto/operator_pki.ts";
import { readOperatorPki } from "../wire/tls/operator_files.ts";
import { TlsListener } from "./tls_listener.ts";
import { formatCircuitUrl, parseCircuitUrl } from "../wire/url.ts";
import { VERSION } from "../wire/version.ts";
import { advertisedHost, interfaceAddress, parseListenAddr } from "./address.ts";
import { Discovery } from "./discovery/multicast.ts";
import { DockerEngine } from "./docker/engine.ts";
import { log } from "./log.ts";
import { type MetricsEndpoint, serveMetrics } from "./metrics/endpoint.ts";
import { OpsLog } from "./ops_log.ts";
import { loadPolicy } from "./policy/load.ts";
import type { Policy } from "./policy/policy.ts";
import { serverIdentity } from "../wire/identity.ts";
import { CircuitServer } from "./server.ts";
import { defaultVarDir, lockVarDir } from "./var_dir.ts";
import { setTailCapacity } from "./elements/tail_ring.ts";

/** How often a `-j` target that could not be reached is tried again (SPEC §9.3). */
const _JOIN_RETRY_MS = 5_000;

/** The flags of `circuit start`, already resolved against their environment variables. */
export interface StartOptions {
  addr?: string;
  iface?: string;
  varDir?: string;
  join?: string;
  hmac?: string;
  /** `-tls-ca`, `-tls-cert`, `-tls-key`: an operator's PKI instead of the key (SPEC §10.1). */
  tls?: { ca: string; cert: string; key: string };
  discover?: string;
  docker: boolean;
  /** `-metrics host:port`: serve Prometheus metrics there (SPEC §13.4). */
  metrics?: string;
  /** `-tag KEY=VALUE` pairs, already checked (SPEC §15.1). */
  tags?: Record<string, string>;
  /** `-policy`: authorization policy file (SPEC §10.5). */
  policy?: string;
  /** Bytes of each output stream's ring for `tail` (SPEC §13.2); 0 turns tail off. */
  tail?: number;
}

const _encoder = new TextEncoder();

function _hex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/**
 * Runs a server; resolves with the process exit code once it has stopped.
 *
 * @example
 * ```ts ignore
 * import { runServer } from "./main.ts";
 * Deno.exit(await runServer({ addr: "127.0.0.1:0", docker: false }));
 * ```
 */
export async function runServer(opts: StartOptions): Promise<number> {
  Deno.stderr.writeSync(_encoder.encode(`CIRCUIT ${VERSION}\n`));
  const fail = (cause: string): number => {
    Deno.stderr.writeSync(_encoder.encode(`circuit: start: ${cause}\n`));
    return 1;
  };
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

  let key: Uint8Array | undefined;
  let pki: OperatorPki | undefined;
  let listenAt;
  let docker: DockerEngine | undefined;
  let metricsAt;
  let policy: Policy | null = null;
  try {
    if (opts.policy !== undefined) policy = await loadPolicy(opts.policy);
    if (opts.join !== undefined) parseCircuitUrl(opts.join);
    if (opts.discover !== undefined) _checkDiscoveryAddress(opts.discover);
    if (opts.hmac !== undefined) {
      let text: string;
      try {
        text = await Deno.readTextFile(opts.hmac);
      } catch (err) {
        throw new Error(`problem reading private key file (${opts.hmac}): ${_ioCause(err)}`);
      }
      key = parseKeyText(text, opts.hmac);
    }
    if (opts.tls !== undefined) pki = await readOperatorPki(opts.tls);
    listenAt = opts.iface !== undefined
      ? { hostname: interfaceAddress(opts.iface), port: 0 }
      : parseListenAddr(opts.addr ?? "0.0.0.0:0");
    if (opts.metrics !== undefined) metricsAt = parseListenAddr(opts.metrics);
    if (opts.docker) {
      docker = DockerEngine.fromEnv(Deno.env.get("DOCKER_HOST"));
      try {
        await docker.ping();
      } catch (err) {
        throw new Error(`cannot use docker: ${message(err)}`);
      }
      log(`Enabling docker elements, using ${docker.address}`);
    }
  } catch (err) {
    return fail(message(err));
  }

  const workerId = "Q" + _hex(8);
  const serverId = "X" + _hex(8);
  const varDir = (opts.varDir ?? defaultVarDir(workerId, Deno.pid, Deno.env.get("TMPDIR") || "/tmp"))
    .replaceAll("%W", workerId);
  // A start-up that fails must not leave behind a var dir it created (SPEC §15, issue 13).
  const createdVarDir = !_exists(varDir);
  const dropVarDir = () => {
    if (!createdVarDir) return;
    try {
      Deno.removeSync(varDir, { recursive: true });
    } catch {
      // never created (mkdir itself failed)
    }
  };
  let lock: Deno.FsFile;
  try {
    lock = await lockVarDir(varDir);
  } catch (err) {
    dropVarDir();
    return fail(message(err));
  }
  log(`Created and locked ${varDir}/.lock`);
  let listener: Deno.Listener<Deno.TcpConn> | TlsListener;
  try {
    if (key) {
      const leaf = await serverLeaf(key, workerId, listenAt.hostname);
      log("Using mutual TLS 1.3 with the cluster CA of the key.");
      listener = await TlsListener.listen(listenAt.hostname, listenAt.port, leaf.certPem, leaf.keyPem);
    } else if (pki) {
      log(`Using mutual TLS 1.3 with the operator CA ${opts.tls!.ca}.`);
      listener = await TlsListener.listen(listenAt.hostname, listenAt.port, pki.certPem, pki.keyPem);
    } else {
      listener = Deno.listen({ hostname: listenAt.hostname, port: listenAt.port });
    }
  } catch (err) {
    lock.close();
    dropVarDir();
    const host = listenAt.hostname.includes(":") ? `[${listenAt.hostname}]` : listenAt.hostname;
    const cause = err instanceof Deno.errors.AddrInUse ? "address already in use" : _ioCause(err);
    return fail(`listen ${host}:${listenAt.port}: ${cause}`);
  }
  // Bound before the URL is printed (a busy port is a startup error); the text comes once the server exists.
  let metricsText = () => "";
  let metrics: MetricsEndpoint | undefined;
  if (metricsAt) {
    try {
      metrics = serveMetrics(metricsAt.hostname, metricsAt.port, () => metricsText());
    } catch (err) {
      listener.close();
      lock.close();
      const cause = err instanceof Deno.errors.AddrInUse ? "address already in use" : _ioCause(err);
      return fail(`metrics listen ${_hostPort(metricsAt.hostname, metricsAt.port)}: ${cause}`);
    }
  }
  const bound = listener.addr as Deno.NetAddr;
  const url = formatCircuitUrl({
    host: advertisedHost(bound.hostname),
    port: bound.port,
    pid: Deno.pid,
    workerId,
  });
  const opsLog = OpsLog.open(`${varDir}/ops.log`, serverIdentity(workerId).name);
  opsLog.record("start", { Addr: url, ServerID: serverId });
  Deno.stdout.writeSync(_encoder.encode(url + "\n"));

  if (opts.tail !== undefined) setTailCapacity(opts.tail);
  const server = new CircuitServer({
    listener,
    url,
    workerId,
    serverId,
    key,
    pki,
    opsLog,
    lock,
    docker,
    metrics: metrics !== undefined,
    host: _hostname(),
    tags: opts.tags,
    policy,
  });
  metricsText = () => server.metricsText();
  if (policy) log(`Enforcing policy ${opts.policy} (${policy.size} rules)`);
  log(`Attaching /${serverId} as server`);
  if (metrics) {
    log(`Serving metrics on http://${_hostPort(metrics.addr.hostname, metrics.addr.port)}/metrics`);
  }

  let exitCode: Promise<number> | null = null;
  const stop = (reason: string) => {
    const code = server.shutdown(reason);
    exitCode ??= code;
  };
  const onTerm = () => stop("signal SIGTERM");
  const onInt = () => stop("signal SIGINT");
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  // Only with a policy: without one, SIGHUP keeps its default (a closed terminal stops the server).
  const policyFile = opts.policy;
  const onHup = () => void _reloadPolicy(server, policyFile!);
  if (policyFile !== undefined) Deno.addSignalListener("SIGHUP", onHup);

  if (opts.join !== undefined) {
    log(`Joining ${opts.join}`);
    _joinWithRetry(server, opts.join);
  }
  let discovery: Discovery | undefined;
  if (opts.discover !== undefined) {
    log(`Using UDP multicast discovery on address ${opts.discover}`);
    try {
      discovery = await Discovery.start(opts.discover, {
        url,
        key,
        iface: opts.iface !== undefined ? listenAt.hostname : undefined,
        knows: (u) => server.membership.knows(u),
        join: (u) => server.membership.join(u),
        log,
      });
    } catch (err) {
      // The server still works without discovery (joins by URL); say why it is missing.
      log(`discovery on ${opts.discover} failed: ${_ioCause(err)}`);
    }
  }
  if (opts.join === undefined && opts.discover === undefined) log("Singleton server.");

  await server.serve();
  discovery?.close();
  // `suicide` closes the listener from inside the server: that shutdown is already under way.
  const code = await (exitCode ?? server.stopping ?? server.shutdown("listener closed"));
  Deno.removeSignalListener("SIGTERM", onTerm);
  Deno.removeSignalListener("SIGINT", onInt);
  await metrics?.close();
  if (policyFile !== undefined) Deno.removeSignalListener("SIGHUP", onHup);
  return code;
}

/** SIGHUP: a good file replaces the policy; a broken one keeps the old policy, and says why. */
async function _reloadPolicy(server: CircuitServer, path: string): Promise<void> {
  try {
    const policy = await loadPolicy(path);
    server.policy = policy;
    log(`Reloaded policy ${path} (${policy.size} rules)`);
  } catch (err) {
    log(`${err instanceof Error ? err.message : err}; keeping the previous policy`);
  }
}

async function _joinWithRetry(server: CircuitServer, url: string): Promise<void> {
  for (;;) {
    try {
      await server.membership.join(url);
      return;
    } catch (err) {
      const cause = err instanceof Error ? err.message : String(err);
      if (cause.startsWith("authentication failed") || cause === "server identity mismatch") {
        log(`join ${url} failed: ${cause}`);
        return;
      }
      log(`join ${url} failed: ${cause}; retrying`);
      await new Promise((r) => setTimeout(r, _JOIN_RETRY_MS));
    }
  }
}

function _hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function _exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The OS host name; "" where the system will not say (it is only a label). */
function _hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

function _checkDiscoveryAddress(text: string): void {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+):(\d+)$/.exec(text);
  const ok = m !== null && Number(m[1]) >= 224 && Number(m[1]) <= 239 &&
    [m[2], m[3], m[4]].every((o) => Number(o) <= 255) && Number(m[5]) >= 1 && Number(m[5]) <= 65535;
  if (!ok) throw new Error("discovery address must be an IPv4 multicast ip:port");
}

function _ioCause(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/ \(os error \d+\)$/, "").replace(/:.*$/, "").toLowerCase();
}
