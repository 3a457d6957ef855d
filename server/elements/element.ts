/**
 * What every element kind has in common, and what the namespace gives each element.
 *
 * @module
 */

/** The kinds of element, as `ls -l` prints them. */
export type ElementKind = "server" | "proc" | "chan" | "dns" | "docker" | "@join" | "@leave";

/** An element attached to an anchor (SPEC §7). Kind-specific operations are methods of each class. */
export interface Element {
  readonly kind: ElementKind;
  /** The state in the PascalCase shape of SPEC §7, fields in the spec's order (what `peek` prints). */
  peek(): unknown | Promise<unknown>;
  /**
   * Aborts the element the way `scrub` does for its kind (`kill` per SPEC §5 `scrub -kill`).
   * Called once, by the namespace, when it detaches the element because of a scrub.
   */
  scrub(opts: { kill: boolean }): Promise<void>;
  /**
   * Called once when neither an anchor nor any client handle refers to the element any more:
   * release what it holds (a detached process keeps running, but its output is drained and
   * discarded from now on so it never blocks on circuit).
   */
  dispose(): void;
}

/** What the namespace hands to an element when creating it. */
export interface ElementContext {
  /** The element's absolute anchor path, e.g. `/X2dfc77bb3455a9e5/jobs/web`. */
  readonly path: string;
  /**
   * Detaches this element from its anchor if the anchor still holds this very element (the
   * same-element rule of scrub-on-exit); records the `scrub` operation with `Auto: true`.
   */
  detachSelf(): void;
  /** Writes one server log line to stderr. */
  log(message: string): void;
}
