/**
 * The operations a client (or a forwarding server) can call, with their argument and result
 * shapes. Field names are PascalCase because results are what the CLI prints (SPEC §7).
 *
 * Every operation on an element names it by `Path`; an operation through a handle also carries
 * `Eid`, the element ID the hosting server returned from `mk` or `get` (SPEC §6.3).
 *
 * @module
 */

/** Names an element: by anchor path, or through a handle (`Eid`) that the path's server issued. */
export interface Target {
  /** Absolute anchor path; its first component routes the call to the hosting server. */
  Path: string;
  /** Element ID of a handle; when present the call addresses that element even after it was detached. */
  Eid?: number;
}

/** One entry of a listing. */
export interface ListEntry {
  Path: string;
  /** `server`, `proc`, `chan`, `dns`, `docker`, `@join`, `@leave`, or null for an anchor without element. */
  Kind: string | null;
}

/** One member of a server's view. */
export interface Member {
  /** Server ID, `X` + 16 hex digits. */
  Id: string;
  /** The member's circuit URL. */
  Url: string;
  /** The member's OS host name (SPEC §15.1). */
  Host: string;
  /** The member's `-tag KEY=VALUE` pairs; `{}` when none. */
  Tags: Record<string, string>;
  /** `alive`, or `suspect` while the failure detector doubts it. */
  State: "alive" | "suspect";
}

/** What one server says about one member (SPEC §9.2): the unit of gossip and push-pull. */
export interface MemberUpdate {
  /** Server ID. */
  Id: string;
  /** The member's circuit URL. */
  Url: string;
  /** Incarnation number: only the member itself raises it, to refute suspicion. */
  Inc: number;
  /** At equal incarnation `left` beats `dead`, which beats `suspect`, which beats `alive`. */
  State: "alive" | "suspect" | "dead" | "left";
  /**
   * The member's host name and tags (SPEC §15.1), only in `alive` updates: they change only with a
   * new process, and every other state is about a member the receiver already knows.
   */
  Host?: string;
  /** Tags as one `k=v\nk=v` string, absent when none: ~2 bytes per tag less than a map. */
  Tags?: string;
}

/** One change seen by `watch` (SPEC §13.1); `Time` is RFC 3339 UTC with milliseconds. */
export interface WatchEvent {
  /** When the change happened, RFC 3339 UTC with milliseconds. */
  Time: string;
  /** `overflow` tells a watcher that fell behind: a fresh `exists` snapshot follows. */
  Event: "exists" | "created" | "scrubbed" | "exited" | "joined" | "left" | "suspect" | "overflow";
  /** The anchor that changed (a server anchor for membership events). */
  Path: string;
  /** The element kind (`server` for membership events), null for `overflow`. */
  Kind: string | null;
}

/** What `mk` and `get` return: a handle on the element. */
export interface HandleInfo {
  Eid: number;
  Kind: string;
  /** Channel capacity (channels only). */
  Cap?: number;
  /** For a process whose executable could not be started: its `Exit.Body`. */
  ExecError?: string;
}

/**
 * Call operations: request and terminal result. Stream operations (`send`, `stdin`: input;
 * `recv`, `read`: output) additionally move bytes with DATA/CREDIT/END frames (docs/PROTOCOL.md).
 */
export interface Ops {
  /** The dialed server's view, sorted by ID. */
  view: { args: Record<string, never>; result: Member[] };
  /** Children (or, with Recursive, all descendants) of an anchor on its hosting server. */
  ls: { args: { Path: string; Recursive: boolean; PostOrder: boolean }; result: ListEntry[] };
  peek: { args: Target; result: unknown };
  get: { args: { Path: string }; result: HandleInfo | null };
  /**
   * Creates an element. `Arg`: capacity, Cmd object, Run object, DNS address or null. `Tie`
   * (processes): end and scrub it when this client goes away (`circuit run`, SPEC §15.2).
   */
  mk: { args: { Path: string; Kind: string; Arg: unknown; Tie?: boolean }; result: HandleInfo };
  scrub: { args: { Path: string; Kill: boolean }; result: null };
  close: { args: Target; result: null };
  /** Input stream: resolves admission with the first CREDIT; the body is DATA frames then END. */
  send: { args: Target; result: null };
  /** Output stream: the body as DATA frames then END; result names the element kind. */
  recv: { args: Target; result: { Kind: string } };
  stdin: { args: Target; result: null };
  read: { args: Target & { Stream: "stdout" | "stderr" }; result: null };
  discard: { args: Target & { Stream: "stdout" | "stderr" }; result: null };
  wait: { args: Target; result: unknown };
  /** `Group`: the whole process group of a process (`circuit run`'s Ctrl-C). */
  signal: { args: Target & { Signal: string; Group?: boolean }; result: null };
  /** Process and container elements at and below `Path` (SPEC §15.3). */
  ps: { args: { Path: string }; result: PsRow[] };
  set: { args: Target & { Record: string }; result: null };
  unset: { args: Target & { Name: string }; result: null };
  join: { args: { Path: string; Url: string }; result: null };
  suicide: { args: { Path: string }; result: null };
  stk: { args: { Path: string }; result: string };
  /**
   * Server to server (SPEC §9.2): exchange full states, members and remembered dead ones alike
   * (anti-entropy, joins, partition heals), page `Page` of each side's state per call; `More`: the
   * answering side has further pages (docs/PROTOCOL.md).
   */
  pushpull: {
    args: { Members: MemberUpdate[]; Page?: number };
    result: { Members: MemberUpdate[]; More?: boolean };
  };
  /** Server to server: a failure-detector probe; both directions piggyback membership updates. */
  ping: { args: { Updates: MemberUpdate[] }; result: { Updates: MemberUpdate[] } };
  /** Server to server: probe member `Id` at `Url` on the caller's behalf within `TimeoutMs`. */
  pingreq: {
    args: { Id: string; Url: string; TimeoutMs: number; Updates: MemberUpdate[] };
    result: { Ok: boolean; Updates: MemberUpdate[] };
  };
  /** Server to server: membership updates pushed as soon as they are news (a graceful leave too). */
  gossip: { args: { Updates: MemberUpdate[] }; result: { Updates: MemberUpdate[] } };
  /**
   * Output stream of newline-separated JSON {@link WatchEvent}s under `Path` (`/...`: the whole
   * cluster, merged by the dialed server), starting with `exists` events (SPEC §13.1).
   */
  watch: { args: { Path: string; Who?: unknown }; result: null };
  /**
   * Output stream of the last `Bytes` of a process's or container's output held in its ring and,
   * with `Follow`, what follows until it ends; consumes nothing (SPEC §13.2).
   */
  tail: { args: Target & { Stream: "stdout" | "stderr"; Bytes: number; Follow: boolean }; result: null };
  /** Server to server: the forwarder's client `Holder` went away; release its handles. */
  release: { args: { Holder: number }; result: null };
}

/** One row of `circuit ps` from the hosting server (the CLI adds the host name). */
export interface PsRow {
  Anchor: string;
  Kind: "proc" | "docker";
  Phase: string;
  /** `exit <n>`, `signal <NAME>`, `exec error`, or `-`. */
  Exit: string;
  Pid: number | null;
  /** ISO time; "" if unknown. */
  Started: string;
  Command: string;
}

/** Name of an operation. */
export type OpName = keyof Ops;
