/**
 * What a host can serve, from first principles.
 *
 * The model (a roofline, per engine replica of `tp` GPUs):
 *  - Each decode step produces one token for each of the `c` running sequences. It
 *    must read every weight once and the KV cache of every running sequence, so it takes
 *    at least  (weights + c x avgContext x kvBytesPerToken) / (tp x bandwidth x BW_EFFICIENCY),
 *    and it must do 2 x params FLOPs per token, so at least
 *    2 x params x c / (tp x fp16 TFLOPS x MFU_DECODE). The step takes the larger of the two;
 *    tensor parallel over PCIe adds an all-reduce cost per step (TP_STEP_PENALTY).
 *  - Prefill is compute-bound: 2 x params FLOPs per prompt token at MFU_PREFILL.
 *  - A request costs avgIn / prefillRate + avgOut x stepTime / c of replica time, which
 *    gives requests/s, and from that tokens/min for the router's limits.
 * Efficiencies are typical of vLLM on consumer cards (bandwidth 70% of peak, as
 * memory-bound kernels reach in practice; MFU 40% decode, 50% prefill) [estimates, to be
 * replaced by measurements on real hosts].
 */
import type { GpuSpec, ModelSpec } from "../catalog/types";

const BW_EFFICIENCY = 0.7;
const MFU_DECODE = 0.4;
const MFU_PREFILL = 0.5;
const TP_STEP_PENALTY = 1.15;
/** The router's limit sits below the estimate so the engine is not driven into queueing. */
const ROUTER_HEADROOM = 0.85;
export const SECONDS_PER_MONTH = 30 * 24 * 3600;

export interface CapacityInputs {
  readonly model: ModelSpec;
  readonly gpu: GpuSpec;
  /** Weight bytes of the whole checkpoint. */
  readonly weightBytes: number;
  /** KV bytes per token for the whole model (all GPUs). */
  readonly kvBytesPerToken: number;
  readonly tensorParallel: number;
  readonly replicas: number;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
}

/** Seconds per decode step of one replica with `concurrency` running sequences. */
export function decodeStepSeconds(i: CapacityInputs, concurrency: number): number {
  const avgContext = i.avgInputTokens + i.avgOutputTokens / 2;
  const bytes = i.weightBytes + concurrency * avgContext * i.kvBytesPerToken;
  const memorySeconds = bytes / (i.tensorParallel * i.gpu.memoryBandwidthGBs * 1e9 * BW_EFFICIENCY);
  const flops = 2 * i.model.paramsB * 1e9 * concurrency;
  const computeSeconds = flops / (i.tensorParallel * i.gpu.fp16TensorTflops * 1e12 * MFU_DECODE);
  const penalty = i.tensorParallel > 1 ? TP_STEP_PENALTY : 1;
  return Math.max(memorySeconds, computeSeconds) * penalty;
}

/** Decode tokens/s of the whole host (all replicas) at `concurrency` sequences per replica. */
export function decodeTokensPerSecond(i: CapacityInputs, concurrency: number): number {
  return (concurrency / decodeStepSeconds(i, concurrency)) * i.replicas;
}

/** Prompt tokens/s one replica prefills when doing nothing else. */
export function prefillTokensPerSecond(i: CapacityInputs): number {
  return (i.tensorParallel * i.gpu.fp16TensorTflops * 1e12 * MFU_PREFILL) / (2 * i.model.paramsB * 1e9);
}

export interface CapacityEstimate {
  /** Sequences per replica the estimate assumes (bounded by max_num_seqs and the KV cache). */
  readonly concurrency: number;
  /** One stream's decode speed, tokens/s. */
  readonly singleStreamTokensPerSecond: number;
  /** Output tokens/s of the host at `concurrency`. */
  readonly decodeTokensPerSecond: number;
  readonly prefillTokensPerSecond: number;
  /** Requests/s the host completes at the stated average request shape. */
  readonly requestsPerSecond: number;
  /** Input + output tokens per month at the stated utilisation. */
  readonly tokensPerMonth: number;
  readonly outputTokensPerMonth: number;
  /** Limits for the router's self-hosted deployment, below the estimate by ROUTER_HEADROOM. */
  readonly routerRpm: number;
  readonly routerTpm: number;
}

export function estimateCapacity(i: CapacityInputs, concurrency: number, utilisation: number): CapacityEstimate {
  const c = Math.max(1, Math.floor(concurrency));
  const step = decodeStepSeconds(i, c);
  const prefill = prefillTokensPerSecond(i);
  const replicaSecondsPerRequest = i.avgInputTokens / prefill + (i.avgOutputTokens * step) / c;
  const requestsPerSecond = i.replicas / replicaSecondsPerRequest;
  const tokensPerRequest = i.avgInputTokens + i.avgOutputTokens;
  return {
    concurrency: c,
    singleStreamTokensPerSecond: 1 / decodeStepSeconds(i, 1),
    decodeTokensPerSecond: requestsPerSecond * i.avgOutputTokens,
    prefillTokensPerSecond: prefill * i.replicas,
    requestsPerSecond,
    tokensPerMonth: requestsPerSecond * tokensPerRequest * SECONDS_PER_MONTH * utilisation,
    outputTokensPerMonth: requestsPerSecond * i.avgOutputTokens * SECONDS_PER_MONTH * utilisation,
    routerRpm: Math.max(1, Math.floor(requestsPerSecond * 60 * ROUTER_HEADROOM)),
    routerTpm: Math.max(1, Math.floor(requestsPerSecond * 60 * tokensPerRequest * ROUTER_HEADROOM)),
  };
}
