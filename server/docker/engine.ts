/**
 * The Docker Engine API calls circuit needs, over the engine's Unix socket (SPEC §7.6). The
 * engine remembers which containers it created, so a shutting-down server can remove them.
 *
 * @module
 */
import { CircuitError } from "../../wire/errors.ts";
import { type UnixHttpResponse, unixRequest, unixUpgrade, type UpgradedConnection } from "./http_unix.ts";

// Engine API version in every path: 1.41 is what Docker 20.10 (Debian 12's docker.io) speaks,
// and later engines still accept it, so one fixed version avoids a `/version` round trip.
const API = "/v1.41";
// Where the engine listens when DOCKER_HOST is not set (the Docker default).
const DEFAULT_SOCKET = "/var/run/docker.sock";

/** The result of the engine's wait. */
export interface WaitResult {
  /** The container's exit code. */
  StatusCode: number;
}

/**
 * A Docker engine reached over a Unix socket.
 *
 * @example
 * ```ts
 * import { DockerEngine } from "./engine.ts";
 * const engine = DockerEngine.fromEnv(Deno.env.get("DOCKER_HOST"));
 * await engine.ping();
 * console.log(engine.address); // "unix:///var/run/docker.sock"
 * ```
 */
export class DockerEngine {
  /** The socket path. */
  readonly socketPath: string;
  #owned = new Set<string>();

  /** An engine listening on the Unix socket at `socketPath`. */
  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /**
   * The engine named by a `DOCKER_HOST` value: `unix://<path>`, or the default socket when unset
   * or empty. Throws for any other scheme.
   *
   * @example
   * ```ts
   * import { DockerEngine } from "./engine.ts";
   * console.log(DockerEngine.fromEnv("unix:///tmp/d.sock").socketPath); // "/tmp/d.sock"
   * ```
   */
  static fromEnv(dockerHost: string | undefined): DockerEngine {
    if (dockerHost === undefined || dockerHost === "") return new DockerEngine(DEFAULT_SOCKET);
    if (!dockerHost.startsWith("unix://") || dockerHost.length === "unix://".length) {
      throw new Error(`DOCKER_HOST ${dockerHost}: only unix://<path> is supported`);
    }
    return new DockerEngine(dockerHost.slice("unix://".length));
  }

  /** The engine address as logged: `unix://<path>`. */
  get address(): string {
    return `unix://${this.socketPath}`;
  }

  /** Resolves when the engine answers `/_ping`; rejects with the cause otherwise. */
  async ping(): Promise<void> {
    let res: UnixHttpResponse;
    try {
      res = await unixRequest(this.socketPath, "GET", "/_ping");
    } catch (err) {
      throw new Error(`${this.address}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.status !== 200) throw new Error(`${this.address}: ping answered ${res.status}`);
  }

  /** Creates a container named `name` from an Engine API create body; returns its ID. */
  async create(name: string, body: unknown): Promise<string> {
    const res = await this.#call("POST", `/containers/create?name=${encodeURIComponent(name)}`, body);
    const id = String((_json(res) as { Id?: unknown }).Id ?? "");
    this.#owned.add(id);
    return id;
  }

  /** Attaches to stdin, stdout and stderr of a container (streaming, multiplexed without a TTY). */
  async attach(id: string): Promise<UpgradedConnection> {
    const res = await unixUpgrade(
      this.socketPath,
      "POST",
      `${API}/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`,
    );
    if ("conn" in res) return res;
    throw new CircuitError(_message(res));
  }

  /** Starts a created container. */
  async start(id: string): Promise<void> {
    await this.#call("POST", `/containers/${id}/start`);
  }

  /** Waits until the container is not running. */
  async wait(id: string, signal?: AbortSignal): Promise<WaitResult> {
    const res = await this.#call("POST", `/containers/${id}/wait`, undefined, signal);
    return { StatusCode: Number((_json(res) as { StatusCode?: unknown }).StatusCode ?? 0) };
  }

  /** The engine's inspect result. */
  async inspect(id: string): Promise<Record<string, unknown>> {
    return _json(await this.#call("GET", `/containers/${id}/json`)) as Record<string, unknown>;
  }

  /** Sends a signal (`SIGKILL`, `SIGTERM`, …) to the container's main process. */
  async kill(id: string, signal: string): Promise<void> {
    await this.#call("POST", `/containers/${id}/kill?signal=${encodeURIComponent(signal)}`);
  }

  /** Stops the container: SIGTERM, then SIGKILL after `graceSeconds`. Already stopped is no error. */
  async stop(id: string, graceSeconds: number): Promise<void> {
    await this.#call("POST", `/containers/${id}/stop?t=${graceSeconds}`);
  }

  /** Removes the container (killing it if it runs) with its anonymous volumes. Already gone is no error. */
  async remove(id: string): Promise<void> {
    try {
      await this.#call("DELETE", `/containers/${id}?v=1&force=1`);
    } catch (err) {
      if (!(err instanceof _NotFound)) throw err;
    }
    this.#owned.delete(id);
  }

  /** Names (with their leading `/`) of all containers on the engine, running or not. */
  async listNames(): Promise<string[]> {
    const list = _json(await this.#call("GET", "/containers/json?all=1")) as { Names?: string[] }[];
    return list.flatMap((c) => c.Names ?? []);
  }

  /**
   * Stops (with `graceSeconds` of SIGTERM grace) and removes every container this engine object
   * created and has not removed yet; used at server shutdown (SPEC §3.5).
   */
  async removeAll(graceSeconds = 5): Promise<void> {
    await Promise.all([...this.#owned].map(async (id) => {
      try {
        await this.stop(id, graceSeconds);
      } catch {
        // Gone or broken: removal below decides.
      }
      try {
        await this.remove(id);
      } catch {
        // The engine refused; nothing more a shutting-down server can do.
      }
    }));
  }

  async #call(method: string, path: string, json?: unknown, signal?: AbortSignal): Promise<UnixHttpResponse> {
    const res = await unixRequest(this.socketPath, method, API + path, { json, signal });
    // 304: start/stop of a container already in that state.
    if ((res.status >= 200 && res.status < 300) || res.status === 304) return res;
    if (res.status === 404) throw new _NotFound(_message(res));
    throw new CircuitError(_message(res));
  }
}

/** A 404 from the engine: still a circuit error, told apart so that removal can ignore it. */
class _NotFound extends CircuitError {}

function _json(res: UnixHttpResponse): unknown {
  return res.body.length === 0 ? {} : JSON.parse(new TextDecoder().decode(res.body));
}

/** The engine's error text: `{"message": …}`, else the raw body, else the status. */
function _message(res: UnixHttpResponse): string {
  const text = new TextDecoder().decode(res.body).trim();
  try {
    const msg = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof msg === "string" && msg !== "") return msg;
  } catch {
    // Not JSON: fall back to the text itself.
  }
  return text || `engine answered HTTP ${res.status}`;
}
