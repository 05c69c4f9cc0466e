/**
 * The fit planner: which weights, how many GPUs per engine replica, and how much
 * context fit on a host; and, when nothing fits, concrete configurations that would.
 */
import { GPUS, MODELS } from "../catalog";
import { LORAX_FORMAT_GAPS, LORAX_UNSUPPORTED_ARCHITECTURE, LORAX_UNSUPPORTED_FIX } from "../catalog/lorax";
import { ENGINES, type EngineKind, type GpuSpec, type ModelSpec, type ModelVariant, type Quantization } from "../catalog/types";
import { GiB, type MemoryBreakdown, bytesNeededFor, memoryBreakdown } from "./memory";

/** Highest precision first: `auto` takes the first one that fits. */
export const QUANTIZATION_PREFERENCE: readonly Quantization[] = ["bf16", "fp8", "awq", "gptq"];

const TENSOR_PARALLEL_SIZES = [1, 2, 4, 8] as const;

export interface FitRequest {
  readonly model: ModelSpec;
  readonly gpu: GpuSpec;
  readonly gpuCount: number;
  readonly engine: EngineKind;
  readonly quantization: Quantization;
  readonly gpuMemoryUtilization: number;
  readonly kvCacheDtype: "auto" | "fp8";
  readonly maxNumSeqs: number;
  readonly maxLoras: number;
  readonly maxLoraRank: number;
  /** Context (tokens) at least one sequence must be able to hold. */
  readonly requiredContext: number;
}

export interface HostFit {
  readonly quantization: Quantization;
  readonly variant: ModelVariant;
  readonly tensorParallel: number;
  /** Engine replicas on the host (vLLM data parallel): whole groups of `tensorParallel` cards. */
  readonly replicas: number;
  readonly memory: MemoryBreakdown;
  /** Longest context one sequence can have, capped at the model's maximum. */
  readonly longestContext: number;
}

export type FitOutcome =
  | { readonly fits: true; readonly fit: HostFit }
  | { readonly fits: false; readonly reason: string };

export function kvDtypeBytes(kvCacheDtype: "auto" | "fp8"): number {
  return kvCacheDtype === "fp8" ? 1 : 2;
}

/** Tensor-parallel sizes vLLM accepts for this model on this many cards. */
export function tensorParallelOptions(model: ModelSpec, gpuCount: number): number[] {
  return TENSOR_PARALLEL_SIZES.filter(
    (tp) => tp <= gpuCount && model.attentionHeads % tp === 0 && (model.kvHeads % tp === 0 || tp % model.kvHeads === 0),
  );
}

/** Rounds a token count down to a tidy multiple (1024, or 256 below 4096). */
export function roundContext(tokens: number): number {
  const step = tokens >= 4096 ? 1024 : 256;
  return Math.floor(tokens / step) * step;
}

function gib(bytes: number): string {
  return (bytes / GiB).toFixed(1);
}

/** Why an engine cannot run on a card at all (no image of it runs there), and what to do instead. */
export interface EngineRefusal {
  readonly reason: string;
  readonly fix: string;
}

/**
 * Undefined when the engine runs on the card in at least one weight format and can load at
 * least one of the model's checkpoints; otherwise why not, and the fix (another engine, not
 * another card size or format).
 */
export function engineRefusal(model: ModelSpec, gpu: GpuSpec, engine: EngineKind): EngineRefusal | undefined {
  if (gpu.quantizations[engine].length === 0) {
    const where = `${engine} cannot run on ${gpu.id} (${gpu.architecture})`;
    switch (engine) {
      case "lorax":
        return { reason: `${where}: ${LORAX_UNSUPPORTED_ARCHITECTURE[gpu.architecture] ?? "no LoRAX image is built for this architecture"}`, fix: LORAX_UNSUPPORTED_FIX };
      case "vllm":
        return { reason: `${where}: ${gpu.source.note ?? "no supported build for this architecture"}`, fix: "choose another card from the catalog" };
      default: {
        const unreachable: never = engine;
        throw new Error(`unknown engine ${String(unreachable)}`);
      }
    }
  }
  const unreadable = model.variants.map((v) => v.unsupportedBy?.[engine]);
  if (unreadable.every((r) => r !== undefined)) {
    const loadable = MODELS.filter((m) => m.family === model.family && m.variants.some((v) => v.unsupportedBy?.[engine] === undefined))
      .sort((a, b) => a.paramsB - b.paramsB)[0];
    const other = ENGINES.filter((e) => e !== engine && model.variants.some((v) => v.unsupportedBy?.[e] === undefined));
    return {
      reason: `${engine} cannot load any checkpoint of ${model.id}: ${[...new Set(unreadable)].join("; ")}`,
      fix: [
        ...other.map((e) => `set engine.kind: ${e}`),
        ...(loadable ? [`serve a model ${engine} loads, such as ${loadable.id}`] : []),
      ].join(", or ") || `choose a model ${engine} loads`,
    };
  }
  return undefined;
}

/** Why a weight format cannot run at all, before any arithmetic; undefined when it can. */
export function unsupportedReason(model: ModelSpec, gpu: GpuSpec, engine: EngineKind, q: Quantization, kvCacheDtype: "auto" | "fp8"): string | undefined {
  const refusal = engineRefusal(model, gpu, engine);
  if (refusal) return `${refusal.reason}; ${refusal.fix}`;
  if (!gpu.quantizations[engine].includes(q)) {
    const gap = engine === "lorax" ? LORAX_FORMAT_GAPS[q] : undefined;
    return `${engine} does not run ${q} weights on ${gpu.id} (${gpu.architecture})${gap ? ` (${gap})` : ""}; it runs: ${gpu.quantizations[engine].join(", ")}`;
  }
  const variant = model.variants.find((v) => v.quantization === q);
  if (!variant) {
    return `the catalog has no ${q} checkpoint of ${model.id}; it has: ${model.variants.map((v) => v.quantization).join(", ")}`;
  }
  const unreadable = variant.unsupportedBy?.[engine];
  if (unreadable) return `${engine} cannot load ${variant.hfRepo}, the catalog's ${q} checkpoint of ${model.id}: ${unreadable}`;
  if (kvCacheDtype === "fp8" && gpu.architecture === "ampere") {
    return `an fp8 KV cache needs Ada or Blackwell; ${gpu.id} is Ampere`;
  }
  return undefined;
}

/** Fits one weight format on one host with the fewest cards per replica. */
export function fitOnHost(r: FitRequest): FitOutcome {
  const unsupported = unsupportedReason(r.model, r.gpu, r.engine, r.quantization, r.kvCacheDtype);
  if (unsupported) return { fits: false, reason: unsupported };
  const variant = r.model.variants.find((v) => v.quantization === r.quantization)!;
  const options = tensorParallelOptions(r.model, r.gpuCount);
  let closest: { tp: number; memory: MemoryBreakdown } | undefined;
  for (const tp of options) {
    const memory = memoryBreakdown({
      model: r.model,
      quantization: r.quantization,
      variant,
      vramGiB: r.gpu.vramGiB,
      gpuMemoryUtilization: r.gpuMemoryUtilization,
      tensorParallel: tp,
      kvDtypeBytes: kvDtypeBytes(r.kvCacheDtype),
      maxNumSeqs: r.maxNumSeqs,
      maxLoras: r.maxLoras,
      maxLoraRank: r.maxLoraRank,
    });
    closest = { tp, memory };
    if (memory.kvTokens >= r.requiredContext) {
      return {
        fits: true,
        fit: {
          quantization: r.quantization,
          variant,
          tensorParallel: tp,
          // vLLM runs the host's other cards as data-parallel replicas in the same server; LoRAX
          // has no data parallelism (one sharded model per launcher), so its spare cards idle
          // and the plan warns about them.
          replicas: r.engine === "lorax" ? 1 : Math.floor(r.gpuCount / tp),
          memory,
          longestContext: Math.min(r.model.maxContext, roundContext(memory.kvTokens)),
        },
      };
    }
  }
  if (!closest) {
    return { fits: false, reason: `${r.model.id} cannot be split over ${r.gpuCount} cards (its ${r.model.attentionHeads} attention heads need a tensor-parallel size of 1, 2, 4 or 8 that divides them)` };
  }
  const m = closest.memory;
  const need = bytesNeededFor(m, r.requiredContext);
  const cards = closest.tp === 1 ? "one" : `each of ${closest.tp}`;
  return {
    fits: false,
    reason:
      `${r.model.id} (${r.quantization}) needs ${gib(need)} GiB on ${cards} ${r.gpu.id} at tensor-parallel ${closest.tp} ` +
      `(weights ${gib(m.weights)} + activations ${gib(m.activations)} + runtime ${gib(m.runtime)}` +
      (m.lora > 0 ? ` + LoRA ${gib(m.lora)}` : "") +
      ` + KV cache for ${r.requiredContext} tokens ${gib(r.requiredContext * m.kvBytesPerTokenPerGpu)}), ` +
      `but a card gives ${gib(m.budget)} GiB (${r.gpu.vramGiB} GiB x gpu_memory_utilization ${r.gpuMemoryUtilization})`,
  };
}

/** The first weight format in preference order that fits, or every format's reason. */
export function fitBest(base: Omit<FitRequest, "quantization">, candidates: readonly Quantization[]): FitOutcome {
  // One reason, not one per format, when the engine cannot run on the card at all.
  const refusal = engineRefusal(base.model, base.gpu, base.engine);
  if (refusal) return { fits: false, reason: `${refusal.reason}; ${refusal.fix}` };
  const reasons: string[] = [];
  for (const quantization of candidates) {
    const outcome = fitOnHost({ ...base, quantization });
    if (outcome.fits) return outcome;
    reasons.push(`${quantization}: ${outcome.reason}`);
  }
  return { fits: false, reason: reasons.join("; ") };
}

export interface Alternative {
  readonly description: string;
  readonly gpu: string;
  readonly gpuCount: number;
  readonly model: string;
  readonly quantization: Quantization;
  readonly longestContext: number;
}

/**
 * Up to `limit` configurations that would fit, nearest to what was asked first: more
 * of the same card, a larger card, then a smaller model of the same family.
 */
export function waysOut(base: Omit<FitRequest, "quantization">, candidates: readonly Quantization[], limit = 3): Alternative[] {
  const out: Alternative[] = [];
  const describe = (gpu: GpuSpec, count: number, model: ModelSpec, fit: HostFit): Alternative => ({
    description: `${count}x ${gpu.id} with ${model.id} ${fit.quantization} (tensor-parallel ${fit.tensorParallel}, context up to ${fit.longestContext} tokens)`,
    gpu: gpu.id,
    gpuCount: count,
    model: model.id,
    quantization: fit.quantization,
    longestContext: fit.longestContext,
  });

  for (const count of [2, 4, 8].filter((c) => c > base.gpuCount)) {
    const o = fitBest({ ...base, gpuCount: count }, candidates);
    if (o.fits) {
      out.push(describe(base.gpu, count, base.model, o.fit));
      break;
    }
  }

  const larger = [...GPUS]
    .filter((g) => g.vramGiB > base.gpu.vramGiB)
    .sort((a, b) => a.vramGiB - b.vramGiB || b.memoryBandwidthGBs - a.memoryBandwidthGBs);
  for (const gpu of larger) {
    const o = fitBest({ ...base, gpu }, candidates);
    if (o.fits) {
      out.push(describe(gpu, base.gpuCount, base.model, o.fit));
      break;
    }
  }

  const smaller = MODELS.filter((m) => m.family === base.model.family && m.paramsB < base.model.paramsB).sort((a, b) => b.paramsB - a.paramsB);
  for (const model of smaller) {
    const o = fitBest({ ...base, model, requiredContext: Math.min(base.requiredContext, model.maxContext) }, candidates);
    if (o.fits) {
      out.push(describe(base.gpu, base.gpuCount, model, o.fit));
      break;
    }
  }
  return out.slice(0, limit);
}
