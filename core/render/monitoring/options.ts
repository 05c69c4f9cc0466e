/**
 * The monitoring plan as every renderer reads it: `monitoringPlan` (core/plan/monitoring.ts) with
 * the inputs that live outside the stack's `monitoring` keys. Today that is the frontier budget,
 * which the router extension owns: on its branch (issue 13, router-ext) it is
 * `RouterExtensionInput.frontierBudget.usdPerDay` (core/render/router-extension.ts there, built by
 * `routerExtensionInput(plan, options)`; no stack-file key yet). When that merges, the wiring is one
 * line in `monitoringOptions`: `return budgetOptions(routerExtensionInput(plan));`.
 */
import { type MonitoringPlan, type MonitoringPlanOptions, monitoringPlan } from "../../plan/monitoring";
import type { DeploymentPlan } from "../../plan/types";

/** What the monitoring reads of the router extension's input (structurally its `RouterExtensionInput`). */
export interface RouterBudgetSource {
  readonly frontierBudget: { readonly usdPerDay: Readonly<Record<string, number>> };
}

/** The router extension's daily frontier budgets, as the monitoring's option (one spend alert per provider). */
export function budgetOptions(source: RouterBudgetSource): MonitoringPlanOptions {
  return { frontierBudgetUsdPerDay: { ...source.frontierBudget.usdPerDay } };
}

/** Options from outside the monitoring keys; none until the router extension merges (see above). */
export function monitoringOptions(plan: DeploymentPlan): MonitoringPlanOptions {
  void plan;
  return {};
}

/** The monitoring plan every renderer uses; `overrides` (tests, callers with a budget) win. */
export function planMonitoring(plan: DeploymentPlan, overrides: MonitoringPlanOptions = {}): MonitoringPlan {
  return monitoringPlan(plan, { ...monitoringOptions(plan), ...overrides });
}
