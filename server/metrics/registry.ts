/**
 * A small metrics registry rendered in the Prometheus text exposition format 0.0.4 (SPEC §13.4).
 *
 * Hot paths touch only plain number fields: every labelled series is created once, up front (a
 * {@link Counter} per label value, a {@link Histogram} per op), so an increment allocates nothing
 * and builds no label string. Values that already live elsewhere (members, connections, elements,
 * memory) are read when scraped, through {@link Registry.gauge} callbacks, and cost nothing between
 * scrapes.
 *
 * @module
 */

/** A monotonically increasing count. */
export class Counter {
  /** The count; hot paths add to it directly. */
  value = 0;
}

/** Counts of observations into fixed buckets, with their sum. */
export class Histogram {
  /** Upper bounds of the buckets, ascending (the `+Inf` bucket is implicit). */
  readonly bounds: readonly number[];
  /** Observations per bucket, not cumulative; the last slot is `+Inf`. */
  readonly counts: number[];
  /** Sum of all observed values. */
  sum = 0;
  /** Number of observations. */
  count = 0;

  /** A histogram over `bounds` (shared, never copied per series). */
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array(bounds.length + 1).fill(0);
  }

  /** Records one observation of `v`. */
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

/** Label name to value, in the order they are rendered. */
export type Labels = Readonly<Record<string, string>>;

interface _Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(out: string[]): void;
}

/**
 * The metrics of one server and their text rendering.
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * const r = new Registry();
 * const [ok] = r.counters("demo_calls_total", "Calls.", [{ result: "ok" }]);
 * ok.value++;
 * console.log(r.render().includes('demo_calls_total{result="ok"} 1')); // true
 * ```
 */
export class Registry {
  #families: _Family[] = [];
  #names = new Set<string>();

  /** A counter without labels. `name` must end in `_total`. */
  counter(name: string, help: string): Counter {
    const c = new Counter();
    this.#add(name, help, "counter", (out) => out.push(`${name} ${_num(c.value)}`));
    return c;
  }

  /**
   * One counter per label set, in the order given; all are rendered, zero or not. The series
   * text is built here, once, so counting never formats labels.
   */
  counters(name: string, help: string, series: readonly Labels[]): Counter[] {
    const all = series.map((labels) => ({ text: `${name}{${_labels(labels)}}`, c: new Counter() }));
    this.#add(name, help, "counter", (out) => {
      for (const s of all) out.push(`${s.text} ${_num(s.c.value)}`);
    });
    return all.map((s) => s.c);
  }

  /**
   * A family whose series are known only when scraped (label sets that may be empty, like denials
   * by capability): `read` returns them; an empty list renders the HELP and TYPE lines only.
   */
  counterSeries(name: string, help: string, read: () => Iterable<[Labels, number]>): void {
    this.#add(name, help, "counter", (out) => {
      for (const [labels, v] of read()) out.push(`${name}{${_labels(labels)}} ${_num(v)}`);
    });
  }

  /** A gauge read when scraped: `read` returns its series (an empty label set for a plain gauge). */
  gauge(name: string, help: string, read: () => Iterable<[Labels, number]>): void {
    this.#add(name, help, "gauge", (out) => {
      for (const [labels, v] of read()) {
        const l = _labels(labels);
        out.push(l === "" ? `${name} ${_num(v)}` : `${name}{${l}} ${_num(v)}`);
      }
    });
  }

  /** One histogram per label set, all over the same `bounds`. */
  histograms(name: string, help: string, series: readonly Labels[], bounds: readonly number[]): Histogram[] {
    const les = [...bounds.map(_num), "+Inf"];
    const all = series.map((labels) => {
      const l = _labels(labels);
      return { h: new Histogram(bounds), buckets: les.map((le) => `${name}_bucket{${l},le="${le}"} `), l };
    });
    this.#add(name, help, "histogram", (out) => {
      for (const { h, buckets, l } of all) {
        let cumulative = 0;
        for (let i = 0; i < buckets.length; i++) {
          cumulative += h.counts[i];
          out.push(buckets[i] + cumulative);
        }
        out.push(`${name}_sum{${l}} ${_num(h.sum)}`, `${name}_count{${l}} ${h.count}`);
      }
    });
    return all.map((s) => s.h);
  }

  /** Every family in registration order, as a `text/plain; version=0.0.4` document. */
  render(): string {
    const out: string[] = [];
    for (const f of this.#families) {
      out.push(`# HELP ${f.name} ${_escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
      f.render(out);
    }
    return out.join("\n") + "\n";
  }

  #add(name: string, help: string, type: _Family["type"], render: _Family["render"]): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name ${name}`);
    if (type === "counter" && !name.endsWith("_total")) throw new Error(`counter ${name} must end in _total`);
    if (this.#names.has(name)) throw new Error(`metric ${name} registered twice`);
    this.#names.add(name);
    this.#families.push({ name, help, type, render });
  }
}

/** The media type of {@link Registry.render}'s output. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function _labels(labels: Labels): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${_escapeValue(v)}"`).join(",");
}

/** Label values escape backslash, double quote and line feed (format 0.0.4). */
function _escapeValue(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** HELP text escapes backslash and line feed only. */
function _escapeHelp(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function _num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
