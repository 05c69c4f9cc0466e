/**
 * The monitoring plan as every renderer reads it: `monitoringPlan` (core/plan/monitoring.ts) with
 * the inputs that live outside the stack's `monitoring` keys. Today that is the frontier budget
 * (`router.frontier[].budget_usd_per_day`), planned once as `plan.router.policy`; the router
 * extension enforces it and the spend alert compares the frontier spend with the same figure.
 */
import { type MonitoringPlan, type MonitoringPlanOptions, monitoringPlan } from "../../plan/monitoring";
import type { DeploymentPlan } from "../../plan/types";

/** Options from outside the monitoring keys: the stack's daily frontier budgets, the whole stack's (not one router pod's share). */
export function monitoringOptions(plan: DeploymentPlan): MonitoringPlanOptions {
  return { frontierBudgetUsdPerDay: { ...plan.router.policy.frontierBudgetUsdPerDay } };
}

/** The monitoring plan every renderer uses; `overrides` (tests, callers with a budget) win. */
export function planMonitoring(plan: DeploymentPlan, overrides: MonitoringPlanOptions = {}): MonitoringPlan {
  return monitoringPlan(plan, { ...monitoringOptions(plan), ...overrides });
}
