/**
 * Capacity calibration set: published vLLM measurements on the catalog's cards, as data.
 *
 * Each point is one measured run: the card(s), the model and checkpoint, the engine
 * settings that matter for throughput, the request shape, the load (a closed loop of N
 * concurrent clients, or an open-loop request rate) and what was measured. Figures are
 * copied from the source named on the point; nothing else is. `test/plan/calibration.test.ts`
 * checks that the capacity model (core/plan/capacity.ts) reproduces every point that is
 * not `excluded`, and `npm run bench:capacity` prints the per-point error.
 *
 * Conventions
 * - `inputTokens` / `outputTokens` are per request as the engine saw them. Where a run's
 *   requests stopped at EOS before `max_tokens`, `outputTokens` is the mean actually
 *   generated (measured output tokens/s ÷ measured requests/s, or total ÷ requests),
 *   and the note says so.
 * - `cachedInputTokens`: prompt tokens served from vLLM's prefix cache. vLLM V1 enables
 *   prefix caching by default, so a harness that sends one fixed prompt is only charged
 *   for the last partial 16-token block of it.
 * - Engine settings not stated by a source are vLLM's defaults for a card under 70 GiB:
 *   `max_num_seqs` 256, `max_num_batched_tokens` 2048 for the OpenAI server
 *   (vllm/engine/arg_utils.py `get_batch_defaults`, v0.33.0; same values since v0.8).
 * - `excluded` marks a point that was found but that the model does not reproduce, with
 *   the reason; it stays here so the finding is not lost.
 * - [D] derived by arithmetic, [U] unverified, as in the other catalogs.
 */
import type { ModelShape, Quantization, Source } from "./types";

/** The day the points below were read. */
const READ_ON = "2026-11-30";

function source(url: string, note?: string): Source {
  return note === undefined ? { url, readOn: READ_ON } : { url, readOn: READ_ON, note };
}

/** A model a published benchmark ran that the stack catalog does not offer. */
export interface CalibrationModel extends ModelShape {
  readonly id: string;
  readonly hfRepo: string;
  readonly source: Source;
}

/**
 * How the benchmark loaded the engine.
 * - `closed`: `concurrency` clients, each sending its next request when the last one
 *   finished (vllm bench serve `--max-concurrency`, thread-pool harnesses); `requests` in
 *   total, when the run was finite.
 * - `rate`: requests arriving at `requestsPerSecond` (Poisson or constant), independent of
 *   completions; `requests` in total when finite.
 */
export type CalibrationLoad =
  | { readonly kind: "closed"; readonly concurrency: number; readonly requests?: number }
  | { readonly kind: "rate"; readonly requestsPerSecond: number; readonly requests?: number };

export interface CalibrationEngine {
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  /** `--max-model-len`, where the run set it. */
  readonly maxModelLen?: number;
  readonly gpuMemoryUtilization: number;
}

export interface CalibrationMeasured {
  readonly outputTokensPerSecond: number;
  readonly requestsPerSecond?: number;
  /** Median time to first token, ms. */
  readonly ttftMedianMs?: number;
  /** Median time per output token after the first, ms. */
  readonly tpotMedianMs?: number;
}

export interface CalibrationPoint {
  /** Stable id: `<source>-<gpu>-<model>-<load>`. */
  readonly id: string;
  readonly source: Source;
  /** When the measurement was published, where stated (YYYY-MM-DD). */
  readonly publishedOn?: string;
  /** The vLLM version the run used, as the source states it. */
  readonly vllmVersion: string;
  /** A catalog model id (core/catalog/models.ts) or a `CALIBRATION_MODELS` id. */
  readonly model: string;
  /** The checkpoint the engine loaded. */
  readonly checkpoint: string;
  readonly quantization: Quantization;
  /** Weight bytes in GB where the checkpoint's size was read; else the memory model estimates it. */
  readonly weightsGB?: number;
  /** Catalog GPU id. */
  readonly gpu: string;
  readonly gpuCount: number;
  readonly tensorParallel: number;
  readonly engine: CalibrationEngine;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  readonly load: CalibrationLoad;
  readonly measured: CalibrationMeasured;
  /**
   * True where the offered load is far below the engine's capacity, so output tokens/s
   * is set by the arrival rate: such a point checks that the model does not predict
   * saturation, and its TPOT checks the step time, but its throughput says little.
   */
  readonly arrivalBound?: boolean;
  /** Why the model does not reproduce this point (found, kept, not asserted). */
  readonly excluded?: string;
}

// ---------------------------------------------------------------- models outside the catalog

const HF = "https://huggingface.co";

export const CALIBRATION_MODELS: readonly CalibrationModel[] = [
  {
    id: "llama-3.1-8b-instruct",
    hfRepo: "meta-llama/Llama-3.1-8B-Instruct",
    paramsB: 8.03,
    layers: 32,
    hiddenSize: 4096,
    intermediateSize: 14336,
    attentionHeads: 32,
    kvHeads: 8,
    headDim: 128,
    vocabSize: 128256,
    tiedEmbeddings: false,
    source: source(`${HF}/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json`, "gated repo; figures as in public copies of the config; 8,030,261,248 parameters"),
  },
  {
    id: "llama-2-7b",
    hfRepo: "meta-llama/Llama-2-7b-hf",
    paramsB: 6.74,
    layers: 32,
    hiddenSize: 4096,
    intermediateSize: 11008,
    attentionHeads: 32,
    kvHeads: 32, // multi-head attention: no GQA in Llama 2 7B
    headDim: 128,
    vocabSize: 32000,
    tiedEmbeddings: false,
    source: source(`${HF}/meta-llama/Llama-2-7b-hf/blob/main/config.json`, "gated repo; figures as in public copies of the config"),
  },
  {
    id: "llama-2-70b",
    hfRepo: "meta-llama/Llama-2-70b-hf",
    paramsB: 68.98,
    layers: 80,
    hiddenSize: 8192,
    intermediateSize: 28672,
    attentionHeads: 64,
    kvHeads: 8,
    headDim: 128,
    vocabSize: 32000,
    tiedEmbeddings: false,
    source: source(`${HF}/meta-llama/Llama-2-70b-hf/blob/main/config.json`, "gated repo; figures as in public copies of the config"),
  },
  {
    id: "codellama-34b",
    hfRepo: "codellama/CodeLlama-34b-Instruct-hf",
    paramsB: 33.74,
    layers: 48,
    hiddenSize: 8192,
    intermediateSize: 22016,
    attentionHeads: 64,
    kvHeads: 8,
    headDim: 128,
    vocabSize: 32000,
    tiedEmbeddings: false,
    source: source(`${HF}/codellama/CodeLlama-34b-Instruct-hf/blob/main/config.json`),
  },
];

// ---------------------------------------------------------------- the points

/** vLLM's OpenAI-server defaults on a card under 70 GiB (see header). */
const DEFAULT_ENGINE: CalibrationEngine = { maxNumSeqs: 256, maxNumBatchedTokens: 2048, gpuMemoryUtilization: 0.9 };

// 1. RTX 4090, Mistral 7B v0.3 bf16, closed-loop concurrency sweep.
// Source: a capacity-planning write-up, vLLM OpenAI server with --tokenizer-mode mistral,
// vllm bench serve, random dataset 256 in / 128 out, 300 prompts, request rate inf, max
// concurrency 4..48. Requests/s and output tokens/s are both published; their ratio is
// 100 generated tokens per request at every level (EOS before 128), so outputTokens = 100.
const MUSHFIQ = source(
  "https://mushfiqrahman.dev/benchmarking-mistral-7b-on-rtx-4090-vllm-concurrency-latency-and-capacity-planning/",
  "Table 'Part 1 - Full Concurrency Sweep'. vLLM version not stated [U]; engine flags other than --tokenizer-mode not stated (defaults assumed). outputTokens 100 [D] = output tok/s / req/s.",
);
function mushfiq(concurrency: number, rps: number, outTps: number, ttftMedianMs: number): CalibrationPoint {
  return {
    id: `mushfiq-4090-mistral7b-c${concurrency}`,
    source: MUSHFIQ,
    vllmVersion: "unstated",
    model: "mistral-7b-instruct-v0.3",
    checkpoint: "mistralai/Mistral-7B-Instruct-v0.3",
    quantization: "bf16",
    gpu: "rtx-4090",
    gpuCount: 1,
    tensorParallel: 1,
    engine: DEFAULT_ENGINE,
    inputTokens: 256,
    cachedInputTokens: 0,
    outputTokens: 100,
    load: { kind: "closed", concurrency, requests: 300 },
    measured: { outputTokensPerSecond: outTps, requestsPerSecond: rps, ttftMedianMs },
  };
}

// 2. RTX A6000, Qwen2.5 7B bf16, vLLM v0.23.0 on k3s, closed-loop sweep with a stdlib
// harness (portfolio-lab/04-inference-serving/harness/loadgen.py in ld-singh/ai-factory-ops-lab):
// a thread pool of `concurrency` workers, streaming chat completions of one fixed prompt
// ("Explain what a GPU scheduler does, in two sentences.", max_tokens 128, temperature
// 0.7), tokens/s = streamed tokens / wall time. The published `gen` column is the mean
// generated tokens (51-53). Input ≈ 40 tokens with Qwen's default system prompt and chat
// template [D]; the prompt is identical on every request, so all but its last 8 tokens
// come from the prefix cache.
const LDSINGH = source(
  "https://ld-singh.github.io/ai-factory-ops-lab/portfolio-lab/06-validation-reports/inference-benchmark-report/",
  "Tables 'Baseline sweep' and 'Saturation - the knee'. Image vllm/vllm-openai:latest reported as v0.23.0, served with no extra flags (serve-gpu.sh), reached through kubectl port-forward. Input 40 tokens [D]: chat template + default system prompt, not published.",
);
function ldsingh(concurrency: number, requests: number, gen: number, tps: number, ttftMedianMs: number, tpotMedianMs: number): CalibrationPoint {
  return {
    id: `ldsingh-a6000-qwen7b-c${concurrency}`,
    source: LDSINGH,
    publishedOn: "2026-06-27",
    vllmVersion: "0.23.0",
    model: "qwen2.5-7b-instruct",
    checkpoint: "Qwen/Qwen2.5-7B-Instruct",
    quantization: "bf16",
    weightsGB: 15.23,
    gpu: "rtx-a6000",
    gpuCount: 1,
    tensorParallel: 1,
    engine: { ...DEFAULT_ENGINE, gpuMemoryUtilization: 0.9 },
    inputTokens: 40,
    cachedInputTokens: 32,
    outputTokens: gen,
    load: { kind: "closed", concurrency, requests },
    measured: { outputTokensPerSecond: tps, ttftMedianMs, tpotMedianMs },
  };
}

// 3. RTX 5090, Llama 3.1 8B bf16 and FP8 (W8A8), open-loop request rates, vllm-project/vllm
// issue #16515 (comment of 2025-05-20, "Dual 5090's (sm120, cu128) Issues Running vLLM").
// HuggingFace inference-benchmarker, rate mode 10/30/100 req/s for 120 s after 30 s warm-up,
// up to 800 virtual users, prompts 200 tokens (180-220), outputs 200 tokens (180-220).
// The engine flags are those the same author published for this setup in issue #16901
// (2025-06-06): --max-model-len 1024 --enable-chunked-prefill --max_num_batched_tokens 2048
// --gpu_memory_utilization 0.9 [U for the exact #16515 run: its raw-data attachment was
// not readable here]. "Throughput (tokens/sec)" is inference-benchmarker's output token
// throughput.
const VLLM_16515 = source(
  "https://github.com/vllm-project/vllm/issues/16515",
  "Comment by cyril23, 2025-05-20: throughput charts at 10/30/100 req/s for meta-llama/Llama-3.1-8B-Instruct (FP16) and RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8 (compressed-tensors). vLLM built from source with an sm_120 patch (kaln27) in May 2025, between v0.8.5 and v0.9.0 [U].",
);
function vllm16515(q: "bf16" | "fp8", rps: number, tps: number): CalibrationPoint {
  return {
    id: `vllm16515-5090-llama8b-${q}-r${rps}`,
    source: VLLM_16515,
    publishedOn: "2025-05-20",
    vllmVersion: "0.8.5+ (source build for sm_120, May 2025)",
    model: "llama-3.1-8b-instruct",
    checkpoint: q === "bf16" ? "meta-llama/Llama-3.1-8B-Instruct" : "RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8",
    quantization: q,
    // bf16: 8,030,261,248 x 2 B [D]. FP8: embeddings and LM head (2 x 128256 x 4096) stay
    // bf16, the other 6.98 B parameters one byte each [D].
    weightsGB: q === "bf16" ? 16.06 : 9.08,
    gpu: "rtx-5090",
    gpuCount: 1,
    tensorParallel: 1,
    engine: { maxNumSeqs: 256, maxNumBatchedTokens: 2048, maxModelLen: 1024, gpuMemoryUtilization: 0.9 },
    inputTokens: 200,
    cachedInputTokens: 0,
    outputTokens: 200,
    load: { kind: "rate", requestsPerSecond: rps },
    measured: { outputTokensPerSecond: tps },
    ...(rps === 10 ? { arrivalBound: true } : {}),
  };
}

// 4. RTX 3090, Llama 2 7B AWQ, one stream: mlc-ai/llm-perf-bench pull request #35
// (2023-11-15, "vllm upgrade to CUDA12"): vLLM main of that day built on CUDA 12.1,
// benchmarks/benchmark_latency.py --batch-size 1 --input-len 7 --output-len 256
// --quantization awq (the repository README's command); "Speed: 175.33 tok/s" =
// output_len / mean latency, so prefill is included.
const MLC_PR35 = source(
  "https://github.com/mlc-ai/llm-perf-bench/pull/35",
  "Description by sh1ng, 2023-11-15: vLLM with the 4-bit AWQ model on RTX 3090, Avg latency 1.460 s, 175.33 tok/s. Command and checkpoint (TheBloke/Llama-2-7B-AWQ) from the repository README at that commit.",
);

// 5. 2x RTX 4090 over PCIe, tensor parallel 2, 4-bit AWQ, one stream: mlc-ai/llm-perf-bench
// README "Multiple NVIDIA GPUs, 4-bit" (commit 8fc0b54, 2023-10-31), vLLM commit acbed3e of
// 2023-10-06, benchmark_latency.py batch 1, 7 tokens in, 256 out, "all numbers are based
// on PCIe, not NVLink".
const MLC_README = source(
  "https://github.com/mlc-ai/llm-perf-bench/blob/main/README.md",
  "Table 'Multiple NVIDIA GPUs, 4-bit', vLLM column, RTX 4090 x 2 rows; vLLM commit acbed3ef (2023-10-06).",
);
const OLD_VLLM_TP =
  "vLLM of October 2023 (v0.2.0): eager mode (CUDA graphs arrived in v0.2.2) and the pre-Marlin AWQ kernel. The pair shows a cost per layer, not per byte: CodeLlama 34B (48 layers, 18 GB of weights) ran at 26.2 tok/s and Llama 2 70B (80 layers, 36 GB) at 23.8, where a bandwidth-bound engine gives about 2x between them; the model predicts +95% for the 34B and lands within 25% on the 70B only by that coincidence. Kept as the only published tensor-parallel-over-PCIe AWQ figures found; not asserted.";

// 6. RTX 4090, 1 and 2 cards (tensor parallel 2 when 2), DeepSeek-R1-Distill-Qwen-7B bf16
// (the Qwen2.5 7B architecture), vLLM v0.8.5 benchmark_serving.py, ShareGPT, 200 prompts,
// Poisson arrivals at 1 req/s: IOG-Foundation/llm-inference-benchmarks result files.
// Arrival-bound (the engine is nearly idle), so these check the step time (TPOT) with and
// without tensor parallel, not capacity. Means from the files: 41650 input tokens and
// 43453 (1 card) / 43558 (2 cards) output tokens over 200 requests.
function iog(gpuCount: 1 | 2, tps: number, out: number, ttftMedianMs: number, tpotMedianMs: number): CalibrationPoint {
  const file = `results/vllm_200prompts1qps_DeepSeek-R1-Distill-Qwen-7B_sharegpt_${gpuCount}xNVIDIA-GeForce-RTX-4090.json`;
  return {
    id: `iog-4090x${gpuCount}-r1qwen7b-r1`,
    source: source(
      `https://github.com/IOG-Foundation/llm-inference-benchmarks/blob/main/${file}`,
      `vllm/vllm-openai:v0.8.5 per the repository README; tensor parallel = GPU count; ShareGPT lengths vary per request, the means are used. ${gpuCount === 2 ? "The 2-card run's TTFT (median 2.7 s at 1 req/s) is far above the 1-card run's 34 ms: the setup's prefills stalled; its TPOT is still informative." : ""}`.trim(),
    ),
    publishedOn: "2025-06-10",
    vllmVersion: "0.8.5",
    model: "qwen2.5-7b-instruct",
    checkpoint: "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
    quantization: "bf16",
    weightsGB: 15.23,
    gpu: "rtx-4090",
    gpuCount,
    tensorParallel: gpuCount,
    engine: DEFAULT_ENGINE,
    inputTokens: 208,
    cachedInputTokens: 0,
    outputTokens: out,
    load: { kind: "rate", requestsPerSecond: 1, requests: 200 },
    measured: { outputTokensPerSecond: tps, requestsPerSecond: gpuCount === 1 ? 1.043 : 1.050, ttftMedianMs, tpotMedianMs },
    arrivalBound: true,
  };
}

export const CALIBRATION_POINTS: readonly CalibrationPoint[] = [
  mushfiq(4, 2.09, 210, 53),
  mushfiq(8, 3.78, 377, 55),
  mushfiq(16, 6.44, 644, 97),
  mushfiq(32, 9.73, 975, 277),
  mushfiq(48, 11.87, 1190, 840),

  ldsingh(1, 12, 53, 42.3, 47, 21.9),
  ldsingh(2, 12, 51, 84.0, 67, 22.0),
  ldsingh(4, 12, 51, 153.1, 67, 22.1),
  ldsingh(8, 12, 51, 240.4, 171, 22.3),
  ldsingh(64, 512, 51, 2127.6, 87, 27.5),
  ldsingh(128, 512, 52, 3138.1, 126, 36.0),
  ldsingh(256, 512, 52, 4039.9, 299, 53.1),
  ldsingh(512, 512, 52, 3896.1, 1043, 56.4),

  vllm16515("bf16", 10, 1778),
  vllm16515("bf16", 30, 3413),
  vllm16515("bf16", 100, 3708),
  vllm16515("fp8", 10, 1734),
  vllm16515("fp8", 30, 4840),
  vllm16515("fp8", 100, 5418),

  {
    id: "mlcpr35-3090-llama2-7b-awq-c1",
    source: MLC_PR35,
    publishedOn: "2023-11-15",
    vllmVersion: "main of 2023-11-15 (v0.2.1-v0.2.2)",
    model: "llama-2-7b",
    checkpoint: "TheBloke/Llama-2-7B-AWQ",
    quantization: "awq",
    gpu: "rtx-3090",
    gpuCount: 1,
    tensorParallel: 1,
    engine: DEFAULT_ENGINE,
    inputTokens: 7,
    cachedInputTokens: 0,
    outputTokens: 256,
    load: { kind: "closed", concurrency: 1 },
    measured: { outputTokensPerSecond: 175.33 },
  },

  iog(1, 226.66, 217.3, 33.9, 17.9),
  iog(2, 228.78, 217.8, 2724.5, 14.4),

  {
    id: "mlc-4090x2-llama2-70b-awq-tp2-c1",
    source: MLC_README,
    publishedOn: "2023-10-31",
    vllmVersion: "acbed3e of 2023-10-06 (v0.2.0)",
    model: "llama-2-70b",
    checkpoint: "TheBloke/Llama-2-70B-AWQ",
    quantization: "awq",
    gpu: "rtx-4090",
    gpuCount: 2,
    tensorParallel: 2,
    engine: DEFAULT_ENGINE,
    inputTokens: 7,
    cachedInputTokens: 0,
    outputTokens: 256,
    load: { kind: "closed", concurrency: 1 },
    measured: { outputTokensPerSecond: 23.8 },
    excluded: OLD_VLLM_TP,
  },
  {
    id: "mlc-4090x2-codellama-34b-awq-tp2-c1",
    source: MLC_README,
    publishedOn: "2023-10-31",
    vllmVersion: "acbed3e of 2023-10-06 (v0.2.0)",
    model: "codellama-34b",
    checkpoint: "TheBloke/CodeLlama-34B-Instruct-AWQ",
    quantization: "awq",
    gpu: "rtx-4090",
    gpuCount: 2,
    tensorParallel: 2,
    engine: DEFAULT_ENGINE,
    inputTokens: 7,
    cachedInputTokens: 0,
    outputTokens: 256,
    load: { kind: "closed", concurrency: 1 },
    measured: { outputTokensPerSecond: 26.16 },
    excluded: OLD_VLLM_TP,
  },
];

/**
 * Published runs found while building the set that are not points at all, and why: the
 * README's "Capacity" section lists them for a reviewer.
 */
export const CALIBRATION_NOT_USED: readonly { readonly what: string; readonly url: string; readonly why: string }[] = [
  {
    what: "IOG-Foundation 1x/2x/4x RTX 4090 runs at 8-32 req/s (ShareGPT, 200 prompts)",
    url: "https://github.com/IOG-Foundation/llm-inference-benchmarks/tree/main/results",
    why: "a finite burst of 200 requests with ShareGPT's spread of output lengths: throughput is set by the longest requests' tail after the burst, which a steady-state model with mean lengths does not describe",
  },
  {
    what: "r/LocalLLaMA 'Qwen3 throughput benchmarks on 2x 3090' (4096 in / 1024 out, dp2 vs tp2)",
    url: "https://www.reddit.com/r/LocalLLaMA/comments/1kkvqti/",
    why: "the stored copy cuts off the vllm bench serve command, so the concurrency is unknown",
  },
  {
    what: "databasemart RTX 4090 / A40 vLLM tables (100 in / 600 out, 50-300 requests at once)",
    url: "https://www.databasemart.com/blog/vllm-gpu-benchmark-rtx4090",
    why: "the stored copy ends before the result rows (duration, output tokens/s); the A40 is not a catalog card",
  },
  {
    what: "A report of Qwen2.5 14B/32B bf16 and AWQ at tensor parallel 1/2 on RTX 4090s (vLLM, December 2025)",
    url: "(no address: found only as an unattributed file excerpt)",
    why: "could not be traced to a repository or page to cite",
  },
];
