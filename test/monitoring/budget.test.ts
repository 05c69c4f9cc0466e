/**
 * The frontier budget is one figure: the router extension refuses past it, and the monitoring's
 * spend alert fires at it. Both read `plan.router.policy` (router.frontier[].budget_usd_per_day).
 */
import { describe, expect, it } from "vitest";
import { planMonitoring } from "../../core/render/monitoring/options";
import { monitoringRules } from "../../core/render/monitoring/rules";
import { renderRouter } from "../../core/render/router-config";
import { renderTarget } from "../../core/render/target";
import { planOf } from "./plans";

describe("the frontier budget, enforced and alerted from one figure", () => {
  const plan = planOf("prod");

  it("plans the shipped prod stack's daily budgets per provider", () => {
    expect(plan.router.policy.frontierBudgetUsdPerDay).toEqual({ anthropic: 250, openai: 100 });
  });

  it("alerts on each provider's spend above that budget, in the rules prod deploys", () => {
    const mp = planMonitoring(plan);
    expect(mp.frontierBudgetUsdPerDay).toEqual(plan.router.policy.frontierBudgetUsdPerDay);
    const alerts = monitoringRules(plan, mp).alerts.filter((a) => a.alert === "FrontierSpendAboveBudget");
    expect(alerts.map((a) => a.expr).sort()).toEqual([expect.stringMatching(/provider="anthropic"\} > 250$/), expect.stringMatching(/provider="openai"\} > 100$/)]);
    expect(renderTarget(plan).files["monitoring/rules.yml"]).toContain("FrontierSpendAboveBudget");
  });

  it("gives the router extension the same budgets (one router on the docker target: the whole budget)", () => {
    expect(renderRouter(plan).extension.settings.budget.usd_per_day).toEqual({ anthropic: 250, openai: 100 });
  });
});
