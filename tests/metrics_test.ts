/**
 * `circuit start -metrics ADDR` (SPEC §13.4): real servers run a scripted workload, then their
 * `/metrics` is scraped and its values checked, validated by `promtool check metrics`, and
 * scraped by a real Prometheus.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dial, Server } from "../mod.ts";
import { VERSION } from "../wire/version.ts";
import { Registry } from "../server/metrics/registry.ts";
import { circuit, eventually, TestServer } from "./_harness.ts";

/** A sample's value by its series text (`name{labels}`), as the server printed it. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** The metrics URL a server logs (`Serving metrics on http://…/metrics`), right after its URL. */
async function metricsUrl(s: TestServer): Promise<string> {
  const line = /Serving metrics on (http:\/\/\S+)/;
  await eventually("the metrics line is logged", 10_000, () => line.test(s.log()));
  return line.exec(s.log())![1];
}

async function scrape(url: string): Promise<{ text: string; type: string | null }> {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  return { text: await r.text(), type: r.headers.get("content-type") };
}

function has(cmd: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const _enc = new TextEncoder();

/** The workload both the value checks and the tools run against: two servers, one of them scraped. */
async function withCluster(fn: (url: string, a: TestServer) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const a = await TestServer.start(dir, ["-metrics", "127.0.0.1:0"]);
  const b = await TestServer.start(dir, ["-j", a.url]);
  try {
    await fn(await metricsUrl(a), a);
  } finally {
    await b.stop("SIGTERM");
    await a.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("metrics show members, calls by op and result, processes, exits, streams and rejected peers", async () => {
  await withCluster(async (url, a) => {
    const client = await dial(a.url);
    try {
      await eventually("both servers in A's view", 10_000, async () => (await client.view()).size === 2);
      const here = client.walk(a.serverAnchor);
      const server = await here.get();
      assert.ok(server instanceof Server);
      for (let i = 0; i < 7; i++) await server.peek();

      const ok = await here.walk("true").makeProc({ path: "/bin/true" });
      const failed = await here.walk("three").makeProc({ path: "/bin/sh", args: ["-c", "exit 3"] });
      const sleeper = await here.walk("sleep").makeProc({ path: "/bin/sleep", args: ["100"] });
      await here.walk("nosuch").makeProc({ path: "/no/such" });
      await assert.rejects(sleeper.signal("bogus"), /signal name not recognized/);
      await sleeper.signal("TERM");
      const cat = await here.walk("cat").makeProc({ path: "/bin/cat" });
      const w = cat.stdin.getWriter();
      await w.write(_enc.encode("hello"));
      await w.close();
      assert.equal(await new Response(cat.stdout).text(), "hello");
      for (const p of [ok, failed, sleeper, cat]) await p.wait();
      const chan = await here.walk("c").makeChan(1);
      const sw = (await chan.send()).getWriter();
      await sw.write(_enc.encode("abc"));
      await sw.close();
      assert.equal(await new Response(await chan.recv()).text(), "abc");

      // A peer that is no circuit client: refused at the handshake.
      const junk = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(a.url).port) });
      await junk.write(_enc.encode("GET / HTTP/1.0\r\n\r\n"));
      await junk.read(new Uint8Array(64)).catch(() => null);
      junk.close();
      await eventually("the rejected peer is logged", 10_000, () => a.log().includes("rejected peer"));

      let m = new Map<string, number>();
      await eventually("probes and gossip counted, every exit counted", 10_000, async () => {
        m = samples((await scrape(url)).text);
        return (m.get('circuit_swim_probes_total{result="ack"}') ?? 0) > 0 &&
          (m.get('circuit_calls_total{op="ping",result="ok"}') ?? 0) > 0 &&
          (m.get('circuit_process_exits_total{how="exited"}') ?? 0) === 2 &&
          (m.get('circuit_process_exits_total{how="signaled"}') ?? 0) === 1;
      });
      const want: Record<string, number> = {
        [`circuit_build_info{version="${VERSION}"}`]: 1,
        'circuit_members{state="alive"}': 2,
        'circuit_members{state="suspect"}': 0,
        'circuit_calls_total{op="peek",result="ok"}': 7,
        'circuit_calls_total{op="signal",result="ok"}': 1,
        'circuit_calls_total{op="signal",result="error"}': 1,
        'circuit_calls_total{op="mk",result="ok"}': 6,
        'circuit_calls_total{op="wait",result="ok"}': 4,
        'circuit_call_duration_seconds_count{op="peek"}': 7,
        'circuit_call_duration_seconds_bucket{op="peek",le="+Inf"}': 7,
        "circuit_processes_started_total": 4,
        'circuit_process_exits_total{how="exited"}': 2,
        'circuit_process_exits_total{how="failed"}': 1,
        'circuit_process_exits_total{how="signaled"}': 1,
        'circuit_stream_bytes_total{direction="in"}': 5 + 3,
        'circuit_stream_bytes_total{direction="out"}': 5 + 3,
        'circuit_elements{kind="server"}': 1,
        'circuit_elements{kind="proc"}': 5,
        'circuit_elements{kind="chan"}': 1,
        'circuit_elements{kind="docker"}': 0,
        'circuit_connections{role="client"}': 1,
        'circuit_connections{role="peer"}': 1,
        "circuit_rejected_peers_total": 1,
        'circuit_denied_total{capability="proc"}': 0,
        "circuit_swim_health_score": m.get("circuit_swim_health_score")!,
      };
      for (const [series, value] of Object.entries(want)) assert.equal(m.get(series), value, series);
      assert.ok(m.get("circuit_swim_health_score")! >= 0, "health score is exported");
      assert.ok(m.get('circuit_gossip_bytes_total{direction="in"}')! > 0, "gossip bytes in");
      assert.ok(m.get('circuit_gossip_bytes_total{direction="out"}')! > 0, "gossip bytes out");
      assert.ok(
        m.get('circuit_calls_total{op="ping",result="ok"}')! > 0,
        "pings from B are served and counted",
      );
      assert.ok(m.get("process_resident_memory_bytes")! > 1e6, "resident memory in bytes");
      // Cumulative buckets never decrease.
      const peekBuckets = [...m].filter(([k]) =>
        k.startsWith('circuit_call_duration_seconds_bucket{op="peek"')
      );
      for (let i = 1; i < peekBuckets.length; i++) assert.ok(peekBuckets[i][1] >= peekBuckets[i - 1][1]);
    } finally {
      await client.close();
    }
  });
});

Deno.test("the metrics endpoint names no paths or arguments, and serves only GET /metrics", async () => {
  const dir = await Deno.makeTempDir();
  const a = await TestServer.start(dir, ["-metrics", "127.0.0.1:0"]);
  try {
    const url = await metricsUrl(a);
    const client = await dial(a.url);
    await client.walk(a.serverAnchor).walk("secret-anchor").makeProc({
      path: "/bin/echo",
      args: ["secret-arg"],
    });
    await client.close();
    const { text, type } = await scrape(url);
    assert.equal(type, "text/plain; version=0.0.4; charset=utf-8");
    assert.ok(!text.includes("secret"), "no anchor path or argument in the metrics");
    assert.ok(!text.includes(a.serverAnchor.slice(1)), "no server ID in the metrics");
    const base = url.replace(/\/metrics$/, "");
    for (const path of ["/", "/metrics/x", "/debug"]) {
      const r = await fetch(base + path);
      await r.body?.cancel();
      assert.equal(r.status, 404, path);
    }
    const post = await fetch(url, { method: "POST", body: "x" });
    await post.body?.cancel();
    assert.equal(post.status, 405);
  } finally {
    await a.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("start -metrics on a busy port or a bad address: one error line, exit 1", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (busy.addr as Deno.NetAddr).port;
    const dir = await Deno.makeTempDir();
    const r = await circuit([
      "start",
      "-a",
      "127.0.0.1:0",
      "-var",
      `${dir}/v`,
      "-metrics",
      `127.0.0.1:${port}`,
    ], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "", "no URL printed when the server does not start");
    assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("circuit:")).length, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `\ncircuit: start: metrics listen 127\\.0\\.0\\.1:${port}: address already in use\n$`,
      ),
    );
    const bad = await circuit(["start", "-a", "127.0.0.1:0", "-var", `${dir}/w`, "-metrics", "127.0.0.1:x"], {
      timeoutMs: 30_000,
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\ncircuit: start: bad port in listen address 127\.0\.0\.1:x\n$/);
    await Deno.remove(dir, { recursive: true });
  } finally {
    busy.close();
  }
});

const _PROMTOOL = has("promtool");
if (!_PROMTOOL) {
  console.error("metrics_test: promtool not installed (apt-get install prometheus): its test is skipped");
}

Deno.test({
  name: "the metrics pass promtool check metrics" + (_PROMTOOL ? "" : " (SKIPPED: promtool not installed)"),
  ignore: !_PROMTOOL,
  fn: async () => {
    await withCluster(async (url) => {
      await eventually("a probe counted", 10_000, async () => (await scrape(url)).text.includes('ack"} 1'));
      const child = new Deno.Command("promtool", {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      })
        .spawn();
      const w = child.stdin.getWriter();
      await w.write(_enc.encode((await scrape(url)).text));
      await w.close();
      const out = await child.output();
      const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `promtool: ${said}`);
      assert.equal(said.trim(), "", `promtool has no complaint: ${said}`);
    });
  },
});

const _PROMETHEUS = has("prometheus");
if (!_PROMETHEUS) {
  console.error("metrics_test: prometheus not installed (apt-get install prometheus): its test is skipped");
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test({
  name: "a real Prometheus scrapes the endpoint: up is 1" +
    (_PROMETHEUS ? "" : " (SKIPPED: prometheus not installed)"),
  ignore: !_PROMETHEUS,
  fn: async () => {
    await withCluster(async (url) => {
      const dir = await Deno.makeTempDir();
      const target = new URL(url).host;
      await Deno.writeTextFile(
        `${dir}/prometheus.yml`,
        `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: circuit\n    static_configs:\n      - targets: ["${target}"]\n`,
      );
      const web = `127.0.0.1:${freePort()}`;
      const prom = new Deno.Command("prometheus", {
        args: [
          `--config.file=${dir}/prometheus.yml`,
          `--storage.tsdb.path=${dir}/data`,
          `--web.listen-address=${web}`,
        ],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let log = "";
      const logged = (async () => {
        for await (const c of prom.stderr.pipeThrough(new TextDecoderStream())) log += c;
      })();
      try {
        const api = async (q: string) => {
          try {
            const r = await fetch(`http://${web}/api/v1/${q}`);
            return r.ok ? await r.json() : null;
          } catch {
            return null;
          }
        };
        await eventually("Prometheus reports the target up", 30_000, async () => {
          const t = await api("targets");
          const active = t?.data?.activeTargets?.[0];
          return active?.health === "up" && active?.lastError === "";
        }).catch((err) => {
          throw new Error(`${err.message}; prometheus log: ${log}`);
        });
        let members: unknown = null;
        await eventually("up is 1 and circuit_members is queryable", 30_000, async () => {
          const up = await api("query?query=up");
          const m = await api(`query?query=${encodeURIComponent('circuit_members{state="alive"}')}`);
          members = m?.data?.result?.[0]?.value?.[1];
          return up?.data?.result?.[0]?.value?.[1] === "1" && members !== undefined;
        });
        assert.equal(members, "2");
      } finally {
        prom.kill("SIGTERM");
        await prom.status;
        await logged;
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test("the registry escapes label values and HELP text, and refuses counters without _total", () => {
  const r = new Registry();
  const [c] = r.counters("x_total", "back\\slash and\nnewline", [{ v: 'a"b\\c\nd' }]);
  c.value += 2;
  const h = r.histograms("d_seconds", "D.", [{ op: "ls" }], [0.001, 0.01]);
  h[0].observe(0.0005);
  h[0].observe(0.005);
  h[0].observe(5);
  assert.equal(
    r.render(),
    [
      "# HELP x_total back\\\\slash and\\nnewline",
      "# TYPE x_total counter",
      'x_total{v="a\\"b\\\\c\\nd"} 2',
      "# HELP d_seconds D.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{op="ls",le="0.001"} 1',
      'd_seconds_bucket{op="ls",le="0.01"} 2',
      'd_seconds_bucket{op="ls",le="+Inf"} 3',
      'd_seconds_sum{op="ls"} 5.0055',
      'd_seconds_count{op="ls"} 3',
      "",
    ].join("\n"),
  );
  assert.throws(() => r.counter("calls", "no suffix"), /must end in _total/);
  assert.throws(() => r.counter("x_total", "twice"), /registered twice/);
});
