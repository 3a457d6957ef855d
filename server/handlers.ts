/**
 * The operations a server performs on its own anchors (the hosting side of every call).
 *
 * @module
 */
import type { IncomingCall } from "../wire/connection.ts";
import { CircuitError } from "../wire/errors.ts";
import type { HandleInfo } from "../wire/ops.ts";
import { validateCmd } from "../wire/cmd.ts";
import type { Element, ElementContext } from "./elements/element.ts";
import { ChanElement } from "./elements/chan.ts";
import { ProcElement } from "./elements/proc.ts";
import { SubscriptionElement } from "./elements/subscription.ts";
import { ServerElement } from "./elements/server.ts";
import type { AckedSource, ByteSink } from "./streams.ts";
import type { Namespace } from "./namespace.ts";
import { parseSignal } from "./signals.ts";
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
  /** Learns of every process started, attached or not, so shutdown can stop them all. */
  adoptChild(proc: ProcElement): void;
  /** Creates the kinds that need daemon resources (dns, docker, subscriptions). */
  makeSpecial(kind: string, arg: unknown, ctx: ElementContext): Promise<Element> | null;
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
    case "ls":
      return call.reply(ctx.ns.list(names, args.Recursive === true, args.PostOrder === true));
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
    case "signal": {
      const e = streaming();
      await e.signal(String(args.Signal));
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
  let arg = args.Arg;
  let make: (ec: ElementContext) => Element | Promise<Element>;
  switch (kind) {
    case "chan": {
      if (typeof arg !== "number" || !Number.isSafeInteger(arg) || arg < 0) {
        throw new CircuitError("second argument to mkchan must be a non-negative integral capacity");
      }
      const cap = arg;
      make = () => new ChanElement(cap);
      break;
    }
    case "proc": {
      const cmd = validateCmd(arg);
      arg = cmd;
      make = async (ec) => {
        const proc = ProcElement.start(cmd, ec);
        ctx.adoptChild(proc);
        await proc.started;
        return proc;
      };
      break;
    }
    case "dns":
    case "docker":
    case "@join":
    case "@leave":
      make = (ec) => {
        const made = ctx.makeSpecial(kind, arg, ec);
        if (!made) throw new CircuitError(`unknown element kind ${kind}`);
        return made;
      };
      break;
    default:
      throw new CircuitError(`unknown element kind ${kind}`);
  }
  const text = _argText(kind, arg);
  const { eid, element } = await ctx.ns.attach(names, make, ctx.log, (eid, element) => {
    ctx.ns.hold(eid, holder);
    const shown = kind === "dns" ? String((element as { address?: string }).address ?? text) : text;
    ctx.log(`Making ${kind} at ${path}, using ${shown}`);
    ctx.record("make", { Path: path, Kind: kind, Arg: shown });
  });
  const info = _handleInfo(eid, element);
  if (element instanceof ProcElement) {
    const stat = element.peek() as { Phase: string; Exit: { Body: string } | null };
    if (stat.Phase === "unknown" && stat.Exit) info.ExecError = stat.Exit.Body;
  }
  return info;
}
