/**
 * DNS test helpers: the real `dig` (Debian's bind9-dnsutils) run against a name server on
 * 127.0.0.1 with its default output parsed, the records of SPEC §12 A29, and a free port.
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

/**
 * Runs `dig @127.0.0.1 -p <port> +norecurse +short <args>` (one try of 2 s, which a later
 * `+time=` in `args` overrides) and returns what it printed, trimmed; "" when nothing answered.
 */
export async function digShort(port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), "+norecurse", "+short", "+time=2", "+tries=1", ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** The records SPEC §12 A29 sets. */
export const A29_RECORDS: readonly string[] = [
  "ex.org. 300 IN A 192.0.2.1",
  "ex.org. IN AAAA 2001:db8::1",
  "ex.org. IN MX 10 mail.ex.org.",
  "ex.org. IN NS ns1.ex.org.",
  'ex.org. IN TXT "hello world"',
  "ex.org. IN SOA ns1.ex.org. admin.ex.org. 1 7200 3600 1209600 300",
  "www.ex.org. IN CNAME ex.org.",
  "_sip._tcp.ex.org. IN SRV 10 60 5060 sip.ex.org.",
  "1.2.0.192.in-addr.arpa. IN PTR ex.org.",
];

/** A port that is free for both UDP and TCP on 127.0.0.1 right now (§12's `$P`). */
export function freePort(): number {
  for (;;) {
    const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const port = (udp.addr as Deno.NetAddr).port;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // the TCP twin is taken: try another
    } finally {
      udp.close();
    }
  }
}
