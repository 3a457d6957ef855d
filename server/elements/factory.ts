/**
 * Element creation in one place: which kinds `mk` knows, how each argument is checked, and
 * what each needs from the daemon (SPEC §5 mk*, §7).
 *
 * @module
 */
import { validateCmd } from "../../wire/cmd.ts";
import { CircuitError } from "../../wire/errors.ts";
import type { DockerEngine } from "../docker/engine.ts";
import { parseRun } from "../docker/run.ts";
import { ChanElement } from "./chan.ts";
import { ContainerElement } from "./docker.ts";
import { NameserverElement } from "./dns.ts";
import type { Element, ElementContext } from "./element.ts";
import { ProcElement } from "./proc.ts";
import { SubscriptionElement } from "./subscription.ts";

/** What creating elements needs from the daemon. */
export interface ElementResources {
  /** The Docker engine, when the server runs with `-docker`. */
  readonly docker?: DockerEngine;
  /** The members in view now, as `/X…`: a new `@join` subscription starts with them. */
  members(): string[];
  /** Learns of every process started, attached or not, so shutdown can stop them all. */
  adoptChild(proc: ProcElement): void;
  /** Learns of every subscription, so membership events reach it. */
  adoptSubscription(sub: SubscriptionElement): void;
}

/** A checked `mk`: the argument as logged, and the maker the namespace calls once the anchor is free. */
export interface ElementPlan {
  readonly arg: unknown;
  make(ec: ElementContext): Element | Promise<Element>;
}

/**
 * Checks a `mk` of `kind` with `arg` and plans the element. Throws `CircuitError` for an
 * unknown kind and for a bad channel capacity or command (checked before the anchor is); a
 * bad name-server address or container Run, and a server without Docker, fail the maker.
 *
 * @example
 * ```ts
 * import { planElement } from "./factory.ts";
 * const res = { members: () => [], adoptChild() {}, adoptSubscription() {} };
 * const plan = planElement("chan", 3, res);
 * const ctx = { path: "/X0123456789abcdef/c", detachSelf() {}, log() {} };
 * console.log((await plan.make(ctx)).kind); // "chan"
 * ```
 */
export function planElement(kind: string, arg: unknown, res: ElementResources): ElementPlan {
  switch (kind) {
    case "chan": {
      if (typeof arg !== "number" || !Number.isSafeInteger(arg) || arg < 0) {
        throw new CircuitError("second argument to mkchan must be a non-negative integral capacity");
      }
      return { arg, make: () => new ChanElement(arg) };
    }
    case "proc": {
      const cmd = validateCmd(arg);
      return {
        arg: cmd,
        make: async (ec) => {
          const proc = ProcElement.start(cmd, ec);
          res.adoptChild(proc);
          await proc.started;
          return proc;
        },
      };
    }
    case "dns":
      return {
        arg,
        make: (ec) => NameserverElement.create(typeof arg === "string" && arg !== "" ? arg : undefined, ec),
      };
    case "docker":
      return {
        arg,
        make: (ec) => {
          if (!res.docker) throw new CircuitError("docker not enabled on this server");
          return ContainerElement.create(parseRun(arg), ec, res.docker);
        },
      };
    case "@join":
    case "@leave":
      return {
        arg,
        make: () => {
          const sub = new SubscriptionElement(
            kind === "@join" ? "join" : "leave",
            kind === "@join" ? res.members() : [],
          );
          res.adoptSubscription(sub);
          return sub;
        },
      };
  }
  throw new CircuitError(`unknown element kind ${kind}`);
}
