/**
 * Model catalog: architectures (from each model's config.json), licences, the Hugging Face
 * checkpoints per weight format, and the ids under which managed providers serve the same
 * weights.
 *
 * Provenance conventions
 * - Architecture figures: config.json of the HF repo named in `source.url`. Where the
 *   config was read through a public copy rather than huggingface.co, the note says so.
 *   Qwen 2.5 copies of the *base* configs show max_position_embeddings 131072 for
 *   7B/14B/32B/72B; the Instruct repos (and vLLM's served default) use 32768, which is
 *   what `maxContext` records.
 * - `weightsGB` only where a published size was read (safetensors index `total_size` or a
 *   file size) or given by the project's facts lead (marked [U]); otherwise absent and the
 *   planner estimates from parameters.
 * - Quantized repos: official Qwen AWQ / GPTQ-Int4 repos; RedHatAI (formerly neuralmagic)
 *   FP8 and INT4 repos; community AWQ (casperhansen, solidrust, stelterlab). Each was seen
 *   referenced by name in several public code repositories (vLLM serve commands, Red Hat
 *   modelcar tables, benchmark scripts); sizes of quantized repos were mostly not found.
 * - RedHatAI `*-quantized.w4a16` repos are GPTQ-algorithm INT4 weights in
 *   compressed-tensors format: vLLM detects them from config.json (do not pass
 *   `--quantization gptq`); LoRAX 0.12.1's `--quantize gptq` reads AutoGPTQ tensors only
 *   (server/lorax_server/utils/weights.py:98-120, 145-210 at v0.12.1), so these are
 *   vLLM-only (`unsupportedBy.lorax`). The other AWQ/GPTQ repos here are AutoAWQ/AutoGPTQ
 *   checkpoints (Qwen's own; community quants named as such) that LoRAX reads [U for the
 *   community ones: their configs were not read].
 * - LoRAX 0.12.1 cannot load Qwen2.5 models with tied embeddings (0.5B, 1.5B, 3B) in any
 *   format: see core/catalog/lorax.ts (predibase/lorax#726).
 * - `gated` is about the base repo. Quantized community/RedHatAI copies are generally not
 *   gated [U].
 *
 * Managed ids (`managedIds`)
 * - Together AI: Llama/Qwen "-Turbo" endpoints are Together's quantized (FP8) serving of
 *   the same weights [U]; ids seen in LiteLLM configs and tests (e.g.
 *   `together_ai/Qwen/Qwen2.5-72B-Instruct-Turbo`, `together_ai/Qwen/Qwen2.5-7B-Instruct-Turbo`,
 *   `together_ai/mistralai/Mistral-Small-24B-Instruct-2501`).
 * - Fireworks and DeepInfra: ids from LiteLLM's model price map (as mirrored in a public
 *   price table read 2026-11-26). Appearing there does not prove a model is still
 *   *serverless* on Fireworks: several older Fireworks models are on-demand deployments
 *   only [U]; the router must tolerate a 404 from the burst tier.
 * - Replicate: no per-token listing found for any of these models; omitted.
 */
import { LORAX_CHECKPOINT_GAPS } from "./lorax";
import type { ModelSpec, ModelVariant, Quantization, Source } from "./types";

const READ_ON = "2026-11-26";

function source(url: string, note?: string): Source {
  return note === undefined ? { url, readOn: READ_ON } : { url, readOn: READ_ON, note };
}

function hf(repo: string): string {
  return `https://huggingface.co/${repo}`;
}

/** A checkpoint whose repo page is its source. */
function variant(quantization: Quantization, hfRepo: string, note?: string, weightsGB?: number): ModelVariant {
  const base = { quantization, hfRepo, source: source(hf(hfRepo), note) };
  return weightsGB === undefined ? base : { ...base, weightsGB };
}

/** A checkpoint LoRAX cannot load, with the reason (core/catalog/lorax.ts). */
function notOnLorax(v: ModelVariant, reason: string): ModelVariant {
  return { ...v, unsupportedBy: { ...v.unsupportedBy, lorax: reason } };
}

// ---------------------------------------------------------------- Llama 3.3

const LLAMA_3_3_70B: ModelSpec = {
  id: "llama-3.3-70b-instruct",
  family: "llama3.3",
  displayName: "Llama 3.3 70B Instruct",
  paramsB: 70.55, // 70,553,706,496 (quoted for the AWQ copy; same architecture)
  layers: 80,
  hiddenSize: 8192,
  intermediateSize: 28672,
  attentionHeads: 64,
  kvHeads: 8,
  headDim: 128, // hidden / heads
  maxContext: 131072,
  vocabSize: 128256,
  tiedEmbeddings: false,
  licence: "llama3.3",
  gated: true,
  variants: [
    // [D] total_size 141,107,412,992 B is the Llama-3.1-70B-Instruct index; 3.3 has the
    // identical architecture and parameter count (70,553,706,496 x 2 B).
    variant("bf16", "meta-llama/Llama-3.3-70B-Instruct", "weightsGB [D] from the identical Llama-3.1-70B safetensors index", 141.11),
    variant("fp8", "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"),
    // Lead: hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4 is 39.77 GB; this 3.3
    // repo should be the same size but no figure was read, so weightsGB is left out.
    variant("awq", "casperhansen/llama-3.3-70b-instruct-awq", "size not read; expect ~39.8 GB like the 3.1 70B AWQ-INT4 [U]"),
    notOnLorax(variant("gptq", "RedHatAI/Llama-3.3-70B-Instruct-quantized.w4a16", "GPTQ INT4 in compressed-tensors format: vLLM only"), LORAX_CHECKPOINT_GAPS.compressedTensors),
  ],
  managedIds: {
    together_ai: "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    fireworks_ai: "accounts/fireworks/models/llama-v3p3-70b-instruct",
    deepinfra: "meta-llama/Llama-3.3-70B-Instruct",
  },
  source: source(
    "https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct/blob/main/config.json",
    "Gated repo, so config read via public copies (oumi llama3_3 recipe README; Llama-3.x-70B config.json copies); matches facts lead.",
  ),
};

// ---------------------------------------------------------------- Qwen 2.5

/** Official Qwen quantized repos and RedHatAI FP8, all confirmed to exist by name. */
function qwenVariants(size: string, bf16GB?: number, bf16Note?: string, awqGB?: number): readonly ModelVariant[] {
  const base = `Qwen/Qwen2.5-${size}-Instruct`;
  return [
    variant("bf16", base, bf16Note, bf16GB),
    variant("fp8", `RedHatAI/Qwen2.5-${size}-Instruct-FP8-dynamic`),
    variant("awq", `${base}-AWQ`, awqGB === undefined ? undefined : "weightsGB from facts lead [U]", awqGB),
    variant("gptq", `${base}-GPTQ-Int4`),
  ];
}

/** Checkpoints of a Qwen2.5 model with tied embeddings: LoRAX 0.12.1 loads none of them. */
function tiedEmbeddings(variants: readonly ModelVariant[]): readonly ModelVariant[] {
  return variants.map((v) => notOnLorax(v, LORAX_CHECKPOINT_GAPS.tiedEmbeddings));
}

const QWEN_CONFIG_NOTE =
  "config.json read via public copies of the Qwen2.5 configs (base model configs differ only in max_position_embeddings); served context 32768.";

const QWEN2_5_0_5B: ModelSpec = {
  id: "qwen2.5-0.5b-instruct",
  family: "qwen2.5",
  displayName: "Qwen2.5 0.5B Instruct",
  paramsB: 0.49,
  layers: 24,
  hiddenSize: 896,
  intermediateSize: 4864,
  attentionHeads: 14,
  kvHeads: 2,
  headDim: 64, // 896 / 14
  maxContext: 32768,
  vocabSize: 151936,
  tiedEmbeddings: true,
  licence: "apache-2.0",
  gated: false,
  // model.safetensors file is 988,097,824 B (published file size incl. header).
  variants: tiedEmbeddings(qwenVariants("0.5B", 0.99, "weightsGB = published model.safetensors size")),
  managedIds: {
    fireworks_ai: "accounts/fireworks/models/qwen2p5-0p5b-instruct", // [U] serverless
  },
  source: source(
    "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/config.json",
    `${QWEN_CONFIG_NOTE} intermediate_size from the identical Qwen2-0.5B config copy; licence apache-2.0 per facts lead [U].`,
  ),
};

const QWEN2_5_1_5B: ModelSpec = {
  id: "qwen2.5-1.5b-instruct",
  family: "qwen2.5",
  displayName: "Qwen2.5 1.5B Instruct",
  paramsB: 1.54,
  layers: 28,
  hiddenSize: 1536,
  intermediateSize: 8960,
  attentionHeads: 12,
  kvHeads: 2,
  headDim: 128, // 1536 / 12
  maxContext: 32768,
  vocabSize: 151936,
  tiedEmbeddings: true,
  licence: "apache-2.0",
  gated: false,
  variants: tiedEmbeddings(qwenVariants("1.5B")),
  managedIds: {
    fireworks_ai: "accounts/fireworks/models/qwen2p5-1p5b-instruct", // [U] serverless
  },
  source: source(
    "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct/blob/main/config.json",
    `${QWEN_CONFIG_NOTE} licence apache-2.0 per facts lead [U].`,
  ),
};

const QWEN2_5_3B: ModelSpec = {
  id: "qwen2.5-3b-instruct",
  family: "qwen2.5",
  displayName: "Qwen2.5 3B Instruct",
  paramsB: 3.09,
  layers: 36,
  hiddenSize: 2048,
  intermediateSize: 11008,
  attentionHeads: 16,
  kvHeads: 2,
  headDim: 128, // 2048 / 16
  maxContext: 32768,
  vocabSize: 151936,
  tiedEmbeddings: true,
  licence: "qwen-research",
  gated: false,
  // safetensors index total_size 6,171,877,376 B.
  variants: tiedEmbeddings(qwenVariants("3B", 6.17, "weightsGB = safetensors index total_size")),
  managedIds: {},
  source: source(
    "https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/config.json",
    `${QWEN_CONFIG_NOTE} Qwen Research licence (non-commercial) per facts lead [U]: check before commercial use.`,
  ),
};

const QWEN2_5_7B: ModelSpec = {
  id: "qwen2.5-7b-instruct",
  family: "qwen2.5",
  displayName: "Qwen2.5 7B Instruct",
  paramsB: 7.61,
  layers: 28,
  hiddenSize: 3584,
  intermediateSize: 18944,
  attentionHeads: 28,
  kvHeads: 4,
  headDim: 128, // 3584 / 28
  maxContext: 32768,
  vocabSize: 152064,
  tiedEmbeddings: false,
  licence: "apache-2.0",
  gated: false,
  // bf16: safetensors index total_size 15,231,233,024 B. AWQ 5.57 GB: facts lead [U].
  variants: qwenVariants("7B", 15.23, "weightsGB = safetensors index total_size", 5.57),
  managedIds: {
    together_ai: "Qwen/Qwen2.5-7B-Instruct-Turbo",
    fireworks_ai: "accounts/fireworks/models/qwen2p5-7b-instruct",
    deepinfra: "Qwen/Qwen2.5-7B-Instruct",
  },
  source: source("https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/config.json", QWEN_CONFIG_NOTE),
};

const QWEN2_5_14B: ModelSpec = {
  id: "qwen2.5-14b-instruct",
  family: "qwen2.5",
  displayName: "Qwen2.5 14B Instruct",
  paramsB: 14.7,
  layers: 48,
  hiddenSize: 5120,
  intermediateSize: 13824,
  attentionHeads: 40,
  kvHeads: 8,
  headDim: 128, // 5120 / 40
  maxContext: 32768,
  vocabSize: 152064,
  tiedEmbeddings: false,
  licence: "apache-2.0",
  gated: false,
  variants: qwenVariants("14B"),
  managedIds: {
    // [U] LiteLLM's price map spells it "qwen-v2p5-14b-instruct"; Fireworks' fine-tuning
    // base-model lists use "qwen2p5-14b-instruct".
    fireworks_ai: "accounts/fireworks/models/qwen2p5-14b-instruct",
  },
  source: source(
    "https://huggingface.co/Qwen/Qwen2.5-14B-Instruct/blob/main/config.json",
    `${QWEN_CONFIG_NOTE} licence apache-2.0 per facts lead [U].`,
  ),
};

const QWEN2_5_32B: ModelSpec = {
  id: "qwen2.5-32b-instruct",
  family: "qwen2.5",
  displayName: "Qwen2.5 32B Instruct",
  paramsB: 32.5,
  layers: 64,
  hiddenSize: 5120,
  intermediateSize: 27648,
  attentionHeads: 40,
  kvHeads: 8,
  headDim: 128,
  maxContext: 32768,
  vocabSize: 152064,
  tiedEmbeddings: false,
  licence: "apache-2.0",
  gated: false,
  variants: qwenVariants("32B", undefined, undefined, 19.33), // AWQ size: facts lead [U]
  managedIds: {
    together_ai: "Qwen/Qwen2.5-32B-Instruct-Turbo", // [U] seen in one third-party list only
    fireworks_ai: "accounts/fireworks/models/qwen2p5-32b-instruct",
  },
  source: source("https://huggingface.co/Qwen/Qwen2.5-32B-Instruct/blob/main/config.json", QWEN_CONFIG_NOTE),
};

const QWEN2_5_72B: ModelSpec = {
  id: "qwen2.5-72b-instruct",
  family: "qwen2.5",
  displayName: "Qwen2.5 72B Instruct",
  paramsB: 72.7,
  layers: 80,
  hiddenSize: 8192,
  intermediateSize: 29568, // [U] not re-read this session
  attentionHeads: 64,
  kvHeads: 8,
  headDim: 128,
  maxContext: 32768,
  vocabSize: 152064,
  tiedEmbeddings: false,
  licence: "qwen",
  gated: false,
  // AWQ: facts lead says ">= 39.1 GB", not an exact figure, so weightsGB is left out.
  variants: qwenVariants("72B"),
  managedIds: {
    together_ai: "Qwen/Qwen2.5-72B-Instruct-Turbo",
    fireworks_ai: "accounts/fireworks/models/qwen2p5-72b-instruct",
    deepinfra: "Qwen/Qwen2.5-72B-Instruct",
  },
  source: source(
    "https://huggingface.co/Qwen/Qwen2.5-72B-Instruct/blob/main/config.json",
    `${QWEN_CONFIG_NOTE} Qwen licence (commercial use above a user threshold needs a licence from Alibaba). AWQ >= 39.1 GB per facts lead [U].`,
  ),
};

// ---------------------------------------------------------------- Mistral

const MISTRAL_7B_V0_3: ModelSpec = {
  id: "mistral-7b-instruct-v0.3",
  family: "mistral",
  displayName: "Mistral 7B Instruct v0.3",
  paramsB: 7.25,
  layers: 32,
  hiddenSize: 4096,
  intermediateSize: 14336,
  attentionHeads: 32,
  kvHeads: 8,
  headDim: 128, // 4096 / 32
  maxContext: 32768,
  vocabSize: 32768,
  tiedEmbeddings: false,
  licence: "apache-2.0",
  gated: true,
  variants: [
    variant("bf16", "mistralai/Mistral-7B-Instruct-v0.3"),
    variant("fp8", "RedHatAI/Mistral-7B-Instruct-v0.3-FP8", "formerly neuralmagic/Mistral-7B-Instruct-v0.3-FP8"),
    variant("awq", "solidrust/Mistral-7B-Instruct-v0.3-AWQ", "community quant"),
    variant("gptq", "RedHatAI/Mistral-7B-Instruct-v0.3-GPTQ-4bit"),
  ],
  managedIds: {
    together_ai: "mistralai/Mistral-7B-Instruct-v0.3",
    fireworks_ai: "accounts/fireworks/models/mistral-7b-instruct-v3", // Fireworks' name for v0.3
  },
  source: source(
    "https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.3/blob/main/config.json",
    "Architecture from facts lead and Mistral 7B reference configs (dim 4096, 32 layers, 8 KV heads, hidden 14336); vocab 32768 is the v0.3 extension. Mistral gated its HF repos in 2024 (share-contact-info agreement); v0.3 assumed gated like v0.1/v0.2 [U]. DeepInfra: not in LiteLLM's DeepInfra list, omitted.",
  ),
};

const MISTRAL_NEMO_12B: ModelSpec = {
  id: "mistral-nemo-12b-instruct",
  family: "mistral",
  displayName: "Mistral Nemo Instruct 2407 (12B)",
  paramsB: 12.2,
  layers: 40,
  hiddenSize: 5120,
  intermediateSize: 14336,
  attentionHeads: 32,
  kvHeads: 8,
  headDim: 128, // explicit head_dim: 32 x 128 = 4096, not the hidden size 5120
  // config.json of Instruct-2407 reports max_position_embeddings 1024000 (facts lead [U]);
  // the Base-2407 config copy read says 128000 and the model card says "128k context".
  // 128000 is recorded so nothing plans for 1M tokens: always pass --max-model-len.
  maxContext: 128000,
  vocabSize: 131072,
  tiedEmbeddings: false,
  licence: "apache-2.0",
  gated: true,
  variants: [
    variant("bf16", "mistralai/Mistral-Nemo-Instruct-2407"),
    variant("fp8", "RedHatAI/Mistral-Nemo-Instruct-2407-FP8", "formerly neuralmagic/Mistral-Nemo-Instruct-2407-FP8"),
    variant("awq", "casperhansen/mistral-nemo-instruct-2407-awq", "community quant; reported working on sm_120 with awq_marlin (vllm#37387)"),
    variant("gptq", "shuyuej/Mistral-Nemo-Instruct-2407-GPTQ", "community quant; 4-bit assumed (a separate -GPTQ-INT8 repo exists) [U]"),
  ],
  managedIds: {
    fireworks_ai: "accounts/fireworks/models/mistral-nemo-instruct-2407",
    deepinfra: "mistralai/Mistral-Nemo-Instruct-2407",
  },
  source: source(
    "https://huggingface.co/mistralai/Mistral-Nemo-Instruct-2407/blob/main/config.json",
    "Architecture from the Mistral-Nemo-Base-2407 config copy (thunder_model_blocks) and the model card (40 layers, dim 5120, head dim 128, 32 heads, 8 KV heads, vocab 2^17); marked gated in a public model list [U].",
  ),
};

const MISTRAL_SMALL_24B: ModelSpec = {
  id: "mistral-small-24b-instruct",
  family: "mistral",
  displayName: "Mistral Small 24B Instruct 2501",
  paramsB: 23.6,
  layers: 40,
  hiddenSize: 5120,
  intermediateSize: 32768, // [U] not read this session
  attentionHeads: 32,
  kvHeads: 8,
  headDim: 128, // explicit head_dim: 32 x 128 = 4096, not the hidden size 5120
  maxContext: 32768,
  vocabSize: 131072,
  tiedEmbeddings: false,
  licence: "apache-2.0",
  gated: true,
  variants: [
    variant("bf16", "mistralai/Mistral-Small-24B-Instruct-2501"),
    variant("fp8", "RedHatAI/Mistral-Small-24B-Instruct-2501-FP8-dynamic"),
    variant("awq", "stelterlab/Mistral-Small-24B-Instruct-2501-AWQ", "community quant (AWQ 4-bit, group 128, GEMM)"),
    notOnLorax(variant("gptq", "RedHatAI/Mistral-Small-24B-Instruct-2501-quantized.w4a16", "GPTQ INT4 in compressed-tensors format: vLLM only"), LORAX_CHECKPOINT_GAPS.compressedTensors),
  ],
  managedIds: {
    together_ai: "mistralai/Mistral-Small-24B-Instruct-2501",
    fireworks_ai: "accounts/fireworks/models/mistral-small-24b-instruct-2501",
    deepinfra: "mistralai/Mistral-Small-24B-Instruct-2501",
  },
  source: source(
    "https://huggingface.co/mistralai/Mistral-Small-24B-Instruct-2501/blob/main/config.json",
    "Layers/hidden/heads/KV heads/head dim/context/vocab from facts lead; model card copy confirms apache-2.0, 32k context, 131k Tekken vocab and an extra_gated_description (gated).",
  ),
};

export const MODELS: readonly ModelSpec[] = [
  LLAMA_3_3_70B,
  QWEN2_5_0_5B,
  QWEN2_5_1_5B,
  QWEN2_5_3B,
  QWEN2_5_7B,
  QWEN2_5_14B,
  QWEN2_5_32B,
  QWEN2_5_72B,
  MISTRAL_7B_V0_3,
  MISTRAL_NEMO_12B,
  MISTRAL_SMALL_24B,
];
