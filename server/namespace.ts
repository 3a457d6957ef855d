/**
 * The anchors of one server (SPEC §6): a tree below the server anchor whose nodes exist only
 * while they hold an element or have a descendant that does, and the handles clients hold on
 * elements (§6.3), which keep a detached element usable until released.
 *
 * @module
 */
import { CircuitError } from "../wire/errors.ts";
import type { ListEntry } from "../wire/ops.ts";
import type { Element, ElementContext } from "./elements/element.ts";

class _Anchor {
  readonly children = new Map<string, _Anchor>();
  /** The attached element's record, or "pending" while an `mk` is creating it. */
  slot: _Record | "pending" | null = null;
  constructor(readonly name: string, readonly parent: _Anchor | null) {}
}

interface _Record {
  eid: number;
  element: Element;
  path: string;
  anchor: _Anchor | null;
  holders: Set<string>;
  /** A run's tie (SPEC §15.2): called once when this holder is released. */
  tie?: { holder: string; lost: () => void };
}

/** Called when an element is detached: `auto` for scrub-on-exit. */
export type DetachListener = (path: string, kind: string, auto: boolean, kill: boolean) => void;

/**
 * The tree of one server.
 *
 * @example
 * ```ts ignore
 * import { Namespace } from "./namespace.ts";
 * const ns = new Namespace("X2dfc77bb3455a9e5", serverElement, () => {});
 * ```
 */
export class Namespace {
  readonly serverId: string;
  #root: _Anchor;
  #records = new Map<number, _Record>();
  #nextEid = 1;
  #onDetach: DetachListener;

  /** Creates the tree with the permanent server element at the server anchor. */
  constructor(serverId: string, serverElement: Element, onDetach: DetachListener) {
    this.serverId = serverId;
    this.#onDetach = onDetach;
    this.#root = new _Anchor(serverId, null);
    const rec: _Record = {
      eid: this.#nextEid++,
      element: serverElement,
      path: "/" + serverId,
      anchor: this.#root,
      holders: new Set(),
    };
    this.#root.slot = rec;
    this.#records.set(rec.eid, rec);
  }

  #find(names: readonly string[]): _Anchor | undefined {
    let a: _Anchor | undefined = this.#root;
    for (const n of names) {
      a = a.children.get(n);
      if (!a) return undefined;
    }
    return a;
  }

  /** The element at a path (names below the server anchor), or null; creates nothing. */
  elementAt(names: readonly string[]): { eid: number; element: Element } | null {
    const slot = this.#find(names)?.slot;
    return slot && slot !== "pending" ? { eid: slot.eid, element: slot.element } : null;
  }

  /** The element behind a handle, attached or not, if `path` matches it. */
  elementByEid(eid: number, path: string): Element | null {
    const rec = this.#records.get(eid);
    return rec && rec.path === path ? rec.element : null;
  }

  /**
   * Creates an element at `names` with `make`, creating missing anchors. Exactly one of
   * concurrent calls on one anchor wins; the others fail with `anchor already has an element`.
   */
  async attach(
    names: readonly string[],
    make: (ctx: ElementContext) => Element | Promise<Element>,
    log: (message: string) => void,
    onAttached: (eid: number, element: Element) => void = () => {},
  ): Promise<{ eid: number; element: Element }> {
    let anchor = this.#root;
    const created: _Anchor[] = [];
    for (const n of names) {
      let child = anchor.children.get(n);
      if (!child) {
        child = new _Anchor(n, anchor);
        anchor.children.set(n, child);
        created.push(child);
      }
      anchor = child;
    }
    if (anchor.slot !== null) throw new CircuitError("anchor already has an element");
    anchor.slot = "pending";
    const path = "/" + [this.serverId, ...names].join("/");
    const rec: _Record = {
      eid: this.#nextEid++,
      element: null as unknown as Element,
      path,
      anchor,
      holders: new Set(),
    };
    let detachRequested = false;
    const ctx: ElementContext = {
      path,
      detachSelf: () => {
        if (rec.element === null) detachRequested = true;
        else this.#detach(rec, true, false);
      },
      log,
    };
    try {
      rec.element = await make(ctx);
    } catch (err) {
      anchor.slot = null;
      this.#prune(anchor);
      throw err;
    }
    anchor.slot = rec;
    this.#records.set(rec.eid, rec);
    onAttached(rec.eid, rec.element);
    if (detachRequested) this.#detach(rec, true, false);
    return { eid: rec.eid, element: rec.element };
  }

  /**
   * Scrubs the element at `names`: aborts it and detaches it. No element, or the server
   * anchor: nothing happens.
   */
  async scrub(names: readonly string[], kill: boolean): Promise<void> {
    if (names.length === 0) return;
    const slot = this.#find(names)?.slot;
    if (!slot || slot === "pending") return;
    this.#detach(slot, false, kill);
    await slot.element.scrub({ kill });
  }

  #detach(rec: _Record, auto: boolean, kill: boolean): void {
    const anchor = rec.anchor;
    if (!anchor || anchor.slot !== rec) return;
    anchor.slot = null;
    rec.anchor = null;
    this.#onDetach(rec.path, rec.element.kind, auto, kill);
    this.#prune(anchor);
    if (rec.holders.size === 0) this.#dispose(rec);
  }

  #dispose(rec: _Record): void {
    this.#records.delete(rec.eid);
    rec.element.dispose();
  }

  /** Removes empty anchors from `a` up to, not including, the server anchor. */
  #prune(a: _Anchor): void {
    let cur: _Anchor | null = a;
    while (cur && cur.parent && cur.slot === null && cur.children.size === 0) {
      cur.parent.children.delete(cur.name);
      cur = cur.parent;
    }
  }

  /** Registers `holder` on a handle. */
  hold(eid: number, holder: string): void {
    this.#records.get(eid)?.holders.add(holder);
  }

  /**
   * Ties the element to `holder` (a run's client): once that holder is released (its
   * connection, or the forwarding server's, went away) `lost` is called, once.
   */
  tie(eid: number, holder: string, lost: () => void): void {
    const rec = this.#records.get(eid);
    if (rec) rec.tie = { holder, lost };
  }

  /** Releases every handle of holders for which `match` is true. */
  release(match: (holder: string) => boolean): void {
    for (const rec of [...this.#records.values()]) {
      if (rec.tie && match(rec.tie.holder)) {
        const { lost } = rec.tie;
        rec.tie = undefined;
        lost();
      }
      for (const h of rec.holders) if (match(h)) rec.holders.delete(h);
      if (rec.holders.size === 0 && rec.anchor === null) this.#dispose(rec);
    }
  }

  /**
   * Lists the children of `names` (with `recursive`, all descendants) as full paths, children
   * sorted by name, pre-order or post-order.
   */
  list(names: readonly string[], recursive: boolean, postOrder: boolean): ListEntry[] {
    const start = this.#find(names);
    const out: ListEntry[] = [];
    if (!start) return out;
    const base = "/" + [this.serverId, ...names].join("/");
    const walk = (a: _Anchor, path: string) => {
      const names = [...a.children.keys()].sort(_byCodePoint);
      for (const n of names) {
        const child = a.children.get(n)!;
        const p = path + "/" + n;
        const entry = {
          Path: p,
          Kind: child.slot && child.slot !== "pending" ? child.slot.element.kind : null,
        };
        if (!postOrder) out.push(entry);
        if (recursive) walk(child, p);
        if (postOrder) out.push(entry);
      }
    };
    walk(start, base);
    return out;
  }

  /** Every attached or held element (for shutdown and diagnostics). */
  elements(): Element[] {
    return [...this.#records.values()].map((r) => r.element);
  }

  /** Number of anchors below the server anchor. */
  anchorCount(): number {
    let n = 0;
    const walk = (a: _Anchor) => {
      for (const c of a.children.values()) {
        n++;
        walk(c);
      }
    };
    walk(this.#root);
    return n;
  }
}

function _byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
