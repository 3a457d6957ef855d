/**
 * Convergence curves as SVG (docs/SCALE.md): share of members whose view holds X over virtual
 * time, one line per cluster size. Plain SVG text, no dependencies.
 *
 * @module
 */
import type { Curve } from "./cluster.ts";

const W = 560, H = 300, PAD = { l: 56, r: 120, t: 28, b: 40 };
/** Distinguishable on white and for the common colour-blindnesses (Okabe–Ito). */
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"];

/** One SVG document with a step line per series. */
export function plot(title: string, xLabel: string, series: { label: string; curve: Curve }[]): string {
  const maxT = Math.max(1, ...series.flatMap((s) => s.curve.map(([t]) => t)));
  const x = (t: number) => PAD.l + (t / maxT) * (W - PAD.l - PAD.r);
  const y = (s: number) => H - PAD.b - s * (H - PAD.t - PAD.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${PAD.l}" y1="${y(0)}" x2="${x(maxT)}" y2="${y(0)}" stroke="black"/>`,
    `<line x1="${PAD.l}" y1="${y(0)}" x2="${PAD.l}" y2="${y(1)}" stroke="black"/>`,
  ];
  for (const s of [0, 0.5, 0.99, 1]) {
    out.push(`<text x="${PAD.l - 6}" y="${y(s) + 4}" text-anchor="end">${s * 100}%</text>`);
    out.push(`<line x1="${PAD.l}" y1="${y(s)}" x2="${x(maxT)}" y2="${y(s)}" stroke="#ddd"/>`);
  }
  for (let i = 0; i <= 4; i++) {
    const t = (maxT * i) / 4;
    out.push(`<text x="${x(t)}" y="${H - PAD.b + 16}" text-anchor="middle">${fmtMs(t)}</text>`);
  }
  out.push(`<text x="${(PAD.l + x(maxT)) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    let d = "";
    let last = s.curve[0]?.[1] ?? 0;
    for (const [t, v] of s.curve) {
      d += d === "" ? `M${x(t).toFixed(1)},${y(v).toFixed(1)}` : `H${x(t).toFixed(1)}V${y(v).toFixed(1)}`;
      last = v;
    }
    d += `H${x(maxT).toFixed(1)}V${y(last).toFixed(1)}`;
    out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    const ly = PAD.t + 18 * i + 10;
    out.push(
      `<line x1="${W - PAD.r + 10}" y1="${ly}" x2="${
        W - PAD.r + 30
      }" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
    );
    out.push(`<text x="${W - PAD.r + 36}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${ms.toFixed(0)} ms`;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}
