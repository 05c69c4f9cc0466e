/**
 * The time of one vLLM engine step, from first principles.
 *
 * vLLM's scheduler (vllm/v1/core/sched/scheduler.py `schedule`, v0.33.0) has no separate
 * prefill and decode phases: each step gives every running sequence its next token and
 * fills what is left of the token budget (`max_num_batched_tokens`) with chunks of
 * waiting prompts. So one step does `decodeSeqs + prefillTokens` tokens of work at once.
 *
 * Per GPU of a replica of `tp` GPUs, a step
 *  - reads every weight once and the KV cache of every decoding sequence (memory time),
 *  - does 2 FLOPs per non-embedding parameter per token, the LM head for every sampled
 *    sequence, and the attention of every prefill token over its context (compute time);
 *    the step takes the larger of the two (a roofline, softened near the ridge where the
 *    two overlap imperfectly), plus
 *  - with tensor parallel: two all-reduces per layer (after the attention output and the
 *    MLP down projection, vLLM's RowParallelLinear) of `tokens x hidden` 16-bit values,
 *    and one gather of the sampled logits. The stack runs tensor parallel over PCIe with
 *    NCCL_P2P_DISABLE=1 and --disable-custom-all-reduce (FACTS: vLLM #5484, #14449), so
 *    every collective is NCCL's ring through host memory: a fixed latency plus
 *    2(tp-1)/tp of the bytes over one direction of each card's PCIe link.
 *  - a fixed per-step overhead (scheduling, sampling, launch gaps).
 */
import type { GpuSpec, ModelShape, PcieLink, Quantization } from "../../catalog/types";
import { embeddingParams } from "../memory";
import type { Efficiency } from "./efficiency";

/** Bytes of one activation value: vLLM computes in bf16/fp16 for every weight format here. */
const ACTIVATION_BYTES = 2;

/**
 * One direction of a PCIe link, bytes/s: 16 GT/s per lane for 4.0 and 32 GT/s for 5.0,
 * 128b/130b encoding (PCI-SIG base specifications) = 1.969 and 3.938 GB/s per lane.
 */
export function pcieBytesPerSecond(link: PcieLink): number {
  const perLane = link.gen === 5 ? 3.938e9 : 1.969e9;
  return perLane * link.lanes;
}

/** True for formats whose GEMMs dequantize 16-bit from narrower weights in the kernel. */
export function isWeightOnly(gpu: GpuSpec, q: Quantization): boolean {
  return q === "awq" || q === "gptq" || (q === "fp8" && gpu.fp8TensorTflops === null);
}

/**
 * Peak tensor FLOPs/s one GPU gives this weight format: FP8 W8A8 uses the FP8 tensor
 * cores on Ada/Blackwell; everything else (bf16, 4-bit Marlin, Ampere's weight-only FP8)
 * multiplies in 16 bits.
 */
export function peakTensorFlops(gpu: GpuSpec, q: Quantization): number {
  const tflops = q === "fp8" && gpu.fp8TensorTflops !== null ? gpu.fp8TensorTflops : gpu.fp16TensorTflops;
  return tflops * 1e12;
}

/** What a step's time depends on, per GPU of one replica; derived once per plan. */
export interface EngineShape {
  readonly tensorParallel: number;
  readonly layers: number;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  /** Query width: attention heads x head dim. */
  readonly queryDim: number;
  readonly weightBytesPerGpu: number;
  readonly kvBytesPerTokenPerGpu: number;
  /** 2 x non-embedding parameters / tp: FLOPs per token on one GPU, LM head excluded. */
  readonly denseFlopsPerToken: number;
  /** 2 x vocab x hidden / tp: FLOPs of the LM head per sampled sequence on one GPU. */
  readonly headFlopsPerSample: number;
  readonly peakFlopsPerSecond: number;
  readonly weightOnly: boolean;
  /** FP8 weights on FP8 tensor cores (W8A8). */
  readonly fp8TensorCores: boolean;
  readonly peakBytesPerSecond: number;
  readonly pcieBytesPerSecond: number;
}

export interface EngineShapeInputs {
  readonly model: ModelShape;
  readonly gpu: GpuSpec;
  readonly quantization: Quantization;
  /** Weight bytes of the whole checkpoint. */
  readonly weightBytes: number;
  /** KV bytes per token for the whole model (all GPUs). */
  readonly kvBytesPerToken: number;
  readonly tensorParallel: number;
}

export function engineShape(i: EngineShapeInputs): EngineShape {
  const tp = i.tensorParallel;
  const m = i.model;
  const denseParams = m.paramsB * 1e9 - embeddingParams(m);
  return {
    tensorParallel: tp,
    layers: m.layers,
    hiddenSize: m.hiddenSize,
    vocabSize: m.vocabSize,
    queryDim: m.attentionHeads * m.headDim,
    weightBytesPerGpu: i.weightBytes / tp,
    // KV heads split across GPUs, each GPU keeping at least one (replicated beyond that).
    kvBytesPerTokenPerGpu: i.kvBytesPerToken / Math.min(tp, m.kvHeads),
    denseFlopsPerToken: (2 * denseParams) / tp,
    headFlopsPerSample: (2 * m.vocabSize * m.hiddenSize) / tp,
    peakFlopsPerSecond: peakTensorFlops(i.gpu, i.quantization),
    weightOnly: isWeightOnly(i.gpu, i.quantization),
    fp8TensorCores: i.quantization === "fp8" && i.gpu.fp8TensorTflops !== null,
    peakBytesPerSecond: i.gpu.memoryBandwidthGBs * 1e9,
    pcieBytesPerSecond: pcieBytesPerSecond(i.gpu.pcie),
  };
}

/** The work of one step. */
export interface StepLoad {
  /** Sequences that decode one token this step. */
  readonly decodeSeqs: number;
  /** Mean tokens of KV cache each decoding sequence reads. */
  readonly decodeContext: number;
  /** Prompt tokens prefilled this step (chunked prefill). */
  readonly prefillTokens: number;
  /** Mean earlier tokens each prefill token attends to. */
  readonly prefillContext: number;
  /** Sequences sampled this step: every decode, plus prompts whose prefill completes. */
  readonly sampledSeqs: number;
}

/** Bytes one GPU reads in a step: its share of the weights and the KV of every decoding sequence. */
export function stepBytes(s: EngineShape, l: StepLoad): number {
  return s.weightBytesPerGpu + l.decodeSeqs * l.decodeContext * s.kvBytesPerTokenPerGpu;
}

/** FLOPs one GPU does in a step. Attention over the context: QK^T and AV, 2 FLOPs per multiply-add, per layer. */
export function stepFlops(s: EngineShape, l: StepLoad): number {
  const tokens = l.decodeSeqs + l.prefillTokens;
  const prefillAttention = (4 * s.layers * s.queryDim * l.prefillTokens * l.prefillContext) / s.tensorParallel;
  return s.denseFlopsPerToken * tokens + s.headFlopsPerSample * l.sampledSeqs + prefillAttention;
}

export function memorySeconds(s: EngineShape, l: StepLoad, e: Efficiency): number {
  return stepBytes(s, l) / (s.peakBytesPerSecond * e.bandwidth);
}

export function computeSeconds(s: EngineShape, l: StepLoad, e: Efficiency): number {
  const factor = s.weightOnly ? e.weightOnlyComputeFactor : s.fp8TensorCores ? e.fp8ComputeFactor : 1;
  return stepFlops(s, l) / (s.peakFlopsPerSecond * e.mfu * factor);
}

/** One NCCL ring all-reduce of `bytes` (per GPU) through host memory. */
export function allReduceSeconds(s: EngineShape, bytes: number, e: Efficiency): number {
  const tp = s.tensorParallel;
  if (tp <= 1) return 0;
  return e.collectiveLatencySeconds + ((2 * (tp - 1)) / tp) * bytes / (s.pcieBytesPerSecond * e.pcieEfficiency);
}

/** One NCCL gather of `bytes` in total (each GPU contributing 1/tp of them) through host memory. */
export function gatherSeconds(s: EngineShape, bytes: number, e: Efficiency): number {
  const tp = s.tensorParallel;
  if (tp <= 1) return 0;
  return e.collectiveLatencySeconds + ((tp - 1) / tp) * bytes / (s.pcieBytesPerSecond * e.pcieEfficiency);
}

/**
 * Tensor-parallel communication of a step: 2 all-reduces per layer of the step's
 * `tokens x hidden` activations, and a gather of the sampled rows of the vocab-parallel
 * logits. Grows with batch x hidden size x layers; zero at tp = 1.
 */
export function tensorParallelSeconds(s: EngineShape, l: StepLoad, e: Efficiency): number {
  if (s.tensorParallel <= 1) return 0;
  const tokens = l.decodeSeqs + l.prefillTokens;
  const perLayer = 2 * allReduceSeconds(s, tokens * s.hiddenSize * ACTIVATION_BYTES, e);
  return s.layers * perLayer + gatherSeconds(s, l.sampledSeqs * s.vocabSize * ACTIVATION_BYTES, e);
}

/** Memory and compute of a step overlapped: the roofline max, softened near the ridge. */
export function rooflineSeconds(memory: number, compute: number, exponent: number): number {
  if (!Number.isFinite(exponent)) return Math.max(memory, compute);
  const big = Math.max(memory, compute);
  if (big === 0) return 0;
  return big * ((memory / big) ** exponent + (compute / big) ** exponent) ** (1 / exponent);
}

/** Seconds of one engine step. */
export function stepSeconds(s: EngineShape, l: StepLoad, e: Efficiency): number {
  const work = rooflineSeconds(memorySeconds(s, l, e), computeSeconds(s, l, e), e.rooflineExponent);
  return e.stepOverheadSeconds + work + tensorParallelSeconds(s, l, e);
}
