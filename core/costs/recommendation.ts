/**
 * What `recommend` answers, as data: the pattern to run, its tier and hosts, every pattern's
 * cost and eligibility, the break-even and the reasons in words. A module of its own so the
 * reasons (reasons.ts) and the recommendation (recommend.ts) both read it without importing
 * each other.
 */
import type { BreakEven } from "./break-even";
import type { CostSetup } from "./setup";
import type { GpuTier, PatternCost, PatternKind, TierShares } from "./types";

export interface Eligibility {
  readonly eligible: boolean;
  /** Why a pattern is set aside (null when eligible). */
  readonly why: string | null;
}

export interface Recommendation {
  readonly setup: Omit<CostSetup, "tiers" | "model"> & { readonly model: { readonly id: string; readonly displayName: string } };
  readonly peakFactor: number;
  readonly pattern: PatternKind;
  readonly shares: TierShares;
  /** GPU tier and hosts of the recommended pattern's self-hosting, else of the cheapest self-hosted option. */
  readonly tier: GpuTier | null;
  readonly hosts: number;
  readonly costs: Readonly<Record<PatternKind, PatternCost>>;
  readonly eligibility: Readonly<Record<PatternKind, Eligibility>>;
  readonly breakEven: BreakEven;
  /** The fewest-card tier per GPU that serves the model, fastest first (for the tokens/s chart). */
  readonly tiers: readonly GpuTier[];
  readonly reasons: readonly string[];
}

