/**
 * The console's HTTP side (SPEC §13.3): a fresh token guards every request (the first one
 * carrying it gets an HttpOnly, SameSite=Strict cookie); the page and its assets, the actions
 * as JSON, and server-sent events for the change feed and for a process's live output.
 *
 * @module
 */
import type { Client } from "../../client/client.ts";
import type { Proc } from "../../client/handles.ts";
import { apiActions, runAction } from "./api.ts";
import { PAGE_ASSETS } from "./assets.ts";
import { OutputSampler } from "./output_sampler.ts";
import { WaitList } from "../../wire/wait_list.ts";

const _COOKIE = "circuit_console";

/** A comment line this often keeps idle event streams (and proxies) from timing out. */
const _SSE_KEEPALIVE_MS = 15_000;

/** The page shows output from here on: enough context, while a first paint stays cheap. */
const _OUTPUT_TAIL_BYTES = 64 * 1024;

/**
 * Live output reaches the page at this rate per stream at most: more than anyone reads, yet the
 * page keeps answering while a process writes 10 MB/s; the rest is skipped, and said so. After
 * each message a stream pauses for that message's share of a second at this rate, so a line now
 * and then shows at once (SPEC §13.3 asks within 100 ms) and a flood comes 32 KiB every 50 ms.
 */
const _OUTPUT_BYTES_PER_S = 640 * 1024;

/** The most one output message carries: 50 ms at the rate above. */
const _OUTPUT_MESSAGE_BYTES = _OUTPUT_BYTES_PER_S / 20;

/** The least pause between two messages: each costs the page a wake-up and a parse. */
const _OUTPUT_MIN_GAP_MS = 5;

/**
 * Changes are gathered this long before they go to the page: each event-stream message costs the
 * browser a wake-up, and the page redraws changes at most every 250 ms anyway, so one message per
 * redraw is what the page can show; still well under a glance.
 */
const _BATCH_MS = 200;

/** Bytes queued for one page before the console stops taking from what feeds it. */
const _SSE_BUFFER_BYTES = 256 * 1024;

const _encoder = new TextEncoder();

/** The change feed of `path` as the JSON lines the server sent (client/watch.ts `watchLines`). */
export type WatchLines = (path: string, signal: AbortSignal) => AsyncIterable<string[]>;

/**
 * Builds the request handler for `client`, guarded by `token`; the page's change feed comes from
 * `watch`, passed on undecoded.
 *
 * @example
 * ```ts ignore
 * Deno.serve({ hostname: "127.0.0.1", port: 0 }, consoleHandler(client, (p, s) => watchLines(conn, p, s), "s3cret"));
 * ```
 */
export function consoleHandler(
  client: Client,
  watch: WatchLines,
  token: string,
): (req: Request) => Promise<Response> {
  const actions = apiActions(client);
  return async (req) => {
    const url = new URL(req.url);
    const given = url.searchParams.get("token");
    const cookie = _cookieOf(req);
    if (given !== token && cookie !== token) return new Response("unauthorized\n", { status: 401 });
    if (given === token && cookie !== token) {
      // The token leaves the address bar: from now on the cookie proves the page.
      url.searchParams.delete("token");
      return new Response(null, {
        status: 303,
        headers: {
          location: url.pathname + url.search,
          "set-cookie": `${_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        },
      });
    }
    const asset = PAGE_ASSETS[url.pathname];
    if (asset && req.method === "GET") {
      return new Response(asset.text, {
        headers: { "content-type": asset.type, "cache-control": "no-store" },
      });
    }
    if (url.pathname === "/events") return _watchEvents(client, watch);
    if (url.pathname === "/output") return _outputEvents(client, url.searchParams.get("path") ?? "");
    if (url.pathname.startsWith("/api/") && req.method === "POST") {
      let body: Record<string, unknown>;
      try {
        body = await req.json();
      } catch {
        return Response.json({ ok: false, error: "circuit: console: malformed request" }, { status: 400 });
      }
      return Response.json(await runAction(actions, url.pathname.slice(5), body ?? {}));
    }
    return new Response("not found\n", { status: 404 });
  };
}

function _cookieOf(req: Request): string | null {
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const [k, v] = part.trim().split("=");
    if (k === _COOKIE) return v ?? null;
  }
  return null;
}

/**
 * An event-stream response; `feed` writes events until the page goes away, which cancels the
 * body and so aborts `signal`.
 */
function _sse(
  feed: (send: _Send, signal: AbortSignal) => Promise<void>,
): Response {
  let timer: ReturnType<typeof setInterval> | undefined;
  const gone = new AbortController();
  const signal = gone.signal;
  // Back-pressure: a page slower than the stream holds up `send`, so the console buffers at most
  // _SSE_BUFFER_BYTES per page (a followed tail then skips what its ring overwrote meanwhile).
  // Both output streams may wait at once: every waiter is woken.
  const room = new WaitList<void>();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string): Promise<void> => {
        try {
          controller.enqueue(_encoder.encode(text));
        } catch {
          return Promise.resolve(); // closed under us: the page went away
        }
        if ((controller.desiredSize ?? 1) > 0 || signal.aborted) return Promise.resolve();
        return room.wait();
      };
      timer = setInterval(() => write(": keep-alive\n\n"), _SSE_KEEPALIVE_MS);
      const send: _Send = (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      send.json = (event, json) => write(`event: ${event}\ndata: ${json}\n\n`);
      feed(send, signal)
        .catch((err) => {
          if (!signal.aborted) {
            write(`event: failure\ndata: ${JSON.stringify(String(err?.message ?? err))}\n\n`);
          }
        })
        .finally(() => {
          clearInterval(timer);
          try {
            controller.close();
          } catch {
            // already closed
          }
        });
    },
    pull() {
      room.resolveAll();
    },
    cancel() {
      clearInterval(timer);
      gone.abort();
      room.resolveAll();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: _SSE_BUFFER_BYTES }));
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
  });
}

function _watchEvents(client: Client, watch: WatchLines): Response {
  return _sse(async (send, signal) => {
    send("hello", { server: client.serverId, addr: client.addr });
    // Changes go out in batches: each event-stream message costs the browser a wake-up, which a
    // cluster running hundreds of short jobs a second would otherwise pay per change. The server's
    // JSON lines become the batch's array as they are: the page decodes them, the console need not.
    let batch: string[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let sent = Promise.resolve();
    const flush = () => {
      timer = undefined;
      sent = send.json("changes", `[${batch.join(",")}]`);
      batch = [];
    };
    try {
      for await (const lines of watch("/...", signal)) {
        // A stalled page stops the watch being read: the server's bound on it (overflow, then a
        // snapshot) is then what limits the memory, not this process.
        await sent;
        batch.push(...lines);
        timer ??= setTimeout(flush, _BATCH_MS);
      }
    } finally {
      clearTimeout(timer);
    }
  });
}

/** Writes one event-stream message: `data` as JSON, or (`json`) text already JSON. */
type _Send = {
  (event: string, data: unknown): Promise<void>;
  json: (event: string, json: string) => Promise<void>;
};

function _outputEvents(client: Client, path: string): Response {
  return _sse(async (send, signal) => {
    const h = await client.walk(path).get();
    if (!h || (h.kind !== "proc" && h.kind !== "docker")) {
      throw new Error(`${path} is not a process or a container`);
    }
    const follow = async (stream: "stdout" | "stderr") => {
      const sampler = new OutputSampler(_OUTPUT_MESSAGE_BYTES);
      const arrived = new WaitList<void>();
      let ended = false;
      // Kept, not thrown: the loop below may be waiting on a send or the interval when the tail
      // fails, and a rejection nobody awaits yet would end the whole console.
      let failure: unknown;
      const reading = (async () => {
        try {
          const tail = (h as Proc).tail({ follow: true, bytes: _OUTPUT_TAIL_BYTES, stream, signal });
          for await (const chunk of tail) {
            sampler.add(chunk);
            arrived.resolveAll();
          }
        } catch (err) {
          failure = err;
        } finally {
          ended = true;
          arrived.resolveAll();
        }
      })();
      while (!(ended && sampler.empty)) {
        if (sampler.empty) {
          await arrived.wait();
          continue;
        }
        const sample = sampler.take();
        await send("output", { stream, ...sample });
        const pauseMs = Math.max(_OUTPUT_MIN_GAP_MS, (sample.text.length / _OUTPUT_BYTES_PER_S) * 1000);
        if (!ended) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
      await reading;
      if (failure !== undefined) throw failure;
    };
    await Promise.all([follow("stdout"), follow("stderr")]);
    send("end", null);
  });
}
