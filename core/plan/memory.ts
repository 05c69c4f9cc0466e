/**
 * vLLM's GPU memory model, as pure arithmetic.
 *
 * vLLM reserves `gpu_memory_utilization x total VRAM` per GPU. Out of that it first
 * takes the weights, the activation peak of a profiling forward pass and non-torch
 * allocations (CUDA context, NCCL buffers); whatever is left becomes the paged KV cache
 * (vllm/v1/worker/gpu_worker.py `determine_available_memory`, vllm/utils/mem_utils.py,
 * v0.33.0). The model must hold at least one sequence of `max_model_len` tokens in that
 * KV cache, or vLLM refuses to start.
 */
import type { ModelShape, ModelVariant, Quantization } from "../catalog/types";

export const GiB = 1024 ** 3;

/**
 * Effective stored bits per weight. 4-bit AWQ/GPTQ with group size 128 also store a
 * 16-bit scale and a packed 4-bit zero per group: 4 + (16 + 4) / 128 = 4.16, rounded up
 * to 4.25 for packing and unquantized norms [derived]. FP8 keeps per-channel scales.
 */
const BITS_PER_WEIGHT: Readonly<Record<Quantization, number>> = { bf16: 16, fp8: 8.05, awq: 4.25, gptq: 4.25 };

/**
 * Tokens vLLM's profiling pass runs through the model, which sets the activation peak.
 * The OpenAI server's default `max_num_batched_tokens` is 2048 on GPUs under 70 GiB
 * (vllm/engine/arg_utils.py `get_batch_defaults`, v0.33.0); the engine args pass it
 * explicitly so that this model and the engine agree.
 */
export const PROFILE_BATCHED_TOKENS = 2048;

/** CUDA context, cuBLAS workspaces and allocator slack outside PyTorch, per GPU [estimate from vLLM start-up logs]. */
const NON_TORCH_BYTES = 0.5 * GiB;
/** NCCL buffers and custom all-reduce workspaces when tensor parallel > 1 [estimate]. */
const TENSOR_PARALLEL_BYTES = 0.25 * GiB;
/** The profiled activation estimate below ignores fragmentation and attention workspaces; pad it. */
const ACTIVATION_SAFETY = 1.5;

/** Bytes of KV cache per token for the whole model: K and V, every layer, every KV head. */
export function kvBytesPerToken(model: ModelShape, kvDtypeBytes: number): number {
  return 2 * model.layers * model.kvHeads * model.headDim * kvDtypeBytes;
}

/**
 * KV bytes per token held by each GPU at a tensor-parallel size: KV heads are split
 * across GPUs, but each GPU holds at least one (replicated when tp > kv heads).
 */
export function kvBytesPerTokenPerGpu(model: ModelShape, kvDtypeBytes: number, tp: number): number {
  const headsPerGpu = Math.max(1, model.kvHeads / tp);
  return 2 * model.layers * headsPerGpu * model.headDim * kvDtypeBytes;
}

/** Parameters in the input embedding and LM head, which quantized checkpoints keep at 16 bits. */
export function embeddingParams(model: ModelShape): number {
  return model.vocabSize * model.hiddenSize * (model.tiedEmbeddings ? 1 : 2);
}

/** Weight bytes of a checkpoint: its published size when known, else estimated from parameters. */
export function weightBytes(model: ModelShape, quantization: Quantization, variant?: ModelVariant): number {
  if (variant?.weightsGB !== undefined) return variant.weightsGB * 1e9;
  const total = model.paramsB * 1e9;
  if (quantization === "bf16") return total * 2;
  const embed = embeddingParams(model);
  return (total - embed) * (BITS_PER_WEIGHT[quantization] / 8) + embed * 2;
}

/**
 * Activation peak of vLLM's profiling pass on one GPU: the MLP's gate and up projections
 * (split by tensor parallel) and a few hidden-size buffers for every batched token, plus
 * fp32 logits for every sequence slot.
 */
export function activationBytes(model: ModelShape, tp: number, maxNumSeqs: number): number {
  const perToken = ((2 * model.intermediateSize) / tp + 4 * model.hiddenSize) * 2;
  const logits = maxNumSeqs * model.vocabSize * 4;
  return (PROFILE_BATCHED_TOKENS * perToken + logits) * ACTIVATION_SAFETY;
}

/** Non-KV runtime memory per GPU besides weights and activations. */
export function runtimeOverheadBytes(tp: number): number {
  return NON_TORCH_BYTES + (tp > 1 ? TENSOR_PARALLEL_BYTES : 0);
}

/**
 * Memory vLLM preallocates for LoRA: `max_loras` GPU slots, each sized for
 * `max_lora_rank` on all seven projections of every layer (A: in x r, B: r x out, 16-bit).
 * For Llama 3.1 8B at rank 16 this gives 80 MiB per slot.
 */
export function loraBytes(model: ModelShape, maxLoras: number, maxRank: number, tp: number): number {
  if (maxLoras === 0) return 0;
  const h = model.hiddenSize;
  const q = model.attentionHeads * model.headDim;
  const kv = model.kvHeads * model.headDim;
  const i = model.intermediateSize;
  const inPlusOut = (h + q) + 2 * (h + kv) + (q + h) + 2 * (h + i) + (i + h);
  return (maxLoras * maxRank * inPlusOut * 2 * model.layers) / tp;
}

export interface MemoryInputs {
  readonly model: ModelShape;
  readonly quantization: Quantization;
  readonly variant?: ModelVariant;
  readonly vramGiB: number;
  readonly gpuMemoryUtilization: number;
  readonly tensorParallel: number;
  readonly kvDtypeBytes: number;
  readonly maxNumSeqs: number;
  readonly maxLoras: number;
  readonly maxLoraRank: number;
}

/** Per-GPU memory budget of one engine replica. All figures in bytes. */
export interface MemoryBreakdown {
  readonly budget: number;
  readonly weights: number;
  readonly activations: number;
  readonly runtime: number;
  readonly lora: number;
  /** What is left for the KV cache; negative when the weights alone do not fit. */
  readonly kvCache: number;
  readonly kvBytesPerTokenPerGpu: number;
  /** Tokens the KV cache holds across all sequences (0 when it does not fit). */
  readonly kvTokens: number;
}

export function memoryBreakdown(m: MemoryInputs): MemoryBreakdown {
  const budget = m.vramGiB * GiB * m.gpuMemoryUtilization;
  const weights = weightBytes(m.model, m.quantization, m.variant) / m.tensorParallel;
  const activations = activationBytes(m.model, m.tensorParallel, m.maxNumSeqs);
  const runtime = runtimeOverheadBytes(m.tensorParallel);
  const lora = loraBytes(m.model, m.maxLoras, m.maxLoraRank, m.tensorParallel);
  const kvCache = budget - weights - activations - runtime - lora;
  const perToken = kvBytesPerTokenPerGpu(m.model, m.kvDtypeBytes, m.tensorParallel);
  return {
    budget,
    weights,
    activations,
    runtime,
    lora,
    kvCache,
    kvBytesPerTokenPerGpu: perToken,
    kvTokens: kvCache > 0 ? Math.floor(kvCache / perToken) : 0,
  };
}

/** Bytes per GPU that a context of `tokens` needs in total: everything but the KV of other sequences. */
export function bytesNeededFor(b: MemoryBreakdown, tokens: number): number {
  return b.weights + b.activations + b.runtime + b.lora + tokens * b.kvBytesPerTokenPerGpu;
}
