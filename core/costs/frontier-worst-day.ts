/**
 * The frontier bill on the worst day: every request the stack serves fails over to the
 * frontier tier (engines and managed tier down all day), with and without the spend guard
 * (`router.frontier[].budget_usd_per_day`, enforced per provider by the router extension).
 * `plan` prints it beside the budgets, so a reviewer sees what a budget caps before choosing it.
 */
import { findFrontierPrice } from "./prices-lookup";
import type { DeploymentPlan } from "../plan/types";

export interface FrontierCostTier {
  readonly provider: string;
  readonly inputUsdPerMTok: number;
  readonly outputUsdPerMTok: number;
  /** The stack's daily budget for this provider; undefined: unlimited. */
  readonly budgetUsdPerDay?: number;
}

export interface FrontierWorstCase {
  /** Everything the stack serves in a day, answered by the first frontier provider. */
  readonly unguardedUsd: number;
  /** The same with the budgets: each provider takes traffic until its budget is spent, in fallback order. */
  readonly guardedUsd: number;
  readonly perProvider: readonly { readonly provider: string; readonly requests: number; readonly usd: number }[];
  /** Requests refused (429) once every provider's budget is spent. */
  readonly refusedRequests: number;
}

/**
 * The daily frontier bill if every request of the day failed over to the frontier tier
 * (engines and managed tier down all day). Requests tagged to override the budget are not
 * bounded by it and are not modelled here.
 */
export function worstCaseDailyFrontierCost(requestsPerDay: number, avgInputTokens: number, avgOutputTokens: number, tiers: readonly FrontierCostTier[]): FrontierWorstCase {
  const perRequest = (t: FrontierCostTier): number => (avgInputTokens * t.inputUsdPerMTok + avgOutputTokens * t.outputUsdPerMTok) / 1e6;
  const first = tiers[0];
  const unguardedUsd = first ? requestsPerDay * perRequest(first) : 0;
  let remaining = Math.max(0, requestsPerDay);
  const perProvider: { provider: string; requests: number; usd: number }[] = [];
  for (const t of tiers) {
    const cost = perRequest(t);
    // A request is admitted while the day's spend is below the budget, so the last one
    // admitted can overshoot it by one request's cost.
    const affordable = t.budgetUsdPerDay === undefined || cost === 0 ? remaining : Math.min(remaining, Math.ceil(t.budgetUsdPerDay / cost));
    perProvider.push({ provider: t.provider, requests: affordable, usd: affordable * cost });
    remaining -= affordable;
  }
  return { unguardedUsd, guardedUsd: perProvider.reduce((s, p) => s + p.usd, 0), perProvider, refusedRequests: remaining };
}

/** The worst day for a planned stack, and what it was computed from. */
export interface FrontierWorstDay extends FrontierWorstCase {
  /** The day's volume: `traffic.tokens_per_month` / 30 when stated, else the hosts' capacity / 30. */
  readonly requestsPerDay: number;
  readonly volumeBasis: "traffic" | "capacity";
  /** Frontier models without a catalog price: left out of the sums (empty when all are priced). */
  readonly unpriced: readonly string[];
}

const DAYS_PER_MONTH = 30;

/**
 * null when the stack has no frontier tier. A provider listed twice is counted once, at its
 * first model's price: the guard keeps one spend total per provider, and skips the provider,
 * whichever of its tiers a request would use, once that total reaches the budget.
 */
export function frontierWorstDay(plan: DeploymentPlan): FrontierWorstDay | null {
  const { spec } = plan;
  if (spec.router.frontier.length === 0) return null;
  const tokensPerMonth = spec.traffic.tokens_per_month ?? plan.hosts.reduce((s, h) => s + h.capacity.tokensPerMonth, 0);
  const volumeBasis = spec.traffic.tokens_per_month === undefined ? "capacity" : "traffic";
  const requestsPerDay = Math.round(tokensPerMonth / DAYS_PER_MONTH / (spec.traffic.avg_input_tokens + spec.traffic.avg_output_tokens));
  const budgets = plan.router.policy.frontierBudgetUsdPerDay;
  const tiers: FrontierCostTier[] = [];
  const unpriced: string[] = [];
  const seen = new Set<string>();
  spec.router.frontier.forEach((f, i) => {
    const provider = plan.router.frontier[i]!.provider;
    if (seen.has(provider)) return;
    seen.add(provider);
    const price = findFrontierPrice(f.model);
    if (!price) {
      unpriced.push(f.model);
      return;
    }
    const budget = budgets[provider];
    tiers.push({ provider, inputUsdPerMTok: price.inputUsdPerMTok, outputUsdPerMTok: price.outputUsdPerMTok, ...(budget !== undefined ? { budgetUsdPerDay: budget } : {}) });
  });
  const worst = worstCaseDailyFrontierCost(requestsPerDay, spec.traffic.avg_input_tokens, spec.traffic.avg_output_tokens, tiers);
  return { ...worst, requestsPerDay, volumeBasis, unpriced };
}

const usd = (n: number): string => `$${n.toLocaleString("en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const count = (n: number): string => Math.round(n).toLocaleString("en-GB");

/**
 * The worst day as one line of the plan report (the terminal, plan.txt and plan.md's costs):
 * what the frontier tier costs, and what the budgets cap; null without a frontier tier.
 */
export function frontierWorstDayLine(plan: DeploymentPlan): string | null {
  const w = frontierWorstDay(plan);
  if (!w) return null;
  const head = `Worst day every request fails over to the frontier (${count(w.requestsPerDay)} requests, ${w.volumeBasis === "traffic" ? "the stated traffic" : "the hosts' capacity"})`;
  const unpriced = w.unpriced.length > 0 ? `; not priced (no catalog price): ${w.unpriced.join(", ")}` : "";
  if (Object.keys(plan.router.policy.frontierBudgetUsdPerDay).length === 0) return `${head}: ${usd(w.unguardedUsd)}, no budget_usd_per_day caps it${unpriced}`;
  const parts = w.perProvider.map((p) => `${p.provider} ${count(p.requests)} requests ${usd(p.usd)}`).join(", ");
  return `${head}: ${usd(w.unguardedUsd)} without the budgets, ${usd(w.guardedUsd)} with them (${parts}; ${count(w.refusedRequests)} refused with 429)${unpriced}`;
}
