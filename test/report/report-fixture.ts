/** One request whose report has every element: a break-even inside the chart, all four patterns. */
import { costCurves, recommend, type CurvePoint } from "../../core/costs/recommend";
import type { Recommendation } from "../../core/costs/recommendation";
import type { RecommendInput } from "../../core/costs/setup";
import { chartVolumes, htmlReport } from "../../core/report/html";

export const INPUT: RecommendInput = { model: "qwen2.5-7b-instruct", tokensPerMonth: 5e9, residency: "none", managedProvider: "together_ai", hardShare: 0.02 };

export function report(input: RecommendInput = INPUT): { rec: Recommendation; curves: CurvePoint[]; html: string } {
  const rec = recommend(input);
  const curves = costCurves(input, chartVolumes(rec));
  return { rec, curves, html: htmlReport(rec, curves) };
}

/** Attribute values of every element matching `tag` that has `marker` in its opening tag. */
export function elements(html: string, tag: string, marker: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, "g"))) {
    const body = m[1]!;
    if (!body.includes(marker)) continue;
    const attrs: Record<string, string> = {};
    for (const a of body.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#39;/g, "'").replace(/&amp;/g, "&");
    out.push(attrs);
  }
  return out;
}

/** [x, y] vertices of an SVG path made of M/L commands. */
export function vertices(d: string): [number, number][] {
  return [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}
