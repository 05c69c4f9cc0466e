/**
 * The GPU host configurations that can serve a model, each with what one host carries,
 * from the fit planner (`fitBest`) and the capacity model (`estimateCapacity`).
 *
 * Engine settings are the stack defaults (vLLM, gpu_memory_utilization 0.9, max_num_seqs 64,
 * 16-bit KV cache) with at least 8192 tokens of context, so a tier here is a tier a stack
 * file with those defaults would get. Fine-tunes reserve LoRA slots (up to 4 at rank 16),
 * which costs KV cache and so capacity, as in a deployed stack.
 */
import { GPUS } from "../catalog";
import type { ModelSpec } from "../catalog/types";
import { SECONDS_PER_MONTH, estimateCapacity } from "../plan/capacity";
import { QUANTIZATION_PREFERENCE, fitBest, kvDtypeBytes } from "../plan/fit";
import { kvBytesPerToken, weightBytes } from "../plan/memory";
import { hostRentGbp } from "./rent";
import type { GpuTier } from "./types";

/** Card counts per host considered: the 1-, 2- and 4-card servers UK hosts rent out. */
export const CARD_COUNTS = [1, 2, 4] as const;
const MAX_NUM_SEQS = 64;
const GPU_MEMORY_UTILIZATION = 0.9;
const MIN_CONTEXT = 8192;
const LORA_SLOTS_MAX = 4;
const LORA_RANK = 16;

export interface RequestShape {
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
}

/** Splits an average request of `requestTokens` by the share of input tokens. */
export function requestShape(requestTokens: number, inputShare: number): RequestShape {
  const avgInputTokens = Math.max(1, Math.round(requestTokens * inputShare));
  return { avgInputTokens, avgOutputTokens: Math.max(1, requestTokens - avgInputTokens) };
}

/** Every (GPU, card count) that fits the model, with its capacity and rent. */
export function gpuTiers(model: ModelSpec, shape: RequestShape, fineTunes: number): GpuTier[] {
  const maxLoras = Math.min(fineTunes, LORA_SLOTS_MAX);
  const kvPerToken = kvBytesPerToken(model, kvDtypeBytes("auto"));
  const tiers: GpuTier[] = [];
  for (const gpu of GPUS) {
    for (const gpuCount of CARD_COUNTS) {
      const rentGbp = hostRentGbp(gpu.id, gpuCount);
      if (rentGbp === undefined) continue;
      const outcome = fitBest({
        model, gpu, gpuCount, engine: "vllm", gpuMemoryUtilization: GPU_MEMORY_UTILIZATION, kvCacheDtype: "auto",
        maxNumSeqs: MAX_NUM_SEQS, maxLoras, maxLoraRank: maxLoras > 0 ? LORA_RANK : 0, requiredContext: Math.min(MIN_CONTEXT, model.maxContext),
      }, QUANTIZATION_PREFERENCE);
      if (!outcome.fits) continue;
      const { fit } = outcome;
      const avgTokens = shape.avgInputTokens + shape.avgOutputTokens;
      const concurrency = Math.max(1, Math.min(MAX_NUM_SEQS, Math.floor(fit.memory.kvTokens / avgTokens)));
      const capacity = estimateCapacity({
        model, gpu, weightBytes: weightBytes(model, fit.quantization, fit.variant), kvBytesPerToken: kvPerToken,
        tensorParallel: fit.tensorParallel, replicas: fit.replicas, ...shape,
      }, concurrency, 1);
      tiers.push({
        gpu: gpu.id, gpuCount, quantization: fit.quantization, tensorParallel: fit.tensorParallel, replicas: fit.replicas, rentGbp,
        decodeTokensPerSecond: capacity.decodeTokensPerSecond,
        singleStreamTokensPerSecond: capacity.singleStreamTokensPerSecond,
        // routerTpm is per minute; a 30-day month has SECONDS_PER_MONTH / 60 minutes.
        peakTokensPerMonth: capacity.routerTpm * (SECONDS_PER_MONTH / 60),
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
