/** Hand-made cost setups: round prices and one synthetic GPU tier, so answers can be worked out by hand. */
import { FRONTIER_PRICES, MANAGED_PRICES } from "../../core/catalog/prices";
import { requireModel } from "../../core/catalog";
import type { CostSetup } from "../../core/costs/setup";
import type { GpuTier, TrafficShape } from "../../core/costs/types";

/** £300/month, carries 3B tokens/month at peak (2B/month average under a steady 1.5x peak). */
export const TIER: GpuTier = {
  gpu: "rtx-4090", gpuCount: 1, quantization: "bf16", tensorParallel: 1, replicas: 1, contextTokens: 32768, rentGbp: 300,
  decodeTokensPerSecond: 1000, singleStreamTokensPerSecond: 100, peakTokensPerMonth: 3e9,
};

export interface HandSetup {
  readonly tokensPerMonth: number;
  readonly shape?: TrafficShape;
  readonly residency?: "uk" | "none";
  readonly hardShare?: number;
  readonly fineTunes?: number;
  /** GBP per token; default £0.50 per 1M. */
  readonly managedGbpPerToken?: number | null;
  readonly frontierGbpPerToken?: number;
  readonly engineerGbpPerHour?: number;
  readonly tiers?: readonly GpuTier[];
}

/**
 * Engineer £100/h (£16,250/month over 162.5 h), managed £0.50 per 1M tokens, frontier £5 per
 * 1M tokens (both already in GBP: usdPerGbp 1), one tier: TIER.
 */
export function handSetup(h: HandSetup): CostSetup {
  const shape = h.shape ?? "steady";
  const residency = h.residency ?? "none";
  const hardShare = h.hardShare ?? 0;
  const fineTunes = h.fineTunes ?? 0;
  const rate = h.engineerGbpPerHour ?? 100;
  return {
    input: {
      model: "qwen2.5-7b-instruct", tokensPerMonth: h.tokensPerMonth, inputShare: 0.75, requestTokens: 1300, shape, residency, hardShare, fineTunes,
      engineerGbpPerMonth: rate * 162.5, usdPerGbp: 1, managedProvider: null, frontierModel: "claude-sonnet-4-5",
    },
    model: requireModel("qwen2.5-7b-instruct"),
    request: { avgInputTokens: 975, avgOutputTokens: 325 },
    managed: MANAGED_PRICES.find((p) => p.model === "qwen2.5-7b-instruct" && p.provider === "together_ai")!,
    managedChoice: { chosen: MANAGED_PRICES.find((p) => p.model === "qwen2.5-7b-instruct" && p.provider === "together_ai")!, basis: "asked", alternatives: [] },
    frontier: FRONTIER_PRICES.find((p) => p.id === "claude-sonnet-4-5")!,
    ctx: {
      shape, inputShare: 0.75, hardShare, fineTunes, engineerGbpPerHour: rate, usdPerGbp: 1,
      managedGbpPerToken: h.managedGbpPerToken === undefined ? 5e-7 : h.managedGbpPerToken,
      frontierGbpPerToken: h.frontierGbpPerToken ?? 5e-6,
    },
    tiers: h.tiers ?? [TIER],
    hybridConstraint: residency === "uk" ? { minSelfHostedShare: 0.5 } : null,
  };
}
