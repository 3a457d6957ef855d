/**
 * A minimal HTTP/1.1 client over a Unix socket, enough for the Docker Engine API: one request
 * per connection, `Content-Length`, chunked and close-delimited bodies, and the connection
 * hijack that `attach` uses (`Upgrade: tcp`).
 *
 * @module
 */
import { concat } from "../../wire/bytes.ts";

/** A complete HTTP response. */
export interface UnixHttpResponse {
  /** The status code, e.g. 200. */
  status: number;
  /** Header names in lower case. */
  headers: Map<string, string>;
  /** The decoded body (chunked transfer coding removed). */
  body: Uint8Array;
}

/** The raw byte stream of a hijacked connection. */
export interface UpgradedConnection {
  /** The socket; `closeWrite()` ends what the server reads, `close()` ends both directions. */
  conn: Deno.UnixConn;
  /** Everything the server sends after the response head. Ends when the server closes its side. */
  readable: ReadableStream<Uint8Array>;
}

/** Options of one request. */
export interface UnixHttpOptions {
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown;
  /** Aborting closes the connection; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

// Reads from the socket in pieces of this size: engine replies are small, attach output is streamed on.
const READ_SIZE = 64 * 1024;
// A response head larger than this is no Docker engine talking; refuse rather than buffer without end.
const MAX_HEAD = 64 * 1024;

/**
 * Sends one request on a fresh connection to the socket at `socketPath` and reads the whole response.
 *
 * @example
 * ```ts
 * import { unixRequest } from "./http_unix.ts";
 * const res = await unixRequest("/var/run/docker.sock", "GET", "/_ping");
 * console.log(res.status, new TextDecoder().decode(res.body)); // 200 "OK"
 * ```
 */
export async function unixRequest(
  socketPath: string,
  method: string,
  target: string,
  opts: UnixHttpOptions = {},
): Promise<UnixHttpResponse> {
  return await _withConnection(socketPath, opts.signal, async (conn, reader) => {
    await _writeAll(conn, _requestBytes(method, target, opts.json, { Connection: "close" }));
    const head = await reader.readHead();
    const body = await _readBody(reader, head.headers, method, head.status);
    return { status: head.status, headers: head.headers, body };
  }, true);
}

/**
 * Sends a request that asks the server to hijack the connection (`Upgrade: tcp`) and, once the
 * server answers 101 (or 200, as old engines do), hands over the raw stream. Any other status
 * is returned as a complete response instead.
 *
 * @example
 * ```ts
 * import { unixUpgrade } from "./http_unix.ts";
 * const res = await unixUpgrade("/var/run/docker.sock", "POST", "/v1.41/containers/abc/attach?stream=1&stdout=1");
 * if ("conn" in res) res.conn.close();
 * ```
 */
export async function unixUpgrade(
  socketPath: string,
  method: string,
  target: string,
  signal?: AbortSignal,
): Promise<UpgradedConnection | UnixHttpResponse> {
  return await _withConnection(socketPath, signal, async (conn, reader) => {
    await _writeAll(
      conn,
      _requestBytes(method, target, undefined, { Connection: "Upgrade", Upgrade: "tcp" }),
    );
    const head = await reader.readHead();
    if (head.status !== 101 && head.status !== 200) {
      const body = await _readBody(reader, head.headers, method, head.status);
      conn.close();
      return { status: head.status, headers: head.headers, body };
    }
    return { conn, readable: reader.rest() };
  }, false);
}

async function _withConnection<T>(
  socketPath: string,
  signal: AbortSignal | undefined,
  fn: (conn: Deno.UnixConn, reader: _Reader) => Promise<T>,
  closeAfter: boolean,
): Promise<T> {
  signal?.throwIfAborted();
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // Already closed by the reader at end of stream.
    }
  };
  const onAbort = () => close();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await fn(conn, new _Reader(conn));
  } catch (err) {
    close();
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (closeAfter) close();
  }
}

function _requestBytes(
  method: string,
  target: string,
  json: unknown,
  extra: Record<string, string>,
): Uint8Array {
  const body = json === undefined ? null : new TextEncoder().encode(JSON.stringify(json));
  let head = `${method} ${target} HTTP/1.1\r\nHost: docker\r\nUser-Agent: circuit\r\n`;
  for (const [k, v] of Object.entries(extra)) head += `${k}: ${v}\r\n`;
  if (body) head += `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
  else if (method === "POST" || method === "PUT") head += "Content-Length: 0\r\n";
  head += "\r\n";
  const headBytes = new TextEncoder().encode(head);
  if (!body) return headBytes;
  const all = new Uint8Array(headBytes.length + body.length);
  all.set(headBytes);
  all.set(body, headBytes.length);
  return all;
}

async function _writeAll(conn: Deno.UnixConn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function _readBody(
  reader: _Reader,
  headers: Map<string, string>,
  method: string,
  status: number,
): Promise<Uint8Array> {
  if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return new Uint8Array(0);
  }
  if ((headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
    return await reader.readChunked();
  }
  const length = headers.get("content-length");
  if (length !== undefined) return await reader.readExactly(Number(length));
  return await reader.readToEnd();
}

/** Buffered reading of one connection. */
class _Reader {
  #conn: Deno.UnixConn;
  #buf = new Uint8Array(0);
  #eof = false;

  constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(READ_SIZE);
    const n = await this.#conn.read(chunk);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const merged = new Uint8Array(this.#buf.length + n);
    merged.set(this.#buf);
    merged.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = merged;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  async #readLine(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) return new TextDecoder().decode(this.#take(i + 1)).replace(/\r?\n$/, "");
      if (this.#buf.length > MAX_HEAD) throw new Error("HTTP line too long");
      if (!await this.#fill()) throw new Error("connection closed before the response ended");
    }
  }

  async readHead(): Promise<{ status: number; headers: Map<string, string> }> {
    const statusLine = await this.#readLine();
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) throw new Error(`bad HTTP status line: ${JSON.stringify(statusLine)}`);
    const headers = new Map<string, string>();
    let size = statusLine.length;
    for (;;) {
      const line = await this.#readLine();
      if (line === "") break;
      size += line.length;
      if (size > MAX_HEAD) throw new Error("HTTP response head too large");
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    return { status: Number(m[1]), headers };
  }

  async readExactly(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!await this.#fill()) throw new Error("connection closed before the response ended");
    }
    return this.#take(n);
  }

  async readToEnd(): Promise<Uint8Array> {
    while (await this.#fill());
    return this.#take(this.#buf.length);
  }

  async readChunked(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const size = parseInt((await this.#readLine()).split(";")[0], 16);
      if (!Number.isFinite(size)) throw new Error("bad chunk size");
      if (size === 0) break;
      parts.push(await this.readExactly(size));
      await this.#readLine();
    }
    // Trailers end with an empty line.
    while (await this.#readLine() !== "");
    return concat(parts);
  }

  /** What is buffered, then the rest of the connection; ends (and closes the socket) at EOF or error. */
  rest(): ReadableStream<Uint8Array> {
    const conn = this.#conn;
    let pending: Uint8Array | null = this.#buf.length > 0 ? this.#take(this.#buf.length) : null;
    const done = (controller: ReadableStreamDefaultController<Uint8Array>) => {
      try {
        conn.close();
      } catch {
        // Closed already by its owner.
      }
      controller.close();
    };
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pending) {
          controller.enqueue(pending);
          pending = null;
          return;
        }
        const chunk = new Uint8Array(READ_SIZE);
        let n: number | null;
        try {
          n = await conn.read(chunk);
        } catch {
          // The owner closed the socket, or the engine reset it: either way the stream is over.
          n = null;
        }
        if (n === null) done(controller);
        else controller.enqueue(chunk.subarray(0, n));
      },
      cancel() {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      },
    });
  }
}
