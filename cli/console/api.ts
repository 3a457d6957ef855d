/**
 * What the console page may ask of the cluster, each answered through the library (`Client`),
 * so the console has the same key, credential and policy as any client (SPEC §13.3).
 *
 * @module
 */
import type { Client } from "../../client/client.ts";
import type { Chan, Cmd, Proc } from "../../client/handles.ts";
import { errorReport } from "../fail.ts";

/** One action's JSON answer: a result, or the error line the CLI would print. */
export type ApiAnswer = { ok: true; value: unknown } | { ok: false; error: string };

/** The CLI command whose error line an action's failure takes (`circuit: <command>: <cause>`). */
const _COMMAND: Record<string, string> = {
  view: "view",
  peek: "peek",
  proc: "mkproc",
  chan: "mkchan",
  signal: "signal",
  scrub: "scrub",
  send: "send",
  close: "close",
};

/** The actions by name. `body` is the request's JSON object. */
export function apiActions(
  client: Client,
): Record<string, (body: Record<string, unknown>) => Promise<unknown>> {
  const handle = async (path: string) => {
    const h = await client.walk(path).get();
    if (!h) throw new Error(`no element at ${path}`);
    return h;
  };
  return {
    view: async () => {
      const out = [];
      for (const [id, anchor] of await client.view()) {
        const server = await anchor.get() as { peek(): Promise<Record<string, unknown>> } | null;
        out.push({ id, ...(server ? await server.peek().catch(() => ({})) : {}) });
      }
      return out;
    },
    peek: async (b) => {
      const h = await client.walk(String(b.path)).get();
      if (!h) return null;
      const peekable = h as { peek?(): Promise<unknown> };
      return { kind: h.kind, state: peekable.peek ? await peekable.peek() : {} };
    },
    proc: async (b) => {
      const proc = await client.walk(String(b.path)).makeProc(b.cmd as Cmd);
      // The page's form has no stdin: a process waiting for input would otherwise never end.
      if (b.closeStdin !== false) await proc.stdin.close().catch(() => {});
      return { path: proc.path };
    },
    chan: async (b) => {
      const chan = await client.walk(String(b.path)).makeChan(Number(b.cap));
      return { path: chan.path };
    },
    signal: async (b) => {
      await ((await handle(String(b.path))) as Proc).signal(String(b.signal));
      return null;
    },
    scrub: async (b) => {
      await client.walk(String(b.path)).scrub({ kill: b.kill === true });
      return null;
    },
    send: async (b) => {
      const chan = (await handle(String(b.path))) as Chan;
      const w = (await chan.send()).getWriter();
      await w.write(new TextEncoder().encode(String(b.text)));
      await w.close();
      return null;
    },
    close: async (b) => {
      await ((await handle(String(b.path))) as Chan).close();
      return null;
    },
  };
}

/** Runs one action and shapes its answer. */
export async function runAction(
  actions: ReturnType<typeof apiActions>,
  name: string,
  body: Record<string, unknown>,
): Promise<ApiAnswer> {
  const action = actions[name];
  if (!action) return { ok: false, error: `circuit: console: unknown action ${name}` };
  try {
    return { ok: true, value: await action(body) };
  } catch (err) {
    return { ok: false, error: errorReport(_COMMAND[name] ?? name, err).line };
  }
}
