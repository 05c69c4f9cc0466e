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
    expect(c.managed.price?.provider).toBe("together_ai");
    expect(c.managed.basis).toBe("asked");
    // The other providers of the same weights come along, cheapest first: DeepInfra $0.23/$0.40, Fireworks $0.90.
    expect(c.managed.alternatives.map((a) => a.provider)).toEqual(["deepinfra", "fireworks_ai"]);
    expect(c.managed.alternatives[0]!.gbpPerMTok).toBeCloseTo(((5 / 6) * 0.23 + (1 / 6) * 0.4) / 1.3668, 6);
    expect(c.frontierPrice.id).toBe("claude-sonnet-4-5");
  });

  it("gives rates, not a bill at full capacity, when tokens_per_month is not stated", () => {
    // dev: 1 host of 1x rtx-4090 (£289), one adapter: ops 12 + 3 + 1 = 16 h at £9,000 / 162.5 h.
    const plan = stackPlan("dev");
    expect(plan.spec.traffic.tokens_per_month).toBeUndefined();
    const c = planCosts(plan);
    expect(c.tokensPerMonth).toBeNull();
    expect(c.lines).toEqual([]);
    const rate = 9000 / 162.5;
    expect(c.rates.rentGbpPerMonth).toBe(289);
    expect(c.rates.selfHostedOpsHours).toBe(16);
    expect(c.rates.selfHostedGbpPerMonth).toBeCloseTo(289 + 16 * rate, 6);
    const capacity = plan.hosts[0]!.capacity.tokensPerMonth;
    expect(c.rates.selfHostedGbpPerMTokAtCapacity).toBeCloseTo(((289 + 16 * rate) / capacity) * 1e6, 6);
    // The stack's managed tier is Together's Qwen 7B Turbo, $0.30 in and out; + 2 h per adapter on a managed API.
    expect(c.rates.managedGbpPerMTok).toBeCloseTo(0.3 / 1.3668, 9);
    expect(c.rates.managedOpsHours).toBe(1 + 2);
    // Break-even: the volume at which Together alone costs what the host costs.
    expect(c.rates.breakEvenTokensPerMonth!).toBeCloseTo(((289 + 16 * rate - 3 * rate) / (0.3 / 1.3668)) * 1e6, 0);
    const text = costSection(plan);
    expect(text).toMatch(/^Costs \(GBP; estimate\): traffic\.tokens_per_month is not set, so these are rates, not a monthly bill/);
    expect(text).not.toMatch(/Costs per month/);
    expect(text).toMatch(new RegExp(`self-hosted +${gbp(289 + 16 * rate).replace(",", ",")} \\(rent £289`));
    expect(text).toContain("£0.22/M");
    expect(text).toMatch(/Managed price: together_ai Qwen\/Qwen2\.5-7B-Instruct-Turbo £0\.22\/M \(the stack's managed tier\); alternatives: deepinfra £0\.02\/M, fireworks_ai £0\.15\/M/);
  });

  it("falls back to another provider's price for the same weights, and says so", () => {
    // staging: Mistral Small 24B at together_ai, which the catalog has no price for.
    const c = planCosts(stackPlan("staging"));
    expect(c.managed.price?.provider).toBe("fireworks_ai");
    expect(c.managed.basis).toBe("asked-unpriced");
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
  it.each(["dev", "staging"])("prints the rates planCosts gives for %s, which states no volume", (stack) => {
    const plan = stackPlan(stack);
    const c = planCosts(plan);
    expect(c.tokensPerMonth).toBeNull();
    const text = costSection(plan);
    expect(text).toContain(gbp(c.rates.selfHostedGbpPerMonth));
    expect(text).toContain(`£${c.rates.managedGbpPerMTok!.toFixed(2)}/M`);
    expect(text).toContain(`£${c.rates.frontierGbpPerMTok.toFixed(2)}/M`);
    for (const n of c.notes) expect(text).toContain(`note: ${n}`);
  });

  it.each(["prod"])("prints the same numbers as planCosts for %s", (stack) => {
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

  it.each(["dev", "staging", "prod"])("lists every cost assumption for %s, multi-card rent included", (stack) => {
    const plan = stackPlan(stack);
    const text = costSection(plan);
    for (const a of planCosts(plan).assumptions) expect(text).toContain(`- ${a}`);
    expect(text).toContain("a host with n cards is priced as n one-card hosts");
    if (stack === "prod") expect(text).toContain("2x rtx-5090 = 2 x £399");
  });

  it("points out under residency uk that the self-hosted line is the one that applies", () => {
    expect(costSection(stackPlan("prod"))).toMatch(/residency uk keeps the bulk on UK hosts/);
  });
});
