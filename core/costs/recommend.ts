/**
 * The decision matrix as code: which serving pattern, on which GPU tier, and why.
 *
 * Every pattern is costed (core/costs/patterns.ts); then the ones the request rules out are
 * set aside, and the cheapest of the rest is recommended:
 *  - residency uk: managed and frontier alone send every token outside the UK; a hybrid
 *    must keep at least half of all tokens on UK hosts (UK_MIN_SELF_HOSTED_SHARE);
 *  - a hard share > 0: hard queries need a frontier model, so only patterns that route them
 *    there qualify (hybrid, frontier), unless residency uk leaves none, in which case the
 *    self-hosted model serves them;
 *  - fine-tunes: frontier APIs cannot serve your open-weight adapters.
 * Traffic shape, volume and fine-tunes act through the costs themselves: peaks need hosts,
 * volume spreads rent, adapters cost ops time per provider.
 */
import { breakEven } from "./break-even";
import { bestHybrid, bestSelfHosted, frontierCost, managedCost } from "./patterns";
import { buildReasons } from "./reasons";
import { type CostSetup, type RecommendInput, prepare } from "./setup";
import { PEAK_TO_AVERAGE } from "./shape";
import type { Eligibility, Recommendation } from "./recommendation";
import { smallestTierPerGpu } from "./tiers";
import { PATTERNS, type PatternCost, type PatternKind } from "./types";

/** Every pattern's cost at `tokens` tokens/month under the setup's constraints. */
export function patternCosts(setup: CostSetup, tokens: number): Record<PatternKind, PatternCost> {
  return {
    "self-hosted": bestSelfHosted(tokens, setup.tiers, setup.ctx),
    managed: managedCost(tokens, setup.ctx),
    frontier: frontierCost(tokens, setup.ctx),
    hybrid: bestHybrid(tokens, setup.tiers, setup.ctx, setup.hybridConstraint),
  };
}

const OK: Eligibility = { eligible: true, why: null };
const no = (why: string): Eligibility => ({ eligible: false, why });

export function eligibility(setup: CostSetup, costs: Record<PatternKind, PatternCost>): Record<PatternKind, Eligibility> {
  const { input } = setup;
  const uk = input.residency === "uk";
  const hard = input.hardShare > 0;
  const hardWhy = `serves the ${Math.round(input.hardShare * 100)}% hard queries with the open model instead of a frontier model`;
  const out: Record<PatternKind, Eligibility> = {
    "self-hosted": !costs["self-hosted"].available ? no(costs["self-hosted"].unavailableReason!) : hard ? no(hardWhy) : OK,
    managed: !costs.managed.available ? no(costs.managed.unavailableReason!)
      : uk ? no("residency uk: the managed API processes every token outside the UK")
      : hard ? no(hardWhy) : OK,
    frontier: uk ? no("residency uk: the frontier API processes every token outside the UK")
      : input.fineTunes > 0 ? no(`frontier APIs cannot serve your ${input.fineTunes} open-weight fine-tune${input.fineTunes > 1 ? "s" : ""}`) : OK,
    hybrid: !costs.hybrid.available ? no(costs.hybrid.unavailableReason!) : OK,
  };
  if (!PATTERNS.some((p) => out[p].eligible) && costs["self-hosted"].available) {
    // Residency uk with too many hard queries for a UK-bulk hybrid: nothing routes them to a
    // frontier model lawfully, so the self-hosted model serves them.
    out["self-hosted"] = OK;
  }
  return out;
}

export function recommend(input: RecommendInput): Recommendation {
  return recommendWith(prepare(input));
}

/** The decision for a prepared setup (tests pass hand-made tiers and prices here). */
export function recommendWith(setup: CostSetup): Recommendation {
  const T = setup.input.tokensPerMonth;
  const costs = patternCosts(setup, T);
  const elig = eligibility(setup, costs);
  const candidates = PATTERNS.filter((p) => elig[p].eligible);
  const pool = candidates.length > 0 ? candidates : PATTERNS.filter((p) => costs[p].available);
  // PATTERNS order breaks ties: the simpler pattern wins an exact tie.
  const pattern = pool.reduce((best, p) => (costs[p].total < costs[best].total ? p : best), pool[0]!);
  const chosen = costs[pattern];
  const selfTierSource = chosen.hosts > 0 ? chosen : costs["self-hosted"];
  const be = breakEven(setup.tiers, setup.ctx);
  const { tiers, model, ...rest } = setup;
  const rec: Omit<Recommendation, "reasons"> = {
    setup: { ...rest, model: { id: model.id, displayName: model.displayName } },
    peakFactor: PEAK_TO_AVERAGE[setup.input.shape],
    pattern,
    shares: chosen.shares,
    tier: selfTierSource.tier,
    hosts: selfTierSource.hosts,
    costs,
    eligibility: elig,
    breakEven: be,
    tiers: smallestTierPerGpu(tiers).sort((a, b) => b.decodeTokensPerSecond - a.decodeTokensPerSecond),
  };
  return { ...rec, reasons: buildReasons(rec) };
}

export interface CurvePoint {
  readonly tokensPerMonth: number;
  /** Total GBP/month of each pattern; null where the pattern is unavailable. */
  readonly totals: Readonly<Record<PatternKind, number | null>>;
}

/** Each pattern's total at each volume, for the cost-vs-volume chart. */
export function costCurves(input: RecommendInput | CostSetup, volumes: readonly number[]): CurvePoint[] {
  const setup = "ctx" in input ? input : prepare(input);
  return volumes.map((v) => {
    const costs = patternCosts(setup, v);
    const totals = Object.fromEntries(PATTERNS.map((p) => [p, costs[p].available ? costs[p].total : null])) as Record<PatternKind, number | null>;
    return { tokensPerMonth: v, totals };
  });
}
