/**
 * The GPU host configurations that can serve a model, each with what one host carries,
 * from the fit planner and the capacity model.
 *
 * Engine settings are the stack file's defaults with at least `min_context` tokens of
 * context, so a tier here is a tier a stack file with those defaults would get. Fine-tunes
 * reserve LoRA slots (as many as the engine would by default, at rank 16), which costs KV
 * cache and so capacity, as in a deployed stack.
 */
import { GPUS } from "../catalog";
import type { ModelSpec } from "../catalog/types";
import { ASSUMED_FINE_TUNE_RANK, MODEL_DEFAULTS } from "../config/defaults";
import { SECONDS_PER_MONTH } from "../plan/capacity";
import { defaultMaxLoras } from "../plan/engine";
import { QUANTIZATION_PREFERENCE, fitBest } from "../plan/fit";
import { type RequestShape, defaultFitSettings, fitRequest, replicaCapacity } from "../plan/hosts";
import { weightBytes } from "../plan/memory";
import { hostRentGbp } from "./rent";
import type { GpuTier } from "./types";

/** Card counts per host considered: the 1-, 2- and 4-card servers UK hosts rent out. */
export const CARD_COUNTS = [1, 2, 4] as const;

export type { RequestShape };

/** Splits an average request of `requestTokens` by the share of input tokens. */
export function requestShape(requestTokens: number, inputShare: number): RequestShape {
  const avgInputTokens = Math.max(1, Math.round(requestTokens * inputShare));
  return { avgInputTokens, avgOutputTokens: Math.max(1, requestTokens - avgInputTokens) };
}

/**
 * Every (GPU, card count) that fits the model, with its capacity and rent, fitted and sized by
 * the same functions the planner uses for a stack file with the defaults (core/config/defaults.ts).
 */
export function gpuTiers(model: ModelSpec, shape: RequestShape, fineTunes: number): GpuTier[] {
  const settings = defaultFitSettings(defaultMaxLoras(fineTunes), ASSUMED_FINE_TUNE_RANK);
  const context = Math.min(MODEL_DEFAULTS.min_context, model.maxContext);
  const tiers: GpuTier[] = [];
  for (const gpu of GPUS) {
    for (const gpuCount of CARD_COUNTS) {
      const rentGbp = hostRentGbp(gpu.id, gpuCount);
      if (rentGbp === undefined) continue;
      const outcome = fitBest(fitRequest(model, gpu, gpuCount, settings, context), QUANTIZATION_PREFERENCE);
      if (!outcome.fits) continue;
      const { fit } = outcome;
      const capacity = replicaCapacity(model, fit, gpu, weightBytes(model, fit.quantization, fit.variant), settings, shape, 1, fit.replicas);
      tiers.push({
        gpu: gpu.id, gpuCount, quantization: fit.quantization, tensorParallel: fit.tensorParallel, replicas: fit.replicas,
        contextTokens: fit.longestContext, rentGbp,
        decodeTokensPerSecond: capacity.decodeTokensPerSecond,
        singleStreamTokensPerSecond: capacity.singleStreamTokensPerSecond,
        // routerTpm is per minute; a 30-day month has SECONDS_PER_MONTH / 60 minutes.
        peakTokensPerMonth: capacity.routerTpm * (SECONDS_PER_MONTH / 60),
        latency: { slo: capacity.slo, curve: capacity.curve, operatingPoint: capacity.operatingPoint, saturation: capacity.saturation, maxConcurrency: capacity.maxConcurrency },
      });
    }
  }
  return tiers;
}

/** One tier per GPU: the fewest cards that fit (for the tokens/s chart). */
export function smallestTierPerGpu(tiers: readonly GpuTier[]): GpuTier[] {
  const out = new Map<string, GpuTier>();
  for (const t of tiers) {
    const seen = out.get(t.gpu);
    if (!seen || t.gpuCount < seen.gpuCount) out.set(t.gpu, t);
  }
  return [...out.values()];
}
