/**
 * Costs in the plan report, for the shipped stacks. Prices: core/catalog/prices.ts
 * (USD 1.3668 per GBP, engineer £9,000/month = £55.3846/h).
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readStackFile } from "../../core/config/source";
import { costSection, planCosts } from "../../core/costs/plan-costs";
import { gbp } from "../../core/costs/format";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";

const root = path.join(__dirname, "..", "..");

function stackPlan(stack: string): DeploymentPlan {
  const { plan, issues } = loadPlan(readStackFile(path.join(root, "stacks", `Pulumi.${stack}.yaml`), stack));
  if (!plan) throw new Error(`stack ${stack} does not plan: ${JSON.stringify(issues)}`);
  return plan;
}

describe("planCosts", () => {
  it("prices the prod stack by hand", () => {
    // prod: 2 hosts of 2x rtx-5090, 3B tokens/month, requests 2,000 in / 400 out (input share 5/6),
    // managed together_ai Llama 3.3 70B Turbo $0.88/$0.88, frontier claude-sonnet-4-5 $3/$15.
    const plan = stackPlan("prod");
    const c = planCosts(plan);
    expect(c.tokensBasis).toBe("stated");
    expect(c.tokensPerMonth).toBe(3e9);
    expect(c.inputShare).toBeCloseTo(5 / 6, 10);
    const [self, managed, frontier] = c.lines;
    // rent: 2 hosts x 2 cards x £399 = £1,596. The hosts carry what their SLO operating point
    // allows (about 1.1B tokens/month each at 60% utilisation), the rest spills to the managed
    // tier: ops 12 + 3 x 2 = 18 h, + 1 h for the managed tier and 3 h of routing = 22 h.
    const capacity = plan.hosts.reduce((sum, h) => sum + h.capacity.tokensPerMonth, 0);
    expect(capacity).toBeLessThan(3e9);
    expect(self!.parts.rent).toBe(1596);
    expect(self!.opsHours).toBe(22);
    expect(self!.parts.ops).toBeCloseTo(22 * (9000 / 162.5), 6);
    expect(self!.parts.managedTokens).toBeCloseTo(((3e9 - capacity) / 1e6) * (0.88 / 1.3668), 3);
    // managed: 3,000 M tokens x $0.88 / 1.3668 = £1,931.52; ops 1 h
    expect(managed!.parts.managedTokens).toBeCloseTo((3000 * 0.88) / 1.3668, 6);
    expect(managed!.opsHours).toBe(1);
    // frontier: blended $ (5/6 x 3 + 1/6 x 15) = $5.00 per M -> 3,000 x 5 / 1.3668 = £10,974.54
    expect(frontier!.parts.frontierTokens).toBeCloseTo((3000 * 5) / 1.3668, 6);
    expect(c.managedPrice?.provider).toBe("together_ai");
    expect(c.frontierPrice.id).toBe("claude-sonnet-4-5");
  });

  it("costs the hosts' own capacity when tokens_per_month is not stated, and says so", () => {
    const plan = stackPlan("dev");
    const c = planCosts(plan);
    expect(c.tokensBasis).toBe("capacity");
    expect(c.tokensPerMonth).toBeCloseTo(plan.hosts.reduce((s, h) => s + h.capacity.tokensPerMonth, 0), 3);
    expect(c.notes.join("\n")).toMatch(/tokens_per_month is not set/);
    // dev serves one adapter: +1 h self-hosted, +2 h on the managed API.
    expect(c.lines[0]!.opsHours).toBe(12 + 3 + 1);
    expect(c.lines[1]!.opsHours).toBe(1 + 2);
  });

  it("falls back to another provider's price for the same weights, and says so", () => {
    // staging: Mistral Small 24B at together_ai, which the catalog has no price for.
    const c = planCosts(stackPlan("staging"));
    expect(c.managedPrice?.provider).toBe("fireworks_ai");
    expect(c.notes.join("\n")).toMatch(/no catalog price for together_ai .*priced at fireworks_ai/);
  });

  it("adds managed spill above the hosts' capacity to the self-hosted line", () => {
    const plan = stackPlan("prod");
    const busy: DeploymentPlan = { ...plan, spec: { ...plan.spec, traffic: { ...plan.spec.traffic, tokens_per_month: 1e12 } } };
    const c = planCosts(busy);
    const capacity = plan.hosts.reduce((s, h) => s + h.capacity.tokensPerMonth, 0);
    expect(c.spillTokensPerMonth).toBeCloseTo(1e12 - capacity, 0);
    expect(c.lines[0]!.parts.managedTokens).toBeCloseTo(((1e12 - capacity) / 1e6) * (0.88 / 1.3668), 3);
    expect(c.lines[0]!.opsHours).toBe(18 + 1 + 3); // + the managed tier + routing
  });

  it("takes the engineer cost and exchange rate as options", () => {
    const c = planCosts(stackPlan("prod"), { engineerGbpPerMonth: 0, usdPerGbp: 1 });
    expect(c.lines.every((l) => l.parts.ops === 0)).toBe(true);
    expect(c.lines[1]!.parts.managedTokens).toBeCloseTo(3000 * 0.88, 6);
  });
});

describe("costSection", () => {
  it.each(["dev", "staging", "prod"])("prints the same numbers as planCosts for %s", (stack) => {
    const plan = stackPlan(stack);
    const text = costSection(plan);
    const c = planCosts(plan);
    expect(text).toMatch(/^Costs per month \(GBP; estimate\)/);
    for (const l of c.lines) {
      const row = text.split("\n").find((line) => line.startsWith(l.label));
      expect(row, l.label).toBeDefined();
      expect(row).toContain(gbp(l.total));
      expect(row).toContain(`(${l.opsHours} h)`);
    }
    for (const n of c.notes) expect(text).toContain(`note: ${n}`);
  });

  it("points out under residency uk that the self-hosted line is the one that applies", () => {
    expect(costSection(stackPlan("prod"))).toMatch(/residency uk keeps the bulk on UK hosts/);
  });
});
