/**
 * Each GPU tier's latency–throughput curve, as hand-built SVG like the report's other charts:
 * three panels against the requests in flight in one engine replica (log 2 scale) — time to
 * first token, time per output token, output tokens/s — with the SLO's targets drawn across
 * the latency panels and the operating point (where the router's limit is set) marked in all.
 *
 * Stable hooks for tests and readers: `svg.tier-curve[data-gpu][data-gpu-count]`, one per tier;
 * in it `g.panel[data-metric]` (ttft, tpot, throughput) with its domains and pixel ranges in
 * data-* attributes, `path.curve-line`, `circle.curve-point[data-concurrency]`,
 * `circle.operating-point[data-concurrency][data-value]` and `line.slo-line[data-ms]`.
 */
import type { Recommendation } from "../costs/recommendation";
import type { GpuTier, TierLatency } from "../costs/types";
import type { CurvePoint } from "../plan/capacity";
import { type Scale, attrs, escapeXml, linearScale, logScale, polyline, px } from "./svg";

type Metric = "ttft" | "tpot" | "throughput";

const PANELS: readonly { readonly metric: Metric; readonly title: string; readonly value: (p: CurvePoint) => number; readonly slo: (l: TierLatency) => number | undefined }[] = [
  { metric: "ttft", title: "time to first token, ms", value: (p) => p.ttftMs, slo: (l) => l.slo.ttftMs },
  { metric: "tpot", title: "time per output token, ms", value: (p) => p.tpotMs, slo: (l) => l.slo.tpotMs },
  { metric: "throughput", title: "output tokens/s", value: (p) => p.outputTokensPerSecond, slo: () => undefined },
];

const W = 960;
const H = 230;
/** Plot width of a panel; each panel's y labels sit in the M.left before it. */
const PANEL_W = 260;
const M = { left: 56, top: 26, bottom: 40 } as const;

/** Ticks of a log-2 axis: powers of two in [lo, hi]. */
function powersOfTwo(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let v = 1; v <= hi * (1 + 1e-9); v *= 2) if (v >= lo * (1 - 1e-9)) out.push(v);
  return out;
}

/** A round upper bound for a linear axis: 1, 2 or 5 times a power of ten. */
function niceMax(v: number): number {
  const e = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * e).find((n) => n >= v) ?? 10 * e;
}

const short = (v: number) => (v === 0 ? "0" : v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(0) : v.toFixed(1));

function panel(l: TierLatency, spec: (typeof PANELS)[number], left: number, x: Scale): string {
  const points = l.curve;
  const slo = spec.slo(l);
  const yMax = niceMax(Math.max(...points.map(spec.value), spec.value(l.operatingPoint), slo ?? 0) * 1.1);
  const y = linearScale([0, yMax], [H - M.bottom, M.top]);
  const out: string[] = [];
  out.push(`<g ${attrs({
    class: "panel", "data-metric": spec.metric, "data-x-min": x.domain[0], "data-x-max": x.domain[1], "data-y-min": 0, "data-y-max": yMax,
    "data-x-range": `${x.range[0]},${x.range[1]}`, "data-y-range": `${y.range[0]},${y.range[1]}`,
  })}>`);
  out.push(`<text ${attrs({ class: "panel-title", x: left, y: M.top - 10 })}>${escapeXml(spec.title)}</text>`);
  for (const t of powersOfTwo(x.domain[0], x.domain[1])) {
    out.push(`<line ${attrs({ class: "tick x", x1: px(x(t)), x2: px(x(t)), y1: M.top, y2: H - M.bottom })}/>`);
    out.push(`<text ${attrs({ class: "tick-label x", x: px(x(t)), y: H - M.bottom + 14, "text-anchor": "middle" })}>${t}</text>`);
  }
  for (const f of [0, 0.5, 1]) {
    const v = yMax * f;
    out.push(`<line ${attrs({ class: "tick y", x1: px(x.range[0]), x2: px(x.range[1]), y1: px(y(v)), y2: px(y(v)) })}/>`);
    out.push(`<text ${attrs({ class: "tick-label y", x: px(x.range[0] - 4), y: px(y(v) + 4), "text-anchor": "end" })}>${escapeXml(short(v))}</text>`);
  }
  out.push(`<text ${attrs({ class: "axis-label", x: px((x.range[0] + x.range[1]) / 2), y: H - 8, "text-anchor": "middle" })}>requests in flight (one replica)</text>`);
  if (slo !== undefined && slo <= yMax) {
    out.push(`<line ${attrs({ class: "slo-line", "data-ms": slo, x1: px(x.range[0]), x2: px(x.range[1]), y1: px(y(slo)), y2: px(y(slo)) })}/>` +
      `<text ${attrs({ class: "slo-label", x: px(x.range[1] - 2), y: px(y(slo) - 4), "text-anchor": "end" })}>${escapeXml(`SLO ${slo} ms`)}</text>`);
  }
  out.push(`<path ${attrs({ class: `curve-line curve-${spec.metric}`, d: polyline(points.map((p) => [x(p.concurrency), y(spec.value(p))] as const)) })}/>`);
  for (const p of points) {
    out.push(`<circle ${attrs({ class: "curve-point", "data-concurrency": p.concurrency, "data-value": spec.value(p), cx: px(x(p.concurrency)), cy: px(y(spec.value(p))), r: 2.5 })}/>`);
  }
  const op = l.operatingPoint;
  const ox = x(Math.max(x.domain[0], op.concurrency));
  out.push(`<line ${attrs({ class: "operating-line", x1: px(ox), x2: px(ox), y1: M.top, y2: H - M.bottom })}/>`);
  out.push(`<circle ${attrs({ class: "operating-point", "data-concurrency": op.concurrency, "data-value": spec.value(op), cx: px(ox), cy: px(y(spec.value(op))), r: 5 })}/>`);
  out.push(`</g>`);
  return out.join("\n");
}

/** One tier's three panels. */
export function tierCurveChart(t: GpuTier, l: TierLatency, chosen: boolean): string {
  const xMax = Math.max(2, l.maxConcurrency, ...l.curve.map((p) => p.concurrency));
  const op = l.operatingPoint;
  const label = `${t.gpuCount}x ${t.gpu} (${t.quantization}${t.tensorParallel > 1 ? `, tensor-parallel ${t.tensorParallel}` : ""})`;
  const out: string[] = [];
  out.push(`<svg ${attrs({
    class: `tier-curve${chosen ? " chosen" : ""}`, xmlns: "http://www.w3.org/2000/svg", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
    "aria-label": `${label}: latency and throughput against requests in flight, operating point at ${op.concurrency.toFixed(1)}`,
    "data-gpu": t.gpu, "data-gpu-count": t.gpuCount, "data-operating-concurrency": op.concurrency, "data-bound-by": op.boundBy,
  })}>`);
  PANELS.forEach((spec, i) => {
    const left = M.left + i * (PANEL_W + M.left);
    out.push(panel(l, spec, left, logScale([1, xMax], [left, left + PANEL_W])));
  });
  out.push(`</svg>`);
  return out.join("\n");
}

/** Why the operating point is where it is, in words. */
function operatingText(t: GpuTier, l: TierLatency): string {
  const op = l.operatingPoint;
  const bound = !op.sloMet ? "the SLO is missed even at one request, so one at a time"
    : op.boundBy === "slo" ? `the most requests that keep TTFT within ${l.slo.ttftMs ?? "-"} ms and ${l.slo.tpotMs ?? "-"} ms per token`
      : `85% of the saturated rate (${l.saturation.requestsPerSecond.toFixed(2)} requests/s at ${l.maxConcurrency} in flight), below the SLO's limit`;
  return `operating point ${op.concurrency.toFixed(1)} requests in flight per replica: TTFT ${Math.round(op.ttftMs)} ms, ${op.tpotMs.toFixed(1)} ms per token, ` +
    `${Math.round(op.outputTokensPerSecond)} output tokens/s (${bound})${t.replicas > 1 ? `; the host runs ${t.replicas} replicas` : ""}`;
}

/** The report's section: every tier with a curve, the recommended one first. */
export function tierCurvesSection(rec: Recommendation): string {
  const tiers = rec.tiers.filter((t): t is GpuTier & { latency: TierLatency } => t.latency !== undefined);
  if (tiers.length === 0) return "";
  const chosen = (t: GpuTier) => rec.tier !== null && rec.tier.gpu === t.gpu && rec.tier.gpuCount === t.gpuCount;
  const figure = (t: GpuTier & { latency: TierLatency }) => `<figure ${attrs({ class: `tier-curve-figure${chosen(t) ? " chosen" : ""}`, "data-gpu": t.gpu })}>` +
    `<figcaption><strong>${escapeXml(`${t.gpuCount}x ${t.gpu} (${t.quantization})`)}</strong>${chosen(t) ? " (recommended tier)" : ""}: ${escapeXml(operatingText(t, t.latency))}</figcaption>` +
    `${tierCurveChart(t, t.latency, chosen(t))}</figure>`;
  const first = tiers.filter(chosen);
  const others = tiers.filter((t) => !chosen(t));
  return `<section id="tier-curves"><h2>Latency and throughput per GPU tier</h2>` +
    `<p class="small">${escapeXml("One engine replica of each tier under load, from the capacity model calibrated against published vLLM runs. The router admits up to the operating point (the green circle); beyond it requests spill to the next tier. Measure your own host with the benchmark step and `npm run calibrate`.")}</p>` +
    first.map(figure).join("\n") +
    (others.length === 0 ? "" : first.length === 0 ? others.map(figure).join("\n")
      : `<details id="other-tier-curves"><summary>${escapeXml(`the other ${others.length} tier${others.length > 1 ? "s" : ""}`)}</summary>${others.map(figure).join("\n")}</details>`) +
    `</section>`;
}

/** The CSS the curve charts use. */
export const CURVES_CSS = `
.tier-curve .panel-title{fill:#333;font-weight:bold}
.curve-line{fill:none;stroke:#1f5fbf;stroke-width:2}.curve-point{fill:#1f5fbf}
.operating-line{stroke:#1b7f3b;stroke-dasharray:4 3}.operating-point{fill:#1b7f3b;stroke:#fff;stroke-width:1.5}
.slo-line{stroke:#b03a2e;stroke-dasharray:6 4}.slo-label{fill:#b03a2e}
.tier-curve-figure{margin:0 0 1.2em 0}.tier-curve-figure figcaption{font-size:13px;margin-bottom:4px}
`;
