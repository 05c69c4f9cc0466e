/** Properties of the cost model, over generated traffic, prices, tiers and constraints. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MANAGED_PROVIDER_IDS } from "../../core/catalog/providers";
import { breakEven } from "../../core/costs/break-even";
import { patternCosts, recommend, recommendWith } from "../../core/costs/recommend";
import { type CostSetup, type RecommendInput, prepare } from "../../core/costs/setup";
import { PEAK_TO_AVERAGE, spillTokens } from "../../core/costs/shape";
import { PATTERNS, TRAFFIC_SHAPES, type GpuTier } from "../../core/costs/types";
import { managedPricesFor } from "../../core/costs/prices-lookup";
import { handSetup } from "./fixtures";

/** Models with a managed price, so every pattern is in play; one small, one mid, one large. */
const MODELS = ["qwen2.5-7b-instruct", "mistral-small-24b-instruct", "llama-3.3-70b-instruct", "qwen2.5-72b-instruct"] as const;

const volume = fc.double({ min: 1e5, max: 1e12, noNaN: true });

const realInput = fc.record({
  model: fc.constantFrom(...MODELS),
  shape: fc.constantFrom(...TRAFFIC_SHAPES),
  residency: fc.constantFrom("uk" as const, "none" as const),
  hardShare: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
  fineTunes: fc.integer({ min: 0, max: 6 }),
  inputShare: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  engineerGbpPerMonth: fc.double({ min: 0, max: 20000, noNaN: true }),
});

const syntheticTier = fc.record({
  rentGbp: fc.double({ min: 20, max: 3000, noNaN: true }),
  peakTokensPerMonth: fc.double({ min: 1e7, max: 5e10, noNaN: true }),
}).map(({ rentGbp, peakTokensPerMonth }): GpuTier => ({
  gpu: "rtx-4090", gpuCount: 1, quantization: "bf16", tensorParallel: 1, replicas: 1, contextTokens: 8192, rentGbp,
  decodeTokensPerSecond: 1, singleStreamTokensPerSecond: 1, peakTokensPerMonth,
}));

const syntheticSetup = fc.record({
  tiers: fc.array(syntheticTier, { minLength: 1, maxLength: 4 }),
  shape: fc.constantFrom(...TRAFFIC_SHAPES),
  managedGbpPerToken: fc.double({ min: 1e-9, max: 2e-5, noNaN: true }),
  engineerGbpPerHour: fc.double({ min: 0, max: 200, noNaN: true }),
  fineTunes: fc.integer({ min: 0, max: 5 }),
}).map((s): CostSetup => handSetup({ tokensPerMonth: 1e9, ...s }));

/** Lets floating point through: a + tiny relative slack. */
const atMost = (a: number, b: number) => a <= b + 1e-9 * Math.max(1, Math.abs(b));

describe("every cost grows (never falls) with traffic", () => {
  it("on the real catalogs, for every pattern, shape and constraint", () => {
    fc.assert(fc.property(realInput, volume, volume, (input, v1, v2) => {
      const setup = prepare({ ...input, tokensPerMonth: v1 });
      const [lo, hi] = v1 <= v2 ? [v1, v2] : [v2, v1];
      const a = patternCosts(setup, lo);
      const b = patternCosts(setup, hi);
      for (const p of PATTERNS) {
        expect(a[p].available).toBe(b[p].available);
        expect(atMost(a[p].total, b[p].total), `${p}: ${a[p].total} at ${lo} > ${b[p].total} at ${hi}`).toBe(true);
      }
    }), { numRuns: 60 });
  });

  it("on generated tiers and prices, step by step across a range", () => {
    fc.assert(fc.property(syntheticSetup, fc.double({ min: 1e6, max: 1e11, noNaN: true }), (setup, start) => {
      let previous = patternCosts(setup, start);
      for (let i = 1; i <= 20; i++) {
        const next = patternCosts(setup, start * (1 + i / 7));
        for (const p of PATTERNS) expect(atMost(previous[p].total, next[p].total), p).toBe(true);
        previous = next;
      }
    }), { numRuns: 150 });
  });

  it("in the spill above a fixed capacity", () => {
    fc.assert(fc.property(volume, volume, fc.double({ min: 0, max: 1e12, noNaN: true }), fc.constantFrom(1, 1.5, 4, 8), (v1, v2, capacity, f) => {
      const [lo, hi] = v1 <= v2 ? [v1, v2] : [v2, v1];
      expect(atMost(spillTokens(lo, capacity, f), spillTokens(hi, capacity, f))).toBe(true);
      expect(spillTokens(hi, capacity, f)).toBeLessThanOrEqual(hi);
    }));
  });
});

describe("the break-even sits where the self-hosted staircase and the managed line cross for the last time", () => {
  let found = 0;
  const check = (setup: CostSetup, probe: number) => {
    const be = breakEven(setup.tiers, setup.ctx);
    if (be.tokensPerMonth === null) return;
    found++;
    const b = be.tokensPerMonth;
    const at = (T: number) => patternCosts(setup, T);
    // On the crossing: equal, up to floating point.
    const there = at(b);
    expect(Math.abs(there["self-hosted"].total - there.managed.total)).toBeLessThanOrEqual(1e-6 * there.managed.total);
    // Above: self-hosting never costs more, however far up.
    const above = at(b * (1 + probe));
    expect(atMost(above["self-hosted"].total, above.managed.total), `above b=${b}`).toBe(true);
    // Just below, on the same step's flat top: managed is cheaper.
    const stepStart = ((be.hosts - 1) * be.tier!.peakTokensPerMonth) / PEAK_TO_AVERAGE[setup.ctx.shape];
    const gap = Math.min(b * 1e-7, (b - stepStart) / 2);
    if (b > 0 && gap > b * 1e-12) {
      const below = at(b - gap);
      expect(below.managed.total).toBeLessThan(below["self-hosted"].total);
    }
  };

  it("on generated tiers and prices", () => {
    found = 0;
    fc.assert(fc.property(syntheticSetup, fc.double({ min: 0, max: 1000, noNaN: true }), check), { numRuns: 300 });
    // Not vacuous: a fair share of the generated setups do break even.
    expect(found).toBeGreaterThan(30);
  });

  it("on the real catalogs, including fine-tunes", () => {
    fc.assert(fc.property(realInput, fc.constantFrom(...MANAGED_PROVIDER_IDS), fc.double({ min: 0, max: 1000, noNaN: true }), (input, provider, probe) => {
      const managedProvider = managedPricesFor(input.model).some((p) => p.provider === provider) ? provider : undefined;
      check(prepare({ ...input, tokensPerMonth: 1e9, ...(managedProvider ? { managedProvider } : {}) }), probe);
    }), { numRuns: 60 });
  });

  it("exists for at least some real setups (the property above is not vacuous)", () => {
    const setup = prepare({ model: "qwen2.5-7b-instruct", tokensPerMonth: 1e9, managedProvider: "together_ai" });
    expect(breakEven(setup.tiers, setup.ctx).tokensPerMonth).not.toBeNull();
  });
});

describe("residency uk", () => {
  it("never recommends a pattern that sends all traffic outside the UK", () => {
    fc.assert(fc.property(realInput, volume, (input, tokensPerMonth) => {
      const rec = recommend({ ...input, residency: "uk", tokensPerMonth } satisfies RecommendInput);
      const chosen = rec.costs[rec.pattern];
      expect(chosen.outsideUkShare).toBeLessThan(1);
      expect(chosen.outsideUkShare).toBeLessThanOrEqual(0.5 + 1e-9);
      expect(["managed", "frontier"]).not.toContain(rec.pattern);
    }), { numRuns: 80 });
  });

  it("holds on generated tiers and prices too, however cheap the APIs", () => {
    fc.assert(fc.property(syntheticSetup, volume, fc.double({ min: 0, max: 1, noNaN: true }), (s, tokensPerMonth, hardShare) => {
      const setup = handSetup({ tokensPerMonth, residency: "uk", hardShare, tiers: s.tiers, shape: s.ctx.shape, managedGbpPerToken: (s.ctx.managedGbpPerToken ?? 1e-7) / 1000 });
      const rec = recommendWith(setup);
      expect(rec.costs[rec.pattern].outsideUkShare).toBeLessThanOrEqual(0.5 + 1e-9);
    }), { numRuns: 200 });
  });
});
