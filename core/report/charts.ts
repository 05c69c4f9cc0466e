/**
 * The report's two charts as hand-built SVG: monthly cost against tokens/month for each
 * pattern (log-log, break-even and the requested volume marked), and tokens/s per GPU tier.
 *
 * Stable hooks for tests and readers: `svg#cost-chart` carries its domains and pixel ranges
 * in data-* attributes so a reader can turn path coordinates back into numbers;
 * `path.series[data-pattern]` one per pattern; `g#break-even-marker` and `g#volume-marker`
 * with `data-tokens-per-month`; `svg#tier-chart` with `rect.tier-bar[data-gpu]`.
 */
import type { CurvePoint } from "../costs/recommend";
import type { Recommendation } from "../costs/recommendation";
import { gbp, tokens } from "../costs/format";
import { PATTERNS, type PatternKind } from "../costs/types";
import { attrs, decadeTicks, escapeXml, linearScale, logScale, polyline, px } from "./svg";

export const SERIES_COLOURS: Readonly<Record<PatternKind, string>> = {
  "self-hosted": "#1b7f3b",
  managed: "#1f5fbf",
  frontier: "#b03a2e",
  hybrid: "#8a4fbf",
};

const W = 960;
const H = 440;
const M = { left: 78, right: 175, top: 20, bottom: 48 } as const;

export function costChart(rec: Recommendation, curves: readonly CurvePoint[]): string {
  const xs = curves.map((c) => c.tokensPerMonth);
  const ys = curves.flatMap((c) => PATTERNS.map((p) => c.totals[p])).filter((v): v is number => v !== null && v > 0);
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys)));
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  const x = logScale([Math.min(...xs), Math.max(...xs)], [M.left, W - M.right]);
  const y = logScale([yLo, yHi], [H - M.bottom, M.top]);
  const out: string[] = [];
  out.push(`<svg ${attrs({
    id: "cost-chart", xmlns: "http://www.w3.org/2000/svg", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
    "aria-labelledby": "cost-chart-title", "data-x-min": x.domain[0], "data-x-max": x.domain[1], "data-y-min": yLo, "data-y-max": yHi,
    "data-x-range": `${x.range[0]},${x.range[1]}`, "data-y-range": `${y.range[0]},${y.range[1]}`,
  })}>`);
  out.push(`<title id="cost-chart-title">Monthly cost (GBP, log scale) against tokens per month (log scale) for each pattern</title>`);
  out.push(`<g class="grid">`);
  for (const t of decadeTicks(x.domain[0], x.domain[1])) {
    out.push(`<line ${attrs({ class: "tick x", x1: px(x(t)), x2: px(x(t)), y1: M.top, y2: H - M.bottom })}/>`);
    out.push(`<text ${attrs({ class: "tick-label x", x: px(x(t)), y: H - M.bottom + 18, "text-anchor": "middle" })}>${escapeXml(tokens(t))}</text>`);
  }
  for (const t of decadeTicks(yLo, yHi)) {
    out.push(`<line ${attrs({ class: "tick y", x1: M.left, x2: W - M.right, y1: px(y(t)), y2: px(y(t)) })}/>`);
    out.push(`<text ${attrs({ class: "tick-label y", x: M.left - 6, y: px(y(t) + 4), "text-anchor": "end" })}>${escapeXml(gbp(t))}</text>`);
  }
  out.push(`</g>`);
  out.push(`<text ${attrs({ class: "axis-label", x: (M.left + W - M.right) / 2, y: H - 8, "text-anchor": "middle" })}>tokens per month</text>`);
  out.push(`<text ${attrs({ class: "axis-label", x: 14, y: (M.top + H - M.bottom) / 2, transform: `rotate(-90 14 ${(M.top + H - M.bottom) / 2})`, "text-anchor": "middle" })}>GBP per month</text>`);

  PATTERNS.forEach((p, i) => {
    const d = polyline(curves.map((c) => {
      const v = c.totals[p];
      return v === null || v <= 0 ? null : [x(c.tokensPerMonth), y(v)] as const;
    }));
    if (d !== "") out.push(`<path ${attrs({ id: `series-${p}`, class: `series series-${p}`, "data-pattern": p, d, stroke: SERIES_COLOURS[p] })}/>`);
    const ly = M.top + 14 + i * 20;
    out.push(`<g class="legend-item" data-pattern="${p}"><line ${attrs({ x1: W - M.right + 12, x2: W - M.right + 36, y1: ly, y2: ly, stroke: SERIES_COLOURS[p], class: `legend-swatch legend-${p}` })}/>` +
      `<text ${attrs({ x: W - M.right + 42, y: ly + 4 })}>${escapeXml(p)}${p === rec.pattern ? " (chosen)" : ""}</text></g>`);
  });

  const be = rec.breakEven;
  if (be.tokensPerMonth !== null && be.tokensPerMonth >= x.domain[0] && be.tokensPerMonth <= x.domain[1] && be.costAtBreakEven !== null) {
    const bx = x(be.tokensPerMonth);
    out.push(`<g ${attrs({ id: "break-even-marker", class: "marker break-even", "data-tokens-per-month": be.tokensPerMonth, "data-cost": be.costAtBreakEven })}>` +
      `<line ${attrs({ x1: px(bx), x2: px(bx), y1: M.top, y2: H - M.bottom })}/>` +
      `<circle ${attrs({ cx: px(bx), cy: px(y(be.costAtBreakEven)), r: 5 })}/>` +
      `<text ${attrs({ x: px(bx + 6), y: M.top + 12 })}>break-even ${escapeXml(tokens(be.tokensPerMonth))}</text></g>`);
  }
  const T = rec.setup.input.tokensPerMonth;
  const vx = x(T);
  out.push(`<g ${attrs({ id: "volume-marker", class: "marker volume", "data-tokens-per-month": T })}>` +
    `<line ${attrs({ x1: px(vx), x2: px(vx), y1: M.top, y2: H - M.bottom })}/>` +
    `<text ${attrs({ x: px(vx + 6), y: H - M.bottom - 8 })}>your volume ${escapeXml(tokens(T))}</text></g>`);
  out.push(`</svg>`);
  return out.join("\n");
}

const BAR_H = 22;
const LABEL_W = 230;

export function tierChart(rec: Recommendation): string {
  const tiers = rec.tiers;
  const height = M.top + tiers.length * (BAR_H + 6) + 30;
  const max = Math.max(1, ...tiers.map((t) => t.decodeTokensPerSecond));
  const x = linearScale([0, max], [LABEL_W, W - 110]);
  const out: string[] = [];
  out.push(`<svg ${attrs({ id: "tier-chart", xmlns: "http://www.w3.org/2000/svg", viewBox: `0 0 ${W} ${height}`, width: W, height, role: "img", "aria-labelledby": "tier-chart-title", "data-x-max": max })}>`);
  out.push(`<title id="tier-chart-title">Output tokens per second of one host, per GPU tier, for ${escapeXml(rec.setup.model.id)}</title>`);
  tiers.forEach((t, i) => {
    const top = M.top + i * (BAR_H + 6);
    const chosen = rec.tier !== null && rec.tier.gpu === t.gpu;
    out.push(`<g class="tier${chosen ? " chosen" : ""}">` +
      `<text ${attrs({ class: "tier-label", x: LABEL_W - 8, y: top + BAR_H / 2 + 4, "text-anchor": "end" })}>${escapeXml(`${t.gpuCount}x ${t.gpu} (${t.quantization})`)}</text>` +
      `<rect ${attrs({
        class: `tier-bar${chosen ? " chosen" : ""}`, x: LABEL_W, y: top, height: BAR_H, width: px(x(t.decodeTokensPerSecond) - LABEL_W),
        "data-gpu": t.gpu, "data-gpu-count": t.gpuCount, "data-quantization": t.quantization, "data-tokens-per-second": t.decodeTokensPerSecond,
      })}/>` +
      `<text ${attrs({ class: "tier-value", x: px(x(t.decodeTokensPerSecond) + 6), y: top + BAR_H / 2 + 4 })}>${escapeXml(`${Math.round(t.decodeTokensPerSecond).toLocaleString("en-GB")} tok/s`)}</text></g>`);
  });
  out.push(`<text ${attrs({ class: "axis-label", x: (LABEL_W + W - 110) / 2, y: height - 8, "text-anchor": "middle" })}>output tokens/s of one host (capacity model estimate)</text>`);
  out.push(`</svg>`);
  return out.join("\n");
}
