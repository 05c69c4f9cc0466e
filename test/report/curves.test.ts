/**
 * The report's latency–throughput curve of every GPU tier: each drawn point and the operating
 * point read back from the SVG's pixels to the capacity model's numbers.
 */
import { describe, expect, it } from "vitest";
import type { CurvePoint } from "../../core/plan/capacity";
import { linearScale, logScale } from "../../core/report/svg";
import { elements, report, vertices } from "./report-fixture";

const { rec, html } = report();

/** Each tier chart's SVG text, by "<count>x<gpu>". */
function charts(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<svg class="tier-curve[^"]*"[\s\S]*?<\/svg>/g)) {
    const open = elements(m[0], "svg", "tier-curve")[0]!;
    out.set(`${open["data-gpu-count"]}x${open["data-gpu"]}`, m[0]);
  }
  return out;
}

/** A panel's scales, rebuilt from its data-* attributes, and its text. */
function panel(svg: string, metric: string) {
  const start = svg.indexOf(`data-metric="${metric}"`);
  const text = svg.slice(start, svg.indexOf("</g>", start));
  const g = elements(svg, "g", `data-metric="${metric}"`)[0]!;
  const range = (k: string) => g[k]!.split(",").map(Number) as [number, number];
  return {
    text,
    x: logScale([Number(g["data-x-min"]), Number(g["data-x-max"])], range("data-x-range")),
    y: linearScale([Number(g["data-y-min"]), Number(g["data-y-max"])], range("data-y-range")),
  };
}

const VALUE: Record<string, (p: CurvePoint) => number> = { ttft: (p) => p.ttftMs, tpot: (p) => p.tpotMs, throughput: (p) => p.outputTokensPerSecond };

describe("the tier curves in the report", () => {
  const byTier = charts();

  it("draws one chart per GPU tier, the recommended tier's first and outside the fold", () => {
    expect(byTier.size).toBe(rec.tiers.length);
    for (const t of rec.tiers) expect(byTier.has(`${t.gpuCount}x${t.gpu}`), t.gpu).toBe(true);
    const section = html.slice(html.indexOf('<section id="tier-curves">'));
    expect(section.indexOf(`data-gpu="${rec.tier!.gpu}"`)).toBeLessThan(section.indexOf("<details"));
  });

  it.each(["ttft", "tpot", "throughput"])("puts every point of the %s curve and the operating point where the model's numbers are", (metric) => {
    for (const t of rec.tiers) {
      const l = t.latency!;
      const p = panel(byTier.get(`${t.gpuCount}x${t.gpu}`)!, metric);
      const value = VALUE[metric]!;
      const line = elements(p.text, "path", "curve-line")[0]!;
      const drawn = vertices(line["d"]!);
      expect(drawn.length, t.gpu).toBe(l.curve.length);
      drawn.forEach(([px, py], i) => {
        expect(p.x.invert(px)).toBeCloseTo(l.curve[i]!.concurrency, 1);
        expect(p.y.invert(py) / value(l.curve[i]!)).toBeCloseTo(1, 2);
      });
      const op = elements(p.text, "circle", "operating-point")[0]!;
      expect(Number(op["data-concurrency"])).toBe(l.operatingPoint.concurrency);
      expect(Number(op["data-value"])).toBe(value(l.operatingPoint));
      expect(p.x.invert(Number(op["cx"])) / Math.max(1, l.operatingPoint.concurrency)).toBeCloseTo(1, 2);
      expect(Math.abs(p.y(value(l.operatingPoint)) - Number(op["cy"]))).toBeLessThan(0.01);
    }
  });

  it("draws the SLO's targets on the latency panels", () => {
    const t = rec.tier!;
    const svg = byTier.get(`${t.gpuCount}x${t.gpu}`)!;
    expect(elements(panel(svg, "ttft").text, "line", "slo-line")[0]?.["data-ms"]).toBe(String(t.latency!.slo.ttftMs));
    expect(elements(panel(svg, "tpot").text, "line", "slo-line")[0]?.["data-ms"]).toBe(String(t.latency!.slo.tpotMs));
    expect(elements(panel(svg, "throughput").text, "line", "slo-line")).toEqual([]);
  });

  it("says in words where the operating point is and why", () => {
    const t = rec.tier!;
    const op = t.latency!.operatingPoint;
    expect(html).toContain(`operating point ${op.concurrency.toFixed(1)} requests in flight per replica: TTFT ${Math.round(op.ttftMs)} ms, ${op.tpotMs.toFixed(1)} ms per token`);
    expect(html).toContain(op.boundBy === "slo" ? "the most requests that keep TTFT within" : "85% of the saturated rate");
  });
});
