import { describe, expect, it } from "vitest";
import { logScale } from "../../core/report/svg";
import { PATTERNS } from "../../core/costs/types";
import { INPUT, elements, report, vertices } from "./report-fixture";

const { rec, curves, html } = report();

describe("the HTML report", () => {
  it("is one self-contained file: no scripts, stylesheets, images or fonts fetched", () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/<img\b|<iframe\b|<object\b|<embed\b/i);
    expect(html).not.toMatch(/\bsrc=/i);
    expect(html).not.toMatch(/url\(|@import/i);
    // The only http(s) addresses are the price sources, as links a reader may follow, and SVG's namespace.
    const rest = html.replace(/<a\b[^>]*>[^<]*<\/a>/g, "").replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, "");
    expect(rest).not.toMatch(/https?:/);
    expect(html).toMatch(/<a href="https:\/\//);
  });

  it("prints the cost functions' numbers in the cost table", () => {
    const rows = elements(html, "td", "data-part=");
    for (const p of PATTERNS) {
      const c = rec.costs[p];
      const cells = Object.fromEntries([...html
        .split(`<tr data-pattern="${p}"`)[1]!.split("</tr>")[0]!
        .matchAll(/data-part="(\w+)" data-value="([^"]+)"/g)].map((m) => [m[1]!, Number(m[2])]));
      expect(cells, p).toEqual({ rent: c.parts.rent, ops: c.parts.ops, managedTokens: c.parts.managedTokens, frontierTokens: c.parts.frontierTokens, total: c.total, hosts: c.hosts });
    }
    expect(rows.filter((r) => r["data-value"] !== undefined).length).toBe(PATTERNS.length * 6);
  });

  it("prints the recommendation, break-even and volume in the summary", () => {
    const dd = (id: string) => elements(html, "dd", `id="${id}"`)[0]!;
    expect(html).toContain(`<dd id="summary-pattern">${rec.pattern}</dd>`);
    expect(Number(dd("summary-total")["data-value"])).toBe(rec.costs[rec.pattern].total);
    expect(Number(dd("summary-break-even")["data-value"])).toBe(rec.breakEven.tokensPerMonth);
    expect(Number(dd("summary-volume")["data-value"])).toBe(INPUT.tokensPerMonth);
    for (const r of rec.reasons) expect(html).toContain(r.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;"));
  });

  it("draws each pattern's curve through the cost functions' values (read back from the SVG)", () => {
    const svg = elements(html, "svg", 'id="cost-chart"')[0]!;
    const xRange = svg["data-x-range"]!.split(",").map(Number) as [number, number];
    const yRange = svg["data-y-range"]!.split(",").map(Number) as [number, number];
    const x = logScale([Number(svg["data-x-min"]), Number(svg["data-x-max"])], xRange);
    const y = logScale([Number(svg["data-y-min"]), Number(svg["data-y-max"])], yRange);
    const paths = elements(html, "path", 'class="series');
    expect(paths.map((p) => p["data-pattern"])).toEqual([...PATTERNS]);
    for (const path of paths) {
      const pattern = path["data-pattern"] as (typeof PATTERNS)[number];
      const points = vertices(path["d"]!);
      const expected = curves.filter((c) => c.totals[pattern] !== null);
      expect(points.length, pattern).toBe(expected.length);
      points.forEach(([px, py], i) => {
        // Two-decimal pixels: about 1e-4 relative on these log axes.
        expect(Math.abs(x.invert(px) / expected[i]!.tokensPerMonth - 1), `${pattern} x #${i}`).toBeLessThan(2e-3);
        expect(Math.abs(y.invert(py) / expected[i]!.totals[pattern]! - 1), `${pattern} y #${i}`).toBeLessThan(2e-3);
      });
    }
  });

  it("marks the break-even where the self-hosted and managed curves meet", () => {
    const g = elements(html, "g", 'id="break-even-marker"')[0]!;
    expect(Number(g["data-tokens-per-month"])).toBe(rec.breakEven.tokensPerMonth);
    expect(Number(g["data-cost"])).toBe(rec.breakEven.costAtBreakEven);
    const at = curves.find((c) => c.tokensPerMonth === rec.breakEven.tokensPerMonth)!;
    expect(at.totals["self-hosted"]).toBeCloseTo(at.totals.managed!, 6);
    expect(Number(elements(html, "g", 'id="volume-marker"')[0]!["data-tokens-per-month"])).toBe(INPUT.tokensPerMonth);
  });

  it("draws one bar per GPU tier at the capacity model's tokens/s", () => {
    const bars = elements(html, "rect", 'class="tier-bar');
    expect(bars.length).toBe(rec.tiers.length);
    const widest = Math.max(...bars.map((b) => Number(b["width"])));
    bars.forEach((b, i) => {
      expect(b["data-gpu"]).toBe(rec.tiers[i]!.gpu);
      expect(Number(b["data-tokens-per-second"])).toBe(rec.tiers[i]!.decodeTokensPerSecond);
      expect(Number(b["width"]) / widest).toBeCloseTo(rec.tiers[i]!.decodeTokensPerSecond / rec.tiers[0]!.decodeTokensPerSecond, 3);
    });
    expect(bars.filter((b) => b["class"]!.includes("chosen")).map((b) => b["data-gpu"])).toEqual(rec.tier ? [rec.tier.gpu] : []);
  });

  it("omits the break-even marker when there is none, and says why", () => {
    const none = report({ model: "qwen2.5-7b-instruct", tokensPerMonth: 5e9, residency: "none", managedProvider: "deepinfra" });
    expect(none.rec.breakEven.tokensPerMonth).toBeNull();
    expect(none.html).not.toContain('id="break-even-marker"');
    expect(none.html).toMatch(/No break-even between self-hosting and the managed API/);
  });
});
