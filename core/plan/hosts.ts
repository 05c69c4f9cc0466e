/**
 * Each host of the stack fitted with the fit planner and sized with the capacity model: the
 * target-neutral `HostPlan` both targets read. The engine settings a fit depends on are built
 * by one function, which `recommend`'s GPU tiers use too.
 */
import type { EngineKind, GpuSpec, ModelSpec } from "../catalog/types";
import { ENGINE_DEFAULTS } from "../config/defaults";
import type { HostConfig, HostMeasurementConfig, StackSpec, TrafficConfig } from "../config/schema";
import { type CapacityInputs, type CapacityReport, type Slo, capacityFor } from "./capacity";
import { type FitRequest, type HostFit, kvDtypeBytes } from "./fit";
import { type MeasuredBasis, type Measurement, measuredCapacity, unusedBasis, usableMeasurement } from "./measured";
import { PROFILE_BATCHED_TOKENS, kvBytesPerToken } from "./memory";
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
 * What `replicas` engine replicas of a fit serve at a request shape: the capacity model
 * (core/plan/capacity.ts) with the fit's weights, KV cache and parallelism, at the highest load
 * that meets the SLO (the stack's `router.slo`, or the default). With a measurement of the host,
 * its KV cache size and curve take precedence over the model's (core/plan/measured.ts). The one
 * call every planner (stack hosts, Kubernetes groups, `recommend`'s tiers) makes.
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
  slo?: Slo,
  measurement?: Measurement,
): CapacityReport & { readonly measured?: MeasuredBasis } {
  const inputs: CapacityInputs = {
    model, gpu, weightBytes, kvBytesPerToken: kvBytesPerToken(model, kvDtypeBytes(settings.kvCacheDtype)),
    tensorParallel: fit.tensorParallel, replicas, ...shape,
    quantization: fit.quantization,
    maxNumSeqs: settings.maxNumSeqs,
    maxNumBatchedTokens: PROFILE_BATCHED_TOKENS,
    kvTokens: fit.memory.kvTokens,
  };
  if (measurement === undefined) return capacityFor(inputs, slo, utilisation);
  const { report, basis } = measuredCapacity(inputs, measurement, slo, utilisation);
  return { ...report, measured: basis };
}

/** A host of the stack as planned, from its fit at the chosen weight format and the engine's context, and its `measured` entry if any. */
export function hostPlan(
  h: HostConfig,
  gpu: GpuSpec,
  model: ModelSpec,
  fit: HostFit,
  weightBytes: number,
  maxModelLen: number,
  settings: EngineFitSettings,
  traffic: TrafficConfig,
  slo?: Slo,
  measured?: HostMeasurementConfig,
): HostPlan {
  const shape = { avgInputTokens: traffic.avg_input_tokens, avgOutputTokens: traffic.avg_output_tokens };
  const usable = measured === undefined ? undefined : usableMeasurement(measured, {
    gpu: gpu.id, gpuCount: h.gpu_count, checkpoint: fit.variant.hfRepo, gpuMemoryUtilization: settings.gpuMemoryUtilization, kvCacheDtype: settings.kvCacheDtype,
  });
  const capacity = (replicas: number): CapacityReport & { readonly measured?: MeasuredBasis } =>
    replicaCapacity(model, fit, gpu, weightBytes, settings, shape, traffic.utilisation, replicas, slo, usable?.measurement);
  const { measured: basis, ...perReplica } = capacity(1);
  const { measured: _sameBasis, ...whole } = capacity(fit.replicas);
  const measuredBasis = measured === undefined || usable === undefined ? undefined
    : basis !== undefined ? { ...basis, ignored: [...usable.ignored, ...basis.ignored] } : unusedBasis(measured, perReplica, usable.ignored);
  const kvTokens = measuredBasis?.kvTokens?.measured ?? fit.memory.kvTokens;
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
    concurrencyAtMaxContext: Math.floor(kvTokens / maxModelLen),
    replicaCapacity: perReplica,
    capacity: whole,
    ...(measuredBasis !== undefined ? { measured: measuredBasis } : {}),
  };
}
