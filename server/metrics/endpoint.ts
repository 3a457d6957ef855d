/**
 * The `-metrics ADDR` HTTP listener (SPEC §13.4): `GET /metrics` answers with the registry's
 * text; it is unauthenticated and read-only, so it serves nothing else.
 *
 * @module
 */
import { CONTENT_TYPE } from "./registry.ts";

/** A running metrics listener. */
export interface MetricsEndpoint {
  /** The bound address (the port is the real one when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** Stops listening and waits for requests in progress. */
  close(): Promise<void>;
}

/**
 * Serves `render()` at `GET /metrics` (and `HEAD`) on `hostname:port`; other paths get 404, other
 * methods on `/metrics` 405. Throws the listen error (e.g. `Deno.errors.AddrInUse`).
 *
 * @example
 * ```ts ignore
 * import { serveMetrics } from "./endpoint.ts";
 * const ep = serveMetrics("127.0.0.1", 0, () => "up 1\n");
 * console.log(await (await fetch(`http://127.0.0.1:${ep.addr.port}/metrics`)).text());
 * await ep.close();
 * ```
 */
export function serveMetrics(hostname: string, port: number, render: () => string): MetricsEndpoint {
  const server = Deno.serve({
    hostname,
    port,
    // Deno.serve prints "Listening on …" by default; stdout carries only the circuit URL (SPEC §3.3).
    onListen: () => {},
  }, (req) => {
    const path = new URL(req.url).pathname;
    if (path !== "/metrics") return new Response("not found\n", { status: 404 });
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    return new Response(req.method === "HEAD" ? null : render(), {
      headers: { "content-type": CONTENT_TYPE, "cache-control": "no-store" },
    });
  });
  return {
    addr: server.addr as Deno.NetAddr,
    close: () => server.shutdown(),
  };
}
