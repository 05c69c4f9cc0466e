/**
 * Monthly cost of each serving pattern at `tokens` tokens/month, split into parts.
 *
 *  self-hosted  hosts = max(1, ceil(tokens x f / C)), C = one host's tokens/month at peak
 *               cost  = hosts x rent + ops(hosts)
 *  managed      cost  = tokens x p_managed + ops(API tier)
 *  frontier     cost  = tokens x p_frontier + ops(API tier)
 *  hybrid       the hard share h goes to frontier; of the rest V = (1 - h) x tokens, k hosts
 *               carry what fits under k x C and the managed API takes the spill above it
 *               (core/costs/shape.ts); k is chosen to minimise the total.
 * p_* are blended GBP per token at the traffic's input share; f is the traffic shape's
 * peak-to-average factor; ops(...) is core/costs/ops.ts hours x the engineer's hourly cost.
 * Every cost is non-decreasing in `tokens` (test/costs/properties.test.ts checks it).
 */
import { PEAK_TO_AVERAGE, spillTokens } from "./shape";
import { opsHours } from "./ops";
import type { CostContext, CostParts, GpuTier, PatternCost, PatternKind, TierShares } from "./types";

const NO_PARTS: CostParts = { rent: 0, ops: 0, managedTokens: 0, frontierTokens: 0 };
const ALL_SELF: TierShares = { selfHosted: 1, managed: 0, frontier: 0 };

function total(p: CostParts): number {
  return p.rent + p.ops + p.managedTokens + p.frontierTokens;
}

function result(pattern: PatternKind, parts: CostParts, opsHoursValue: number, shares: TierShares, hosts: number, tier: GpuTier | null): PatternCost {
  return { pattern, available: true, parts, total: total(parts), opsHours: opsHoursValue, shares, hosts, tier, outsideUkShare: shares.managed + shares.frontier };
}

export function unavailable(pattern: PatternKind, reason: string): PatternCost {
  return { pattern, available: false, unavailableReason: reason, parts: NO_PARTS, total: 0, opsHours: 0, shares: ALL_SELF, hosts: 0, tier: null, outsideUkShare: 0 };
}

/** Hosts of `tier` that carry `tokens` at the shape's peak; at least one. */
export function hostsForPeak(tokens: number, tier: GpuTier, peakFactor: number): number {
  return Math.max(1, Math.ceil((tokens * peakFactor) / tier.peakTokensPerMonth));
}

export function selfHostedCost(tokens: number, tier: GpuTier, ctx: CostContext): PatternCost {
  const hosts = hostsForPeak(tokens, tier, PEAK_TO_AVERAGE[ctx.shape]);
  const hours = opsHours({ hosts, managed: false, frontier: false, fineTunes: ctx.fineTunes });
  return result("self-hosted", { ...NO_PARTS, rent: hosts * tier.rentGbp, ops: hours * ctx.engineerGbpPerHour }, hours, ALL_SELF, hosts, tier);
}

/** Orders equal totals: fewer hosts, then the catalog's order (stable across runs). */
function better(a: PatternCost, b: PatternCost | undefined): boolean {
  if (!b) return true;
  if (a.total !== b.total) return a.total < b.total;
  return a.hosts < b.hosts;
}

/** The cheapest tier to self-host on at this volume. */
export function bestSelfHosted(tokens: number, tiers: readonly GpuTier[], ctx: CostContext): PatternCost {
  let best: PatternCost | undefined;
  for (const tier of tiers) {
    const c = selfHostedCost(tokens, tier, ctx);
    if (better(c, best)) best = c;
  }
  return best ?? unavailable("self-hosted", "the model fits no GPU host configuration in the catalog");
}

export function managedCost(tokens: number, ctx: CostContext): PatternCost {
  if (ctx.managedGbpPerToken === null) return unavailable("managed", "no managed provider in the price catalog serves this model");
  const hours = opsHours({ hosts: 0, managed: true, frontier: false, fineTunes: ctx.fineTunes });
  return result("managed", { ...NO_PARTS, ops: hours * ctx.engineerGbpPerHour, managedTokens: tokens * ctx.managedGbpPerToken }, hours,
    { selfHosted: 0, managed: 1, frontier: 0 }, 0, null);
}

export function frontierCost(tokens: number, ctx: CostContext): PatternCost {
  const hours = opsHours({ hosts: 0, managed: false, frontier: true, fineTunes: 0 });
  return result("frontier", { ...NO_PARTS, ops: hours * ctx.engineerGbpPerHour, frontierTokens: tokens * ctx.frontierGbpPerToken }, hours,
    { selfHosted: 0, managed: 0, frontier: 1 }, 0, null);
}

/**
 * The hybrid with exactly `hosts` hosts of `tier` (0: managed and frontier only), or
 * undefined when that split is impossible (spill with no managed provider).
 */
export function hybridCostWith(tokens: number, tier: GpuTier | null, hosts: number, ctx: CostContext): PatternCost | undefined {
  const f = PEAK_TO_AVERAGE[ctx.shape];
  const hard = tokens * ctx.hardShare;
  const rest = tokens - hard;
  const capacity = tier === null ? 0 : hosts * tier.peakTokensPerMonth;
  const spill = spillTokens(rest, capacity, f);
  if (spill > 0 && ctx.managedGbpPerToken === null) return undefined;
  const hours = opsHours({ hosts, managed: spill > 0, frontier: hard > 0, fineTunes: ctx.fineTunes });
  const parts: CostParts = {
    rent: tier === null ? 0 : hosts * tier.rentGbp,
    ops: hours * ctx.engineerGbpPerHour,
    managedTokens: spill * (ctx.managedGbpPerToken ?? 0),
    frontierTokens: hard * ctx.frontierGbpPerToken,
  };
  const shares: TierShares = tokens > 0
    ? { selfHosted: (rest - spill) / tokens, managed: spill / tokens, frontier: hard / tokens }
    : { selfHosted: 0, managed: 0, frontier: 0 };
  return result("hybrid", parts, hours, shares, hosts, hosts > 0 ? tier : null);
}

export interface HybridConstraint {
  /** Least share of all tokens the UK hosts must serve (residency uk: the bulk). */
  readonly minSelfHostedShare: number;
}

/**
 * The cheapest hybrid over every tier and host count. Between 1 host and the host count
 * that carries the peak, the cost is rent (linear in hosts) plus managed spill (convex:
 * each extra host takes a thinner slice of the peak), so a binary search on the step
 * difference finds the minimum; 0 hosts and the full-peak count are checked on their own
 * because ops hours change there (a tier drops out).
 */
export function bestHybrid(tokens: number, tiers: readonly GpuTier[], ctx: CostContext, constraint: HybridConstraint | null): PatternCost {
  const minShare = constraint?.minSelfHostedShare ?? 0;
  const ok = (c: PatternCost | undefined): c is PatternCost => c !== undefined && c.shares.selfHosted >= minShare - 1e-12;
  let best: PatternCost | undefined;
  const consider = (c: PatternCost | undefined) => {
    if (ok(c) && better(c, best)) best = c;
  };
  consider(hybridCostWith(tokens, null, 0, ctx));
  const rest = tokens * (1 - ctx.hardShare);
  const f = PEAK_TO_AVERAGE[ctx.shape];
  for (const tier of tiers) {
    const kPeak = Math.max(1, Math.ceil((rest * f) / tier.peakTokensPerMonth));
    consider(hybridCostWith(tokens, tier, kPeak, ctx));
    if (kPeak <= 1 || ctx.managedGbpPerToken === null) continue;
    // Feasible host counts start where the UK share is met (it grows with hosts).
    let lo = 1;
    if (minShare > 0) {
      let hi = kPeak;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (ok(hybridCostWith(tokens, tier, mid, ctx))) hi = mid;
        else lo = mid + 1;
      }
    }
    let hi = kPeak - 1;
    if (lo > hi) continue;
    const at = (k: number) => hybridCostWith(tokens, tier, k, ctx)!.total;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (at(mid + 1) - at(mid) >= 0) hi = mid;
      else lo = mid + 1;
    }
    consider(hybridCostWith(tokens, tier, lo, ctx));
  }
  return best ?? unavailable("hybrid", minShare > 0
    ? `no split keeps ${Math.round(minShare * 100)}% of the tokens on UK hosts (the hard share alone is ${Math.round(ctx.hardShare * 100)}%)`
    : "no tier can serve the model and no managed provider can take the spill");
}
