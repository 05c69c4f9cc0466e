/** Types shared by the cost functions. Every amount is GBP per month unless named otherwise. */
import type { Quantization } from "../catalog/types";
import type { CapacityReport } from "../plan/capacity";

export const PATTERNS = ["self-hosted", "managed", "frontier", "hybrid"] as const;
export type PatternKind = (typeof PATTERNS)[number];

export const TRAFFIC_SHAPES = ["steady", "bursty", "experimental"] as const;
export type TrafficShape = (typeof TRAFFIC_SHAPES)[number];

/** A month's bill split by what it pays for. */
export interface CostParts {
  /** UK dedicated server rent. */
  readonly rent: number;
  /** Engineer time: hours/month x the engineer's hourly cost. */
  readonly ops: number;
  /** Per-token charges of the managed open-weight API. */
  readonly managedTokens: number;
  /** Per-token charges of the frontier API. */
  readonly frontierTokens: number;
}

/** Share of the month's tokens each tier serves; sums to 1. */
export interface TierShares {
  readonly selfHosted: number;
  readonly managed: number;
  readonly frontier: number;
}

/** A GPU host configuration that serves the model, and what one host of it carries. */
export interface GpuTier {
  readonly gpu: string;
  readonly gpuCount: number;
  readonly quantization: Quantization;
  readonly tensorParallel: number;
  readonly replicas: number;
  /**
   * The context (tokens) a stack with the defaults gets on this host: the longest one sequence
   * can hold, capped at the model's maximum (what `plan` sets as `--max-model-len`).
   */
  readonly contextTokens: number;
  readonly rentGbp: number;
  /** Output tokens/s of one host at the request shape (the capacity model's estimate). */
  readonly decodeTokensPerSecond: number;
  /** One stream's decode speed, tokens/s. */
  readonly singleStreamTokensPerSecond: number;
  /**
   * Tokens (input + output) one host serves in a 30-day month running flat out at the
   * router's limit (85% of the estimate): the rate self-hosting is sized against at peak.
   */
  readonly peakTokensPerMonth: number;
  /** One replica's latency–throughput curve and the operating point its router limit is set at (the report's curve charts). */
  readonly latency?: TierLatency;
}

/** What the report draws of a tier's capacity: one replica's curve, SLO and operating point. */
export type TierLatency = Pick<CapacityReport, "slo" | "curve" | "operatingPoint" | "saturation" | "maxConcurrency">;

export interface PatternCost {
  readonly pattern: PatternKind;
  /** False when the pattern cannot serve this model at all (then every amount is 0). */
  readonly available: boolean;
  readonly unavailableReason?: string;
  readonly parts: CostParts;
  readonly total: number;
  readonly opsHours: number;
  readonly shares: TierShares;
  /** Self-hosting hosts, 0 when the pattern self-hosts nothing. */
  readonly hosts: number;
  readonly tier: GpuTier | null;
  /** Share of tokens processed outside the UK (every API provider in the catalog is). */
  readonly outsideUkShare: number;
}

/** Everything a cost function needs besides the traffic volume. */
export interface CostContext {
  readonly shape: TrafficShape;
  /** Share of tokens that are input (prompt) tokens. */
  readonly inputShare: number;
  /** Share of requests that need a frontier model ("hard"). */
  readonly hardShare: number;
  readonly fineTunes: number;
  readonly engineerGbpPerHour: number;
  readonly usdPerGbp: number;
  /** Blended managed price, GBP per token, or null when no managed provider serves the model. */
  readonly managedGbpPerToken: number | null;
  readonly frontierGbpPerToken: number;
}
