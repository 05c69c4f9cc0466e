/**
 * Catalog record types. Catalogs are data, not logic: every entry names where its
 * figures come from and the date they were read, so a reviewer can re-check them.
 */

/** Where a catalog entry's figures were read, and when (ISO date, YYYY-MM-DD). */
export interface Source {
  readonly url: string;
  readonly readOn: string;
  /** Anything derived by arithmetic or otherwise not read verbatim off the source. */
  readonly note?: string;
}

export type GpuArchitecture = "ampere" | "ada" | "blackwell";

/**
 * Weight formats the engines load. `bf16` is the unquantized checkpoint; `fp8` an
 * 8-bit float checkpoint (W8A8 on Ada/Blackwell, weight-only FP8 Marlin on Ampere);
 * `awq` and `gptq` are 4-bit integer weight-only checkpoints.
 */
export const QUANTIZATIONS = ["bf16", "fp8", "awq", "gptq"] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];

export const ENGINES = ["vllm", "lorax"] as const;
export type EngineKind = (typeof ENGINES)[number];

/** A PCIe link: generation (4.0, 5.0) and electrical lanes. */
export interface PcieLink {
  readonly gen: 4 | 5;
  readonly lanes: 8 | 16;
}

export interface GpuSpec {
  /** Stable id used in stack files, e.g. `rtx-4090`. */
  readonly id: string;
  /** The name `nvidia-smi --query-gpu=name` prints, e.g. `NVIDIA GeForce RTX 4090`. */
  readonly smiName: string;
  readonly architecture: GpuArchitecture;
  /** CUDA compute capability, e.g. "8.9". */
  readonly computeCapability: string;
  /** Nominal memory in GiB (GPU vendors' "GB" are binary). */
  readonly vramGiB: number;
  /** Peak memory bandwidth, GB/s (decimal). */
  readonly memoryBandwidthGBs: number;
  /** Dense FP16 tensor TFLOPS with FP32 accumulate. */
  readonly fp16TensorTflops: number;
  /**
   * Dense FP8 tensor TFLOPS with FP32 accumulate (what vLLM's FP8 W8A8 GEMMs use), or
   * null where the card has no FP8 tensor cores (Ampere: FP8 checkpoints run weight-only
   * there, at the FP16 rate).
   */
  readonly fp8TensorTflops: number | null;
  /** The card's PCIe link; tensor parallel without P2P moves every all-reduce over it. */
  readonly pcie: PcieLink;
  readonly tdpWatts: number;
  /** Oldest NVIDIA Linux driver branch that supports the card and the engine images' CUDA. */
  readonly minDriverBranch: number;
  /** Blackwell consumer cards need NVIDIA's open kernel modules. */
  readonly requiresOpenKernelModules: boolean;
  /** Which weight formats each engine can run on this card. */
  readonly quantizations: Readonly<Record<EngineKind, readonly Quantization[]>>;
  /** True for workstation (RTX A/Ada) cards, false for GeForce. */
  readonly workstation: boolean;
  readonly source: Source;
}

/**
 * The architecture figures the memory and capacity models read. A catalog `ModelSpec` is
 * one; the capacity calibration set also describes published benchmarks' models (e.g.
 * Llama 3.1 8B) that the stack catalog does not offer.
 */
export type ModelShape = Pick<
  ModelSpec,
  "paramsB" | "layers" | "hiddenSize" | "intermediateSize" | "attentionHeads" | "kvHeads" | "headDim" | "vocabSize" | "tiedEmbeddings"
>;

/** A checkpoint of a model in one weight format, as an engine loads it. */
export interface ModelVariant {
  readonly quantization: Quantization;
  /** Hugging Face repo id the engine downloads. */
  readonly hfRepo: string;
  /**
   * Size of the weights in GB (decimal) as published (safetensors total), when known.
   * The planner falls back to an estimate from parameters when absent.
   */
  readonly weightsGB?: number;
  /**
   * Engines that cannot load this checkpoint, each with the reason read from the engine's
   * source (the planner never picks it for them and says why). Absent: every engine loads it.
   */
  readonly unsupportedBy?: Readonly<Partial<Record<EngineKind, string>>>;
  readonly source: Source;
}

export type ManagedProvider = "together_ai" | "fireworks_ai" | "deepinfra" | "replicate";
export type FrontierProvider = "openai" | "anthropic" | "gemini";

export interface ModelSpec {
  /** Stable id used in stack files, e.g. `qwen2.5-7b-instruct`. */
  readonly id: string;
  readonly family: "llama3.3" | "qwen2.5" | "mistral";
  readonly displayName: string;
  /** Total parameters, billions. */
  readonly paramsB: number;
  readonly layers: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly attentionHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly maxContext: number;
  readonly vocabSize: number;
  /** Input embedding and LM head share weights (small Qwen models). */
  readonly tiedEmbeddings: boolean;
  readonly licence: string;
  /** Gated on Hugging Face: downloads need an accepted licence and an HF token. */
  readonly gated: boolean;
  /** The checkpoints the engines load, one per weight format offered. */
  readonly variants: readonly ModelVariant[];
  /**
   * Ids under which managed providers serve these same open weights, so that the
   * burst tier answers with the same model. Absent where a provider does not serve it.
   */
  readonly managedIds: Readonly<Partial<Record<ManagedProvider, string>>>;
  readonly source: Source;
}
