/**
 * The real `dig` (Debian's bind9-dnsutils) run against a name server on 127.0.0.1, and its
 * default output parsed: what the DNS tests assert on.
 *
 * @module
 */
import assert from "node:assert/strict";

/** What a test needs of one `dig` run. */
export interface Dig {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  /** `UDP` or `TCP`: how the final answer came. */
  transport: string;
  raw: string;
}

/** Runs `dig @127.0.0.1 -p <port> +norecurse <args>` and parses its default output. */
export async function dig(port: number, ...args: string[]): Promise<Dig> {
  const out = await new Deno.Command("dig", {
    // One try of 2 s: a lost or unanswered query fails the test instead of being retried away.
    args: ["@127.0.0.1", "-p", String(port), "+norecurse", "+time=2", "+tries=1", ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const raw = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `dig ${args.join(" ")} failed:\n${raw}${new TextDecoder().decode(out.stderr)}`);
  const section = (title: string) => {
    const lines = raw.split("\n");
    const start = lines.indexOf(`;; ${title} SECTION:`);
    if (start < 0) return [];
    const end = lines.indexOf("", start);
    // dig pads with a variable number of TABs; the records proper have one between fields
    return lines.slice(start + 1, end).map((l) => l.split("\t").filter((f) => f !== "").join("\t"));
  };
  return {
    status: /status: ([A-Z]+)/.exec(raw)?.[1] ?? "",
    flags: (/;; flags: ([a-z ]*);/.exec(raw)?.[1] ?? "").split(" ").filter((f) => f !== ""),
    answer: section("ANSWER"),
    authority: section("AUTHORITY"),
    transport: /;; SERVER: .*\((UDP|TCP)\)/.exec(raw)?.[1] ?? "",
    raw,
  };
}
