/**
 * The operations a server performs on its own anchors (the hosting side of every call).
 *
 * @module
 */
import type { IncomingCall } from "../wire/connection.ts";
import { CircuitError } from "../wire/errors.ts";
import type { HandleInfo } from "../wire/ops.ts";
import type { Element } from "./elements/element.ts";
import { type ElementResources, planElement } from "./elements/factory.ts";
import { ChanElement } from "./elements/chan.ts";
import { ProcElement } from "./elements/proc.ts";
import { SubscriptionElement } from "./elements/subscription.ts";
import { ServerElement } from "./elements/server.ts";
import type { AckedSource, ByteSink } from "../wire/streams.ts";
import type { Namespace } from "./namespace.ts";
import { parseSignal } from "./signals.ts";
import { psRows } from "./ps.ts";

/** A run whose client went away gets this long after SIGTERM before SIGKILL (SPEC §15.2). */
const _ORPHAN_GRACE_MS = 5_000;
import type { TailRing } from "./elements/tail_ring.ts";

/** SPEC §13.2: `tail` without `-n` prints the last 64 KiB held. */
const _TAIL_DEFAULT_BYTES = 64 * 1024;

/** What the local operations need from the rest of the daemon. */
export interface LocalContext {
  readonly ns: Namespace;
  /** Writes a server log line. */
  log(message: string): void;
  /** Appends to the operations log. */
  record(op: string, fields: Record<string, unknown>): void;
  /** What creating elements needs from the daemon. */
  readonly resources: ElementResources;
  /** Whether a listing may show `path` (absent: everything; set under a policy, SPEC §10.5). */
  visible?: (path: string) => boolean;
}

/** A process or a container: the elements with standard streams. */
interface _Streaming extends Element {
  readonly stdout: AckedSource;
  readonly stderr: AckedSource;
  openStdin(): ByteSink;
  wait(signal?: AbortSignal): Promise<unknown>;
  signal(name: string): void | Promise<void>;
  discard(which: "stdout" | "stderr"): void;
}

function _isStreaming(e: Element | null): e is _Streaming {
  return e !== null && (e.kind === "proc" || e.kind === "docker");
}

/** A `mk` argument as the ops log and the log line show it. */
function _argText(kind: string, arg: unknown): string {
  if (kind === "chan") return String(arg);
  if (kind === "proc" || kind === "docker") return JSON.stringify(arg);
  return typeof arg === "string" ? arg : "";
}

/**
 * Serves `call` on this server's anchors. `names` are the path components below the server
 * anchor; `holder` identifies the client for handle bookkeeping.
 */
export async function serveLocal(
  call: IncomingCall,
  names: string[],
  holder: string,
  ctx: LocalContext,
): Promise<void> {
  const args = call.args as Record<string, unknown>;
  const path = String(args.Path);
  const target = (): Element | null => {
    if (typeof args.Eid === "number") {
      const e = ctx.ns.elementByEid(args.Eid, path);
      if (!e) throw new CircuitError("element no longer exists");
      return e;
    }
    return ctx.ns.elementAt(names)?.element ?? null;
  };
  const streaming = (): _Streaming => {
    const e = target();
    if (!_isStreaming(e)) throw new CircuitError("not a process or a container");
    return e;
  };
  switch (call.op) {
    case "ls": {
      const entries = ctx.ns.list(names, args.Recursive === true, args.PostOrder === true);
      return call.reply(ctx.visible ? entries.filter((e) => ctx.visible!(e.Path)) : entries);
    }
    case "peek": {
      const e = target();
      return call.reply(e ? await e.peek() : null);
    }
    case "get": {
      const found = ctx.ns.elementAt(names);
      if (!found) return call.reply(null);
      ctx.ns.hold(found.eid, holder);
      return call.reply(_handleInfo(found.eid, found.element));
    }
    case "mk":
      return call.reply(await _make(names, args, holder, ctx));
    case "scrub": {
      const found = ctx.ns.elementAt(names);
      if (found && names.length > 0) ctx.log(`Scrubbing ${path}`);
      await ctx.ns.scrub(names, args.Kill === true);
      return call.reply(null);
    }
    case "close": {
      const e = target();
      if (!(e instanceof ChanElement)) throw new CircuitError("not a channel");
      e.close();
      return call.reply(null);
    }
    case "send": {
      const e = target();
      if (!(e instanceof ChanElement)) throw new CircuitError("not a channel");
      const sink = await e.send(call.signal);
      await call.acceptInput(sink);
      return call.reply(null);
    }
    case "recv": {
      const e = target();
      if (!(e instanceof ChanElement) && !(e instanceof SubscriptionElement)) {
        throw new CircuitError("not a channel or subscription");
      }
      const reader = await e.recv(call.signal);
      await call.serveOutput(reader);
      return call.reply({ Kind: e.kind });
    }
    case "stdin": {
      const sink = streaming().openStdin();
      await call.acceptInput(sink);
      return call.reply(null);
    }
    case "read": {
      const which = args.Stream === "stderr" ? "stderr" : "stdout";
      const reader = streaming()[which].openReader();
      await call.serveOutput(reader);
      return call.reply(null);
    }
    case "tail": {
      const which = args.Stream === "stderr" ? "stderr" : "stdout";
      const e = streaming();
      const bytes = typeof args.Bytes === "number" && args.Bytes >= 0 ? args.Bytes : _TAIL_DEFAULT_BYTES;
      const source = e[which] as AckedSource & { ring?: TailRing };
      if (!source.ring) throw new CircuitError("tail is not kept for this stream");
      await call.serveOutput(source.ring.openTail(bytes, args.Follow === true));
      return call.reply(null);
    }
    case "discard": {
      streaming().discard(args.Stream === "stderr" ? "stderr" : "stdout");
      return call.reply(null);
    }
    case "wait": {
      const e = target();
      if (!_isStreaming(e)) throw new CircuitError("anchor is not a process or a docker container");
      return call.reply(await e.wait(call.signal));
    }
    case "ps": {
      const rows = await psRows(ctx.ns, names);
      return call.reply(ctx.visible ? rows.filter((r) => ctx.visible!(r.Anchor)) : rows);
    }
    case "signal": {
      const e = streaming();
      // A run signals the whole group (SPEC §15.2): a shell's children must hear Ctrl-C too.
      if (args.Group === true && e instanceof ProcElement) {
        if (!e.running) throw new CircuitError("process already finished");
        e.signalGroup(parseSignal(String(args.Signal)));
      } else await e.signal(String(args.Signal));
      ctx.record("signal", { Path: path, Signal: parseSignal(String(args.Signal)) });
      return call.reply(null);
    }
    case "set":
    case "unset": {
      const e = target() as (Element & { set?(rr: string): void; unset?(name: string): void }) | null;
      if (!e || e.kind !== "dns") throw new CircuitError("not a nameserver element");
      const arg = String(call.op === "set" ? args.Record : args.Name);
      if (call.op === "set") e.set!(arg);
      else e.unset!(arg);
      ctx.record("dns", { Path: path, Action: call.op, Arg: arg });
      return call.reply(null);
    }
    case "join":
    case "suicide":
    case "stk": {
      const e = target();
      if (!(e instanceof ServerElement)) throw new CircuitError("not a server");
      if (call.op === "stk") return call.reply(e.control.stack());
      if (call.op === "suicide") {
        call.reply(null);
        return e.control.suicide();
      }
      const url = String(args.Url);
      try {
        await e.control.join(url);
      } catch (err) {
        throw new CircuitError(`${url}: ${err instanceof Error ? err.message : err}`);
      }
      return call.reply(null);
    }
    default:
      throw new CircuitError(`unknown operation ${call.op}`);
  }
}

/** A run outlived its client (SPEC §15.2): SIGTERM its group, SIGKILL after the grace, scrub. */
async function _endOrphan(
  proc: ProcElement,
  names: string[],
  path: string,
  ctx: LocalContext,
): Promise<void> {
  // The normal end: the client read it to the end and scrubbed it. Its group ID may be reused
  // by now, so it gets no signal.
  if (!proc.running && ctx.ns.elementAt(names)?.element !== proc) return;
  ctx.log(`Ending ${path}: its client went away`);
  proc.signalGroup("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([proc.closed, new Promise((r) => (timer = setTimeout(r, _ORPHAN_GRACE_MS)))]);
  clearTimeout(timer);
  proc.signalGroup("SIGKILL");
  // The client may have scrubbed it already; never scrub another element at the same anchor.
  if (ctx.ns.elementAt(names)?.element === proc) await ctx.ns.scrub(names, false);
}

function _handleInfo(eid: number, e: Element): HandleInfo {
  const info: HandleInfo = { Eid: eid, Kind: e.kind };
  if (e instanceof ChanElement) info.Cap = e.cap;
  return info;
}

async function _make(
  names: string[],
  args: Record<string, unknown>,
  holder: string,
  ctx: LocalContext,
): Promise<HandleInfo> {
  const kind = String(args.Kind);
  const path = String(args.Path);
  if (names.length === 0) throw new CircuitError("anchor already has an element");
  const { arg, make } = planElement(kind, args.Arg, ctx.resources);
  const text = _argText(kind, arg);
  const { eid, element } = await ctx.ns.attach(names, make, ctx.log, (eid, element) => {
    ctx.ns.hold(eid, holder);
    const shown = kind === "dns" ? String((element as { address?: string }).address ?? text) : text;
    ctx.log(`Making ${kind} at ${path}, using ${shown}`);
    ctx.record("make", { Path: path, Kind: kind, Arg: shown });
    if (args.Tie === true && element instanceof ProcElement) {
      ctx.ns.tie(eid, holder, () => _endOrphan(element, names, path, ctx));
    }
  });
  const info = _handleInfo(eid, element);
  if (element instanceof ProcElement) {
    const stat = element.peek() as { Phase: string; Exit: { Body: string } | null };
    if (stat.Phase === "unknown" && stat.Exit) info.ExecError = stat.Exit.Body;
  }
  return info;
}
