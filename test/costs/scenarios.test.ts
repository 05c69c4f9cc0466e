/**
 * Scenarios worked out by hand. Common to all (test/costs/fixtures.ts):
 *   engineer £100/h; managed £0.50/M tokens (5e-7 £/token); frontier £5/M (5e-6 £/token);
 *   one tier: £300/month, 3B tokens/month at peak.
 *   Ops hours: self-hosting 12 + 3 per host (+1 per fine-tune); an API tier 1 (+2 per
 *   fine-tune on managed); routing 3 when two or more tiers serve traffic.
 *   So self-hosted(T) = £300 k + £100 (12 + 3k) = £1,200 + £600 k, k = max(1, ceil(T f / 3B)),
 *   managed(T) = £100 + 5e-7 T, frontier(T) = £100 + 5e-6 T.
 */
import { describe, expect, it } from "vitest";
import { breakEven } from "../../core/costs/break-even";
import { patternCosts, recommendWith } from "../../core/costs/recommend";
import { spillTokens } from "../../core/costs/shape";
import type { PatternKind } from "../../core/costs/types";
import { TIER, handSetup } from "./fixtures";

interface Scenario {
  readonly name: string;
  readonly setup: Parameters<typeof handSetup>[0];
  readonly totals: Partial<Record<PatternKind, number>>;
  readonly pattern: PatternKind;
  readonly hosts: number;
  readonly shares: { readonly selfHosted: number; readonly managed: number; readonly frontier: number };
}

const SCENARIOS: readonly Scenario[] = [
  {
    // A. 1B tokens/month, steady, residency none.
    //   self-hosted: k = ceil(1e9 x 1.5 / 3e9) = ceil(0.5) = 1 -> 1,200 + 600 = £1,800
    //   managed:     100 + 5e-7 x 1e9 = 100 + 500 = £600
    //   frontier:    100 + 5e-6 x 1e9 = 100 + 5,000 = £5,100
    //   hybrid:      best is 0 hosts, all to managed (one tier, no routing) = £600, a tie
    //                with managed, which the simpler pattern wins.
    // -> managed: low volume does not pay for a host plus its ops time.
    name: "low volume goes to the managed API",
    setup: { tokensPerMonth: 1e9 },
    totals: { "self-hosted": 1800, managed: 600, frontier: 5100, hybrid: 600 },
    pattern: "managed",
    hosts: 0,
    shares: { selfHosted: 0, managed: 1, frontier: 0 },
  },
  {
    // B. 20B tokens/month, steady, residency none.
    //   self-hosted: k = ceil(20e9 x 1.5 / 3e9) = 10 -> 1,200 + 6,000 = £7,200
    //   managed:     100 + 5e-7 x 20e9 = £10,100;  frontier: 100 + 100,000 = £100,100
    //   hybrid with k < 10 hosts: 300k + 100 (12 + 3k + 1 managed + 3 routing) + 5e-7 x spill
    //     = 1,600 + 600k + 5e-7 spill. Peak P = 30e9, r = k x 3e9 / P = k / 10, a = f - 1 = 0.5:
    //     spill / P = (1 - r^3) / 1.5 - r (1 - r^2)
    //     k = 8: (1 - 0.512) / 1.5 - 0.8 x 0.36 = 0.325333 - 0.288 = 0.037333
    //            spill = 1.12e9 -> £560; total 1,600 + 4,800 + 560 = £6,960
    //     k = 9: 0.180667 - 0.171 = 0.009667 -> spill 0.29e9 -> £145; total £7,145
    //     k = 7: 0.438 - 0.357 = 0.081 -> spill 2.43e9 -> £1,215; total £7,015
    //   -> hybrid at 8 hosts, £6,960: the last two hosts would only carry the top of the
    //      peak, cheaper to send to the API. Shares: 1.12/20 = 5.6% managed, 94.4% self.
    name: "high steady volume self-hosts the base and spills the peak",
    setup: { tokensPerMonth: 20e9 },
    totals: { "self-hosted": 7200, managed: 10100, frontier: 100100, hybrid: 6960 },
    pattern: "hybrid",
    hosts: 8,
    shares: { selfHosted: 0.944, managed: 0.056, frontier: 0 },
  },
  {
    // C. 1B tokens/month, bursty (f = 4), residency uk.
    //   self-hosted: k = ceil(1e9 x 4 / 3e9) = ceil(1.33) = 2 -> 1,200 + 1,200 = £2,400
    //   managed £600 and frontier £5,100 are ruled out: all tokens would leave the UK.
    //   hybrid, at least 50% on UK hosts, k = 1: P = 4e9, r = 0.75, a = 3:
    //     spill / P = (1 - r^(4/3)) / 4 - r (1 - r^(1/3))
    //       r^(1/3) = 0.9085603, r^(4/3) = 0.6814202
    //       = 0.0796449 - 0.75 x 0.0914397 = 0.0796449 - 0.0685798 = 0.0110652
    //     spill = 4e9 x 0.0110652 = 44.26M tokens (4.4%) -> £22.13
    //     total = 300 + 100 x (12 + 3 + 1 + 3) + 22.13 = £2,222.13
    //   -> hybrid: one UK host for the base, the bursts (4.4%) to managed.
    name: "bursty traffic under residency uk: one UK host, bursts to managed",
    setup: { tokensPerMonth: 1e9, shape: "bursty", residency: "uk" },
    totals: { "self-hosted": 2400, managed: 600, frontier: 5100, hybrid: 2222.13 },
    pattern: "hybrid",
    hosts: 1,
    shares: { selfHosted: 0.9557, managed: 0.0443, frontier: 0 },
  },
  {
    // D. 4B tokens/month, steady, residency none, 10% hard queries, 2 fine-tunes.
    //   Rules: hard share > 0 needs a frontier tier (self-hosted and managed alone are out);
    //   fine-tunes rule out frontier alone. Only the hybrid remains.
    //   frontier part: 0.1 x 4e9 = 0.4e9 x 5e-6 = £2,000; the rest V = 3.6e9 (P = 5.4e9).
    //   k = 0: managed 3.6e9 x 5e-7 = £1,800; ops: managed 1 + 2 x 2 = 5 h, frontier 1 h,
    //          routing 3 h = 9 h = £900 -> 1,800 + 2,000 + 900 = £4,700
    //   k = 2 (carries the peak: 2 x 3e9 >= 5.4e9): rent £600; ops 12 + 6 + 2 + 1 + 3 = 24 h
    //          = £2,400 -> 600 + 2,400 + 2,000 = £5,000
    //   k = 1: r = 3 / 5.4 = 0.5556; spill / P = (1 - r^3) / 1.5 - r (1 - r^2)
    //          = 0.552354 - 0.384088 = 0.168267 -> 0.9086e9 tokens -> £454.32; ops 12 + 3 + 2
    //          + 5 + 1 + 3 = 26 h = £2,600 -> 300 + 2,600 + 454.32 + 2,000 = £5,354.32
    //   -> hybrid with no host: managed 90% (adapters uploaded there) + frontier 10%, £4,700.
    //   (self-hosted alone: k = ceil(6e9 / 3e9) = 2 -> 1,200 + 1,200 + 2 x 100 = £2,600.)
    name: "hard queries and fine-tunes at moderate volume: managed plus frontier",
    setup: { tokensPerMonth: 4e9, hardShare: 0.1, fineTunes: 2 },
    totals: { "self-hosted": 2600, hybrid: 4700 },
    pattern: "hybrid",
    hosts: 0,
    shares: { selfHosted: 0, managed: 0.9, frontier: 0.1 },
  },
  {
    // E. 1B tokens/month, steady, residency uk, 60% hard queries.
    //   A hybrid would keep at most 40% on UK hosts (< 50%): impossible. Managed and
    //   frontier alone leave the UK. So the self-hosted model serves everything, hard
    //   queries included: k = 1 -> £1,800.
    name: "residency uk with mostly hard queries: self-hosted serves them too",
    setup: { tokensPerMonth: 1e9, residency: "uk", hardShare: 0.6 },
    totals: { "self-hosted": 1800 },
    pattern: "self-hosted",
    hosts: 1,
    shares: { selfHosted: 1, managed: 0, frontier: 0 },
  },
];

describe("hand-worked scenarios", () => {
  it.each(SCENARIOS)("$name", (s) => {
    const rec = recommendWith(handSetup(s.setup));
    for (const [pattern, total] of Object.entries(s.totals) as [PatternKind, number][]) {
      expect(rec.costs[pattern].total, pattern).toBeCloseTo(total, 1);
    }
    expect(rec.pattern).toBe(s.pattern);
    const chosen = rec.costs[rec.pattern];
    expect(chosen.hosts).toBe(s.hosts);
    expect(chosen.shares.selfHosted).toBeCloseTo(s.shares.selfHosted, 3);
    expect(chosen.shares.managed).toBeCloseTo(s.shares.managed, 3);
    expect(chosen.shares.frontier).toBeCloseTo(s.shares.frontier, 3);
    expect(rec.reasons.length).toBeGreaterThan(0);
  });

  it("explains the forced choice under residency uk in words", () => {
    const rec = recommendWith(handSetup({ tokensPerMonth: 1e9, residency: "uk", hardShare: 0.6 }));
    expect(rec.reasons.join("\n")).toMatch(/cannot go to a frontier API while the bulk stays in the UK/);
    expect(rec.eligibility.hybrid.eligible).toBe(false);
  });

  it("splits the spill of scenario C as worked out (closed form against the hand figure)", () => {
    // 1e9 tokens, capacity 3e9 at peak, f = 4: 44.26M tokens.
    expect(spillTokens(1e9, 3e9, 4) / 1e6).toBeCloseTo(44.2607, 3);
  });
});

describe("break-even, worked by hand", () => {
  // a0 = £1,200 (12 h), c = £600 per host (rent 300 + 3 h), managed M(T) = 100 + 5e-7 T.
  // A host's step is w = 3e9 / 1.5 = 2e9 tokens; managed charges 5e-7 x 2e9 = £1,000 for
  // it, more than the £600 a host adds, so self-hosting wins at scale.
  // Step k is cheaper from x_k = (1,200 + 600k - 100) / 5e-7 = 2.2e9 + 1.2e9 k.
  // Whole steps are cheaper from K = ceil((1,000 + 1,100) / (1,000 - 600)) = ceil(5.25) = 6;
  // the tail starts on step 5 at x_5 = 2.2e9 + 6e9 = 8.2e9 (step 5 covers (8e9, 10e9]).
  // Windows below: step 3 from x_3 = 5.8e9 to 6e9, step 4 from 7.0e9 to 8e9 (then the 5th
  // host is needed and costs jump back above managed until 8.2e9).
  const setup = handSetup({ tokensPerMonth: 1e9 });
  const be = breakEven(setup.tiers, setup.ctx);

  it("sits at 8.2B tokens/month, where both cost £4,200", () => {
    expect(be.tokensPerMonth).toBeCloseTo(8.2e9, -3);
    expect(be.hosts).toBe(5); // ceil(8.2e9 x 1.5 / 3e9) = ceil(4.1)
    expect(be.costAtBreakEven).toBeCloseTo(4200, 6); // 1,200 + 600 x 5 = 100 + 5e-7 x 8.2e9
    expect(be.tier).toEqual(TIER);
  });

  it("has managed cheaper just below it, and a cheaper-self-hosting window below that", () => {
    const at = (T: number) => patternCosts(setup, T);
    expect(at(8.1e9).managed.total).toBeLessThan(at(8.1e9)["self-hosted"].total); // 4,150 < 4,200
    expect(at(7.5e9)["self-hosted"].total).toBeLessThan(at(7.5e9).managed.total); // 3,600 < 3,850: window
    expect(at(6.5e9).managed.total).toBeLessThan(at(6.5e9)["self-hosted"].total); // 3,350 < 3,600
  });

  it("does not exist when a host costs more per step than managed charges for it", () => {
    // Managed at £0.20/M: 5e-7 -> 2e-7, a step's tokens cost £400 < £600 per host.
    const cheapApi = handSetup({ tokensPerMonth: 1e9, managedGbpPerToken: 2e-7 });
    expect(breakEven(cheapApi.tiers, cheapApi.ctx).tokensPerMonth).toBeNull();
  });
});
