/**
 * What the unit tests of the DNS name server element share: an element context that keeps what
 * the element logs.
 *
 * @module
 */
import type { ElementContext } from "../server/elements/element.ts";

/** An element context at `/Xtest/dns` whose log() calls land in `logs`. */
export function testContext(): ElementContext & { logs: string[] } {
  return {
    path: "/Xtest/dns",
    logs: [],
    detachSelf() {},
    log(message: string) {
      this.logs.push(message);
    },
  };
}
