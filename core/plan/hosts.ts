/**
 * Each host of the stack fitted with the fit planner and sized with the capacity model: the
 * target-neutral `HostPlan` both targets read. The engine settings a fit depends on are built
 * by one function, which `recommend`'s GPU tiers use too.
 */
import type { EngineKind, GpuSpec, ModelSpec } from "../catalog/types";
import { ENGINE_DEFAULTS } from "../config/defaults";
import type { HostConfig, StackSpec, TrafficConfig } from "../config/schema";
import { type CapacityEstimate, estimateCapacity } from "./capacity";
import { type FitRequest, type HostFit, kvDtypeBytes } from "./fit";
import { kvBytesPerToken } from "./memory";
import type { HostPlan, LoraPlan } from "./types";

/** The engine settings a fit depends on. */
export interface EngineFitSettings {
  readonly kind: EngineKind;
  readonly gpuMemoryUtilization: number;
  readonly kvCacheDtype: "auto" | "fp8";
  readonly maxNumSeqs: number;
  readonly maxLoras: number;
  readonly maxLoraRank: number;
}

/** A stack's engine settings for the fit planner. */
export function engineFitSettings(spec: StackSpec, lora: LoraPlan | null): EngineFitSettings {
  return {
    kind: spec.engine.kind,
    gpuMemoryUtilization: spec.engine.gpu_memory_utilization,
    kvCacheDtype: spec.engine.kv_cache_dtype,
    maxNumSeqs: spec.engine.max_num_seqs,
    maxLoras: lora?.maxLoras ?? 0,
    maxLoraRank: lora?.maxLoraRank ?? 0,
  };
}

/** The stack-file defaults, for planning without a stack file (`recommend`), with `loraSlots` adapters of `loraRank`. */
export function defaultFitSettings(loraSlots: number, loraRank: number): EngineFitSettings {
  return {
    kind: ENGINE_DEFAULTS.kind,
    gpuMemoryUtilization: ENGINE_DEFAULTS.gpu_memory_utilization,
    kvCacheDtype: ENGINE_DEFAULTS.kv_cache_dtype,
    maxNumSeqs: ENGINE_DEFAULTS.max_num_seqs,
    maxLoras: loraSlots,
    maxLoraRank: loraSlots > 0 ? loraRank : 0,
  };
}

/** The fit planner's request for `count` cards of `gpu`, without the weight format. */
export function fitRequest(model: ModelSpec, gpu: GpuSpec, gpuCount: number, settings: EngineFitSettings, context: number): Omit<FitRequest, "quantization"> {
  return {
    model,
    gpu,
    gpuCount,
    engine: settings.kind,
    gpuMemoryUtilization: settings.gpuMemoryUtilization,
    kvCacheDtype: settings.kvCacheDtype,
    maxNumSeqs: settings.maxNumSeqs,
    maxLoras: settings.maxLoras,
    maxLoraRank: settings.maxLoraRank,
    requiredContext: context,
  };
}

export interface RequestShape {
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
}

/**
 * What one engine replica of a fit serves at a request shape: the capacity model at the
 * concurrency its KV cache holds for requests of that shape (at most `maxNumSeqs`).
 */
export function replicaCapacity(
  model: ModelSpec,
  fit: Pick<HostFit, "quantization" | "tensorParallel" | "memory">,
  gpu: GpuSpec,
  weightBytes: number,
  settings: Pick<EngineFitSettings, "kvCacheDtype" | "maxNumSeqs">,
  shape: RequestShape,
  utilisation: number,
  replicas = 1,
): CapacityEstimate {
  const avgTokens = shape.avgInputTokens + shape.avgOutputTokens;
  const concurrency = Math.max(1, Math.min(settings.maxNumSeqs, Math.floor(fit.memory.kvTokens / avgTokens)));
  return estimateCapacity({
    model, gpu, weightBytes, kvBytesPerToken: kvBytesPerToken(model, kvDtypeBytes(settings.kvCacheDtype)),
    tensorParallel: fit.tensorParallel, replicas, ...shape,
  }, concurrency, utilisation);
}

/** A host of the stack as planned, from its fit at the chosen weight format and the engine's context. */
export function hostPlan(
  h: HostConfig,
  gpu: GpuSpec,
  model: ModelSpec,
  fit: HostFit,
  weightBytes: number,
  maxModelLen: number,
  settings: EngineFitSettings,
  traffic: TrafficConfig,
): HostPlan {
  const shape = { avgInputTokens: traffic.avg_input_tokens, avgOutputTokens: traffic.avg_output_tokens };
  const capacity = (replicas: number): CapacityEstimate => replicaCapacity(model, fit, gpu, weightBytes, settings, shape, traffic.utilisation, replicas);
  return {
    name: h.name,
    address: h.address,
    ...(h.private_address !== undefined ? { privateAddress: h.private_address } : {}),
    sshUser: h.ssh_user,
    sshPort: h.ssh_port,
    datacenter: h.datacenter,
    gpu,
    gpuCount: h.gpu_count,
    tensorParallel: fit.tensorParallel,
    replicas: fit.replicas,
    memory: fit.memory,
    concurrencyAtMaxContext: Math.floor(fit.memory.kvTokens / maxModelLen),
    replicaCapacity: capacity(1),
    capacity: capacity(fit.replicas),
  };
}
