/**
 * The engine's settings, shared by every replica on every target: image, checkpoint, context,
 * LoRA slots, and how long a cold start may take.
 */
import { DEFAULT_MAX_LORAS_CAP, MODEL_DEFAULTS } from "../config/defaults";
import type { ModelConfig, StackSpec } from "../config/schema";
import { VLLM_LORA_RANKS } from "../config/schema";
import type { ModelSpec } from "../catalog/types";
import versions from "../versions.json";
import type { AdapterPlan, EnginePlan, LoraPlan } from "./types";

/**
 * Download rate the engine's first start is sized for, MB/s: a conservative figure for a rented
 * server pulling from the Hugging Face CDN [estimate]. Used for health-check grace periods and
 * start-up deadlines; a faster link only finishes early.
 */
export const DOWNLOAD_MB_PER_S = 50;
/** Loading the weights into GPU memory, compiling and capturing CUDA graphs after the download [estimate]. */
const LOAD_MINUTES = 5;
/** Never allow less than this for a first start, whatever the size [estimate]. */
const MIN_STARTUP_MINUTES = 10;

/**
 * Minutes from a cold engine start to serving: the weights' download at {@link DOWNLOAD_MB_PER_S}
 * plus the load, at least {@link MIN_STARTUP_MINUTES}.
 */
export function engineStartupMinutes(weightBytes: number): number {
  return Math.max(MIN_STARTUP_MINUTES, Math.ceil(weightBytes / 1e6 / DOWNLOAD_MB_PER_S / 60) + LOAD_MINUTES);
}

/** The context every quantization candidate must hold: `max_model_len`, or `min_context` capped at the model's maximum. */
export function requiredContext(config: ModelConfig, model: ModelSpec): number {
  return config.max_model_len ?? Math.min(config.min_context ?? MODEL_DEFAULTS.min_context, model.maxContext);
}

export function engineImage(spec: StackSpec): EnginePlan["image"] {
  const pinned = spec.engine.kind === "vllm" ? versions.vllm : versions.lorax;
  return {
    repository: pinned.image,
    tag: spec.engine.version ?? pinned.tag,
    ...(spec.engine.image_digest ? { digest: spec.engine.image_digest } : {}),
  };
}

/** The smallest rank vLLM allows that holds every adapter. */
export function maxLoraRankFor(highestRank: number): number {
  return VLLM_LORA_RANKS.find((r) => r >= highestRank) ?? VLLM_LORA_RANKS[VLLM_LORA_RANKS.length - 1]!;
}

/** LoRA slots on the GPU when `engine.max_loras` is not set: one per adapter, capped. */
export function defaultMaxLoras(adapters: number): number {
  return Math.min(adapters, DEFAULT_MAX_LORAS_CAP);
}

export function loraPlan(spec: StackSpec): LoraPlan | null {
  if (spec.adapters.length === 0) return null;
  const maxLoraRank = maxLoraRankFor(Math.max(...spec.adapters.map((a) => a.rank)));
  const maxLoras = spec.engine.max_loras ?? defaultMaxLoras(spec.adapters.length);
  const adapters: AdapterPlan[] = spec.adapters.map((a) =>
    a.source.startsWith("hf://")
      ? { name: a.name, enginePath: a.source.slice("hf://".length), rank: a.rank }
      : { name: a.name, enginePath: a.source, hostPath: a.source, rank: a.rank },
  );
  return { maxLoras, maxLoraRank, maxCpuLoras: Math.max(maxLoras, spec.adapters.length), adapters };
}
