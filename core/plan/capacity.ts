/**
 * What a host can serve: a capacity model calibrated against published vLLM runs.
 *
 * The model, per engine replica of `tp` GPUs (details in core/plan/capacity/):
 *  - step.ts: the time of one engine step — a roofline of weight + KV reads against
 *    tensor FLOPs (FP8 tensor cores for FP8 weights on Ada/Blackwell), plus a fixed
 *    step overhead and, with tensor parallel, two all-reduces per layer over PCIe through
 *    host memory (NCCL_P2P_DISABLE), growing with batch x hidden size x layers;
 *  - load.ts: the steady state with n requests inside the engine, with vLLM's chunked
 *    prefill under the `max_num_batched_tokens` budget, giving TTFT, time per output
 *    token, output tokens/s and requests/s as functions of n, and the steady state for
 *    an arrival rate;
 *  - curve.ts: the latency–throughput curve and the operating point an SLO allows;
 *  - efficiency.ts: the efficiency constants, fitted to core/catalog/calibration.ts.
 *
 * `capacityFor(inputs, slo?)` is the one entry the planner calls. `estimateCapacity` is
 * the previous signature, kept as a thin wrapper for callers not yet switched.
 */
import type { GpuSpec, ModelShape, Quantization } from "../catalog/types";
import { type CurvePoint, DEFAULT_SLO, type OperatingPoint, type Slo, latencyThroughputCurve, operatingPoint } from "./capacity/curve";
import { type Efficiency, FITTED_EFFICIENCY } from "./capacity/efficiency";
import { type Engine, loadAt, prefillTokensPerSecond, saturation } from "./capacity/load";
import { engineShape } from "./capacity/step";

export { type CurvePoint, DEFAULT_SLO, type OperatingPoint, type Slo } from "./capacity/curve";
export { type Efficiency, FITTED_EFFICIENCY } from "./capacity/efficiency";

export const SECONDS_PER_MONTH = 30 * 24 * 3600;

/**
 * vLLM's defaults on cards under 70 GiB for the OpenAI server: `max_num_seqs` 256 and
 * `max_num_batched_tokens` 2048 (vllm/engine/arg_utils.py `get_batch_defaults`, v0.33.0).
 */
export const VLLM_DEFAULT_MAX_NUM_SEQS = 256;
export const VLLM_DEFAULT_MAX_NUM_BATCHED_TOKENS = 2048;

export interface CapacityInputs {
  /** The model's architecture (a catalog ModelSpec is one). */
  readonly model: ModelShape;
  readonly gpu: GpuSpec;
  /** Weight bytes of the whole checkpoint. */
  readonly weightBytes: number;
  /** KV bytes per token for the whole model (all GPUs). */
  readonly kvBytesPerToken: number;
  readonly tensorParallel: number;
  readonly replicas: number;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
  /**
   * Weight format; it decides the tensor throughput (FP8 tensor cores for FP8 on
   * Ada/Blackwell) and the dequantisation cost of 4-bit weights. Default bf16.
   */
  readonly quantization?: Quantization;
  /** `--max-num-seqs`; default vLLM's 256. */
  readonly maxNumSeqs?: number;
  /** `--max-num-batched-tokens`; default vLLM's 2048. */
  readonly maxNumBatchedTokens?: number;
  /**
   * Tokens the replica's KV cache holds (the memory model's `kvTokens`, or a measured
   * figure from vLLM's start-up log). It bounds the concurrency at kvTokens / (in + out).
   *
   * The v0.33.0 start-up log lines a later `calibrate` command can read these from, each
   * prefixed by vllm/logger.py's `(<process> pid=<pid>) INFO <MM-DD HH:MM:SS> [<file>:<line>] `
   * (VLLM_LOGGING_PREFIX first, when set); GiB figures are format_gib = round(bytes / 2^30, 2):
   *  - vllm/v1/worker/gpu_model_runner.py: "Model loading took %s GiB memory and %.6f seconds"
   *    (weights per GPU);
   *  - vllm/v1/worker/gpu_worker.py `determine_available_memory`: "Available KV cache
   *    memory: %s GiB" (after weights, the profiled activation peak, non-torch memory and,
   *    by default since v0.21 (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1), the CUDA graph
   *    estimate are taken from gpu_memory_utilization x total memory);
   *  - vllm/v1/core/kv_cache_utils.py `update_kv_cache_capacity`: "%s KV cache size: %s
   *    tokens, Maximum concurrency for %s tokens per request: %.2fx", the first %s "GPU"
   *    (or "GPU + host"), the token counts with thousands separators, e.g.
   *    "GPU KV cache size: 123,456 tokens, Maximum concurrency for 32,768 tokens per request: 3.77x";
   *  - gpu_worker.py, when the CUDA graph estimate is on: "CUDA graph memory profiling is
   *    enabled (default since v0.21.0). The current --gpu-memory-utilization=%.4f is
   *    equivalent to --gpu-memory-utilization=%.4f without CUDA graph memory profiling. ...".
   */
  readonly kvTokens?: number;
  /** A further cap on requests per replica (e.g. the concurrency a caller computed). */
  readonly maxConcurrency?: number;
  /** Prompt tokens per request served from the prefix cache; default 0. */
  readonly cachedInputTokens?: number;
  /** Efficiency constants; default the fitted ones (a measured engine may pass its own). */
  readonly efficiency?: Efficiency;
}

/** The fields every caller reads (the previous estimate's fields, same meanings). */
export interface CapacityEstimate {
  /** Requests per replica inside the engine at the operating point (a mean, to one decimal). */
  readonly concurrency: number;
  /** One stream's decode speed, tokens/s (1 / time per output token with one request). */
  readonly singleStreamTokensPerSecond: number;
  /** Output tokens/s of the host at the operating point. */
  readonly decodeTokensPerSecond: number;
  /** Prompt tokens/s the host prefills when doing nothing else. */
  readonly prefillTokensPerSecond: number;
  /** Requests/s the host completes at the operating point. */
  readonly requestsPerSecond: number;
  /** Input + output tokens per month at the operating point and the stated utilisation. */
  readonly tokensPerMonth: number;
  readonly outputTokensPerMonth: number;
  /** The router's limits for the host's deployment: the operating point's rate. */
  readonly routerRpm: number;
  readonly routerTpm: number;
}

/** Everything `capacityFor` reports: the estimate, the curve and the points behind it. */
export interface CapacityReport extends CapacityEstimate {
  /** The SLO the operating point meets (the stack's, or DEFAULT_SLO). */
  readonly slo: Slo;
  /** One replica's latency–throughput curve. */
  readonly curve: readonly CurvePoint[];
  /** One replica's operating point (per-replica rates). */
  readonly operatingPoint: OperatingPoint;
  /** One replica with every request slot full. */
  readonly saturation: CurvePoint;
  /** Requests one replica runs at once: max_num_seqs, bounded by the KV cache. */
  readonly maxConcurrency: number;
}

/** Requests one replica runs at once: `max_num_seqs`, bounded by the KV cache and any caller cap. */
export function maxConcurrency(i: CapacityInputs): number {
  const seqs = i.maxNumSeqs ?? VLLM_DEFAULT_MAX_NUM_SEQS;
  const byKv = i.kvTokens === undefined ? Number.POSITIVE_INFINITY : Math.floor(i.kvTokens / (i.avgInputTokens + i.avgOutputTokens));
  const cap = i.maxConcurrency ?? Number.POSITIVE_INFINITY;
  return Math.max(1, Math.floor(Math.min(seqs, byKv, cap)));
}

/** The engine replica the load functions work on. */
export function engineFor(i: CapacityInputs): Engine {
  return {
    shape: engineShape({
      model: i.model,
      gpu: i.gpu,
      quantization: i.quantization ?? "bf16",
      weightBytes: i.weightBytes,
      kvBytesPerToken: i.kvBytesPerToken,
      tensorParallel: i.tensorParallel,
    }),
    maxNumBatchedTokens: i.maxNumBatchedTokens ?? VLLM_DEFAULT_MAX_NUM_BATCHED_TOKENS,
    maxConcurrency: maxConcurrency(i),
    request: { inputTokens: i.avgInputTokens, cachedInputTokens: i.cachedInputTokens ?? 0, outputTokens: i.avgOutputTokens },
    efficiency: i.efficiency ?? FITTED_EFFICIENCY,
  };
}

/**
 * Capacity of a host: its replicas' latency–throughput curve, the operating point the SLO
 * allows (DEFAULT_SLO when none), and the router limits and monthly tokens at that point.
 */
export function capacityFor(i: CapacityInputs, slo?: Slo, utilisation = 1): CapacityReport {
  const engine = engineFor(i);
  const effectiveSlo = slo ?? DEFAULT_SLO;
  const full = saturation(engine);
  return capacityReport(i, {
    slo: effectiveSlo,
    curve: latencyThroughputCurve(engine),
    operatingPoint: operatingPoint(engine, effectiveSlo),
    saturation: {
      concurrency: full.concurrency,
      ttftMs: full.ttftSeconds * 1000,
      tpotMs: full.tpotSeconds * 1000,
      outputTokensPerSecond: full.outputTokensPerSecond,
      requestsPerSecond: full.requestsPerSecond,
    },
    maxConcurrency: engine.maxConcurrency,
    singleStreamTokensPerSecond: 1 / loadAt(engine, 1).tpotSeconds,
    prefillTokensPerSecond: prefillTokensPerSecond(engine),
  }, utilisation);
}

/** One replica's curve and operating point, from the model or from measurements (core/plan/measured.ts). */
export interface ReplicaCurve {
  readonly slo: Slo;
  readonly curve: readonly CurvePoint[];
  readonly operatingPoint: OperatingPoint;
  readonly saturation: CurvePoint;
  readonly maxConcurrency: number;
  /** One stream's decode speed, tokens/s. */
  readonly singleStreamTokensPerSecond: number;
  /** Prompt tokens/s one replica prefills when doing nothing else. */
  readonly prefillTokensPerSecond: number;
}

/**
 * A host's report from one replica's curve: the host's rates are the operating point's times
 * its replicas, and the router limits are that rate per minute. The one place these sums are
 * made, whether the curve is the model's or measured.
 */
export function capacityReport(i: Pick<CapacityInputs, "replicas" | "avgInputTokens" | "avgOutputTokens">, r: ReplicaCurve, utilisation = 1): CapacityReport {
  const point = r.operatingPoint;
  const requestsPerSecond = point.requestsPerSecond * i.replicas;
  const tokensPerRequest = i.avgInputTokens + i.avgOutputTokens;
  return {
    concurrency: Math.round(point.concurrency * 10) / 10,
    singleStreamTokensPerSecond: r.singleStreamTokensPerSecond,
    decodeTokensPerSecond: requestsPerSecond * i.avgOutputTokens,
    prefillTokensPerSecond: r.prefillTokensPerSecond * i.replicas,
    requestsPerSecond,
    tokensPerMonth: requestsPerSecond * tokensPerRequest * SECONDS_PER_MONTH * utilisation,
    outputTokensPerMonth: requestsPerSecond * i.avgOutputTokens * SECONDS_PER_MONTH * utilisation,
    routerRpm: Math.max(1, Math.floor(requestsPerSecond * 60)),
    routerTpm: Math.max(1, Math.floor(requestsPerSecond * 60 * tokensPerRequest)),
    slo: r.slo,
    curve: r.curve,
    operatingPoint: point,
    saturation: r.saturation,
    maxConcurrency: r.maxConcurrency,
  };
}

/**
 * The previous entry point, kept for callers not yet switched: `concurrency` is the cap
 * they computed (min(max_num_seqs, kvTokens / (in + out))), the SLO is DEFAULT_SLO and the
 * weight format bf16. Switch to `capacityFor` to pass the quantization, the stack's SLO
 * and the engine's limits.
 */
export function estimateCapacity(i: CapacityInputs, concurrency: number, utilisation: number): CapacityEstimate {
  return capacityFor({ ...i, maxConcurrency: concurrency }, undefined, utilisation);
}
