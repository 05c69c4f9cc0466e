/**
 * The frontier bill on the worst day (core/costs/frontier-worst-day.ts): every request fails
 * over to the frontier tier, with and without the router's per-provider daily budgets. Prices:
 * core/catalog/prices.ts (claude-sonnet-4-5 $3/$15, gpt-5 $1.25/$10 per Mtok).
 */
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readStackFile } from "../../core/config/source";
import { frontierWorstDay, worstCaseDailyFrontierCost } from "../../core/costs/frontier-worst-day";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";
import { planMarkdown } from "../../core/review/markdown";
import { planSummary } from "../../core/review/text";
import { renderTarget } from "../../core/render/target";

const root = path.join(__dirname, "..", "..");

function stackPlan(stack: string, patch: (values: Record<string, unknown>) => Record<string, unknown> = (v) => v): DeploymentPlan {
  const raw = readStackFile(path.join(root, "stacks", `Pulumi.${stack}.yaml`), stack);
  const { plan, issues } = loadPlan({ ...raw, values: patch(raw.values) });
  if (!plan) throw new Error(`stack ${stack} does not plan: ${JSON.stringify(issues)}`);
  return plan;
}

describe("worst-case daily frontier cost", () => {
  const tiers = [
    { provider: "anthropic", inputUsdPerMTok: 3, outputUsdPerMTok: 15 },
    { provider: "openai", inputUsdPerMTok: 1.25, outputUsdPerMTok: 10 },
  ];

  it("is all of the day's traffic at the first provider's price without budgets", () => {
    // 10k requests of 2000 in / 400 out at $3 / $15 per Mtok: $0.012 per request.
    const w = worstCaseDailyFrontierCost(10_000, 2000, 400, tiers);
    expect(w.unguardedUsd).toBeCloseTo(120);
    expect(w.guardedUsd).toBeCloseTo(120);
    expect(w.refusedRequests).toBe(0);
  });

  it("with budgets, each provider takes traffic until its budget is spent, the rest is refused", () => {
    const w = worstCaseDailyFrontierCost(10_000, 2000, 400, [
      { ...tiers[0]!, budgetUsdPerDay: 30 },
      { ...tiers[1]!, budgetUsdPerDay: 10 },
    ]);
    expect(w.perProvider.map((p) => p.requests)).toEqual([2500, 1539]);
    expect(w.guardedUsd).toBeCloseTo(30 + 1539 * 0.0065);
    expect(w.refusedRequests).toBe(10_000 - 2500 - 1539);
  });

  it("never loses a request and never exceeds a budget by more than one request", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(fc.record({ price: fc.double({ min: 0.01, max: 100, noNaN: true }), budget: fc.option(fc.double({ min: 0, max: 10_000, noNaN: true }), { nil: undefined }) }), { minLength: 1, maxLength: 3 }),
        (requests, ts) => {
          const input = ts.map((t, i) => ({ provider: `p${i}`, inputUsdPerMTok: t.price, outputUsdPerMTok: t.price, ...(t.budget !== undefined ? { budgetUsdPerDay: t.budget } : {}) }));
          const w = worstCaseDailyFrontierCost(requests, 1000, 100, input);
          const served = w.perProvider.reduce((s, p) => s + p.requests, 0);
          const perRequest = (t: (typeof input)[number]): number => (1100 * t.inputUsdPerMTok) / 1e6;
          return (
            served + w.refusedRequests === requests &&
            w.perProvider.every((p, i) => input[i]!.budgetUsdPerDay === undefined || p.usd <= input[i]!.budgetUsdPerDay! + perRequest(input[i]!) + 1e-9)
          );
        },
      ),
    );
  });
});

describe("frontierWorstDay on the shipped stacks, and the line plan prints", () => {
  it("prices prod's worst day by hand: the budgets cut $500 to $350 and refuse the rest", () => {
    // 3e9 tokens/month / 30 days / (2000 + 400) tokens = 41,667 requests a day.
    // anthropic: 2000 x $3 + 400 x $15 per Mtok = $0.012 a request; 250 / 0.012 -> 20,834 requests
    // (the last one admitted while the spend is still below the budget). openai: $0.0065 a
    // request; 100 / 0.0065 -> 15,385. Refused: 41,667 - 20,834 - 15,385 = 5,448.
    const w = frontierWorstDay(stackPlan("prod"))!;
    expect(w.requestsPerDay).toBe(41_667);
    expect(w.volumeBasis).toBe("traffic");
    expect(w.unguardedUsd).toBeCloseTo(500.004, 3);
    expect(w.perProvider.map((p) => [p.provider, p.requests])).toEqual([["anthropic", 20_834], ["openai", 15_385]]);
    expect(w.guardedUsd).toBeCloseTo(20_834 * 0.012 + 15_385 * 0.0065, 6);
    expect(w.refusedRequests).toBe(5_448);
    expect(planSummary(stackPlan("prod"))).toContain(
      "Worst day every request fails over to the frontier (41,667 requests, the stated traffic): $500.00 without the budgets, $350.01 with them " +
        "(anthropic 20,834 requests $250.01, openai 15,385 requests $100.00; 5,448 refused with 429)",
    );
    // plan.md, what the pull request shows: the same line, inside its costs section.
    const plan = stackPlan("prod");
    const md = planMarkdown({ plan, rendering: renderTarget(plan), issues: [], resources: [] });
    const costs = md.slice(md.indexOf("#### Costs"));
    expect(costs).toContain("Worst day every request fails over to the frontier (41,667 requests, the stated traffic): $500.00 without the budgets, $350.01 with them");
  });

  it("says no budget caps it when none is set, and takes the hosts' capacity as the day's volume when no traffic is stated", () => {
    const plan = stackPlan("staging");
    const w = frontierWorstDay(plan)!;
    expect(w.volumeBasis).toBe("capacity");
    const capacity = plan.hosts.reduce((s, h) => s + h.capacity.tokensPerMonth, 0);
    expect(w.requestsPerDay).toBe(Math.round(capacity / 30 / (plan.spec.traffic.avg_input_tokens + plan.spec.traffic.avg_output_tokens)));
    expect(w.guardedUsd).toBeCloseTo(w.unguardedUsd, 9);
    expect(planSummary(plan)).toMatch(/^Worst day every request fails over to the frontier \([\d,]+ requests, the hosts' capacity\): \$[\d,]+\.\d\d, no budget_usd_per_day caps it$/m);
  });

  it("has no worst day without a frontier tier", () => {
    const plan = stackPlan("dev");
    expect(plan.spec.router.frontier).toEqual([]);
    expect(frontierWorstDay(plan)).toBeNull();
    expect(planSummary(plan)).not.toContain("Worst day");
  });

  it("counts a provider listed twice once, at its first model's price, as the guard keeps one total per provider", () => {
    const plan = stackPlan("prod", (v) => {
      const router = v["router"] as { frontier: Record<string, unknown>[] };
      const again = { provider: "anthropic", model: "claude-opus-4-5", api_key_secret: "anthropicApiKey", budget_usd_per_day: 500 };
      return { ...v, router: { ...router, frontier: [...router.frontier, again] } };
    });
    const w = frontierWorstDay(plan)!;
    // The guard keeps the smaller of the two anthropic budgets (core/plan/router-policy.ts).
    expect(w.perProvider.map((p) => [p.provider, p.requests])).toEqual([["anthropic", 20_834], ["openai", 15_385]]);
  });

  it("names a frontier model without a catalog price instead of pricing it at $0", () => {
    const plan = stackPlan("prod", (v) => {
      const router = v["router"] as { frontier: Record<string, unknown>[] };
      return { ...v, router: { ...router, frontier: [router.frontier[0], { ...router.frontier[1], model: "gpt-9-preview" }] } };
    });
    const w = frontierWorstDay(plan)!;
    expect(w.unpriced).toEqual(["gpt-9-preview"]);
    expect(w.perProvider.map((p) => p.provider)).toEqual(["anthropic"]);
    expect(planSummary(plan)).toContain("; not priced (no catalog price): gpt-9-preview");
  });
});
