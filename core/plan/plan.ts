/**
 * StackSpec -> DeploymentPlan: every decision the deployment makes, as plain data.
 * The Pulumi components, the offline `plan` command and the tests all consume this.
 *
 * The order: the weight format that fits every host (fit planner), the engine's context and
 * settings, each host's fit and capacity (target-neutral), the target's own part (Docker
 * hosts, or the Kubernetes placement), and the router with its upstreams from that target.
 */
import { findGpu, findModel } from "../catalog";
import type { GpuSpec, Quantization } from "../catalog/types";
import { type ConfigIssue, error, keyPath, warning } from "../config/issues";
import type { StackSpec } from "../config/schema";
import { dockerTarget } from "./docker";
import { engineImage, engineStartupMinutes, loraPlan, requiredContext } from "./engine";
import { type FitRequest, type HostFit, QUANTIZATION_PREFERENCE, engineRefusal, fitBest, fitOnHost, waysOut } from "./fit";
import { engineFitSettings, fitRequest, hostPlan } from "./hosts";
import { kubernetesTarget } from "./kubernetes";
import { measurementIssues } from "./measured";
import { PROFILE_BATCHED_TOKENS, weightBytes } from "./memory";
import { routerPlan } from "./router";
import type { EnginePlan, HostPlan, PlanResult, TargetPlan } from "./types";

export function plan(spec: StackSpec): PlanResult {
  const model = findModel(spec.model.id);
  const gpus = spec.hosts.map((h) => findGpu(h.gpu));
  if (!model || gpus.some((g) => g === undefined)) {
    // validateStackConfig reports unknown ids; planning a spec that skipped it is a programming error.
    throw new Error("plan() needs a validated StackSpec: unknown model or GPU id");
  }
  const gpuOf = (i: number): GpuSpec => gpus[i]!;
  const lora = loraPlan(spec);
  const settings = engineFitSettings(spec, lora);
  const context = requiredContext(spec.model, model);

  if (spec.model.max_model_len !== undefined && spec.model.max_model_len > model.maxContext) {
    return { ok: false, issues: [error(keyPath("model", ["max_model_len"]), `${spec.model.max_model_len} is above ${model.id}'s maximum context of ${model.maxContext}`,
      `use ${model.maxContext} or less, or leave it out to get the longest context that fits`)] };
  }

  const candidates: readonly Quantization[] = spec.model.quantization === "auto" ? QUANTIZATION_PREFERENCE : [spec.model.quantization];
  const requestFor = (i: number): Omit<FitRequest, "quantization"> => fitRequest(model, gpuOf(i), spec.hosts[i]!.gpu_count, settings, context);

  // One weight format for every host, so every replica serves the same model.
  const chosen = candidates.find((q) => spec.hosts.every((_, i) => fitOnHost({ ...requestFor(i), quantization: q }).fits));
  if (!chosen) return { ok: false, issues: fitIssues(spec, model.id, candidates, requestFor) };

  const fits = spec.hosts.map((_, i) => (fitOnHost({ ...requestFor(i), quantization: chosen }) as { fits: true; fit: HostFit }).fit);
  const maxModelLen = spec.model.max_model_len ?? Math.min(...fits.map((f) => f.longestContext));
  const variant = fits[0]!.variant;
  const weights = weightBytes(model, chosen, variant);

  const engine: EnginePlan = {
    kind: spec.engine.kind,
    image: engineImage(spec),
    servedModelName: spec.model.served_model_name ?? model.id,
    hfRepo: variant.hfRepo,
    quantization: chosen,
    weightBytes: weights,
    maxModelLen,
    gpuMemoryUtilization: spec.engine.gpu_memory_utilization,
    maxNumSeqs: spec.engine.max_num_seqs,
    maxNumBatchedTokens: PROFILE_BATCHED_TOKENS,
    enablePrefixCaching: spec.engine.enable_prefix_caching,
    kvCacheDtype: spec.engine.kv_cache_dtype,
    port: spec.engine.port,
    lora,
    startupSeconds: engineStartupMinutes(weights) * 60,
  };

  const slo = spec.router.slo ? { ttftMs: spec.router.slo.ttft_ms, tpotMs: spec.router.slo.tpot_ms } : undefined;
  const hosts: HostPlan[] = spec.hosts.map((h, i) => hostPlan(h, gpuOf(i), model, fits[i]!, weights, maxModelLen, settings, spec.traffic, slo, spec.measured[h.name]));
  const target: TargetPlan = spec.target === "kubernetes" ? kubernetesTarget(spec, hosts, weights) : dockerTarget(spec, hosts, weights);
  const router = routerPlan(spec, model, engine.servedModelName, hosts, target);

  const warnings: ConfigIssue[] = [];
  hosts.forEach((h, i) => {
    const idle = h.gpuCount - h.replicas * h.tensorParallel;
    if (idle > 0 && spec.engine.kind === "lorax") {
      warnings.push(warning(keyPath("hosts", [i, "gpu_count"]), `${idle} of ${h.gpuCount} cards on "${h.name}" stay idle: LoRAX runs one copy of the model per host (no data parallelism), on ${h.tensorParallel} card${h.tensorParallel > 1 ? "s" : ""}`,
        `set engine.kind: vllm to run a replica on every ${h.tensorParallel > 1 ? `${h.tensorParallel} cards` : "card"}, or rent a host with ${h.tensorParallel} card${h.tensorParallel > 1 ? "s" : ""}`));
    } else if (idle > 0) {
      warnings.push(warning(keyPath("hosts", [i, "gpu_count"]), `${idle} of ${h.gpuCount} cards on "${h.name}" stay idle (engine replicas use ${h.tensorParallel} cards each)`,
        `use a card count that is a multiple of ${h.tensorParallel}`));
    }
  });
  hosts.forEach((h, i) => {
    const point = h.replicaCapacity.operatingPoint;
    if (point.sloMet) return;
    const slo = h.replicaCapacity.slo;
    warnings.push(warning(keyPath("router", ["slo"]),
      `host "${h.name}" misses the SLO (TTFT ${slo.ttftMs ?? "-"} ms, ${slo.tpotMs ?? "-"} ms per token) even with one request at a time: ` +
      `it gives ${Math.round(point.ttftMs)} ms to the first token and ${Math.round(point.tpotMs)} ms per token; its router limit is one request at a time`,
      `relax router.slo, shorten traffic.avg_input_tokens, or use a faster card for hosts[${i}]`));
  });
  warnings.push(...measurementIssues(hosts, spec.traffic));
  if (spec.model.quantization === "auto" && chosen !== "bf16") {
    warnings.push(warning(keyPath("model", ["quantization"]), `auto chose ${chosen}: higher-precision weights do not fit with ${context} tokens of context`,
      "accept it, or add cards / a larger card for higher precision"));
  }
  return { ok: true, plan: { spec, model, variant, engine, hosts, router, target, warnings } };
}

/** Why no single weight format fits every host: per host, with configurations that would. */
function fitIssues(spec: StackSpec, modelId: string, candidates: readonly Quantization[], requestFor: (i: number) => Omit<FitRequest, "quantization">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  spec.hosts.forEach((h, i) => {
    // An engine with no image for the card, or that loads no checkpoint of the model: the fix
    // is another engine, not another card size.
    const refusal = engineRefusal(requestFor(i).model, requestFor(i).gpu, spec.engine.kind);
    if (refusal) {
      issues.push(error(keyPath("engine", ["kind"]), `host "${h.name}": ${refusal.reason}`, refusal.fix));
      return;
    }
    const outcome = fitBest(requestFor(i), candidates);
    if (outcome.fits) return;
    const alternatives = [
      ...(spec.model.quantization === "auto" ? [] : otherFormats(requestFor(i), spec.model.quantization)),
      ...waysOut(requestFor(i), QUANTIZATION_PREFERENCE).map((a) => a.description),
    ].slice(0, 3);
    issues.push(error(keyPath("hosts", [i]), `${modelId} does not fit host "${h.name}": ${outcome.reason}`,
      alternatives.length > 0 ? `configurations that fit: ${alternatives.join("; ")}` : "no catalog configuration fits this model; choose a smaller model"));
  });
  if (issues.length === 0) {
    issues.push(error(keyPath("model", ["quantization"]), `no single weight format of ${modelId} fits every host`,
      "set model.quantization explicitly to one that fits the smallest host, or use the same GPU model on every host"));
  }
  return issues;
}

function otherFormats(base: Omit<FitRequest, "quantization">, asked: Quantization): string[] {
  return QUANTIZATION_PREFERENCE.filter((q) => q !== asked).flatMap((q) => {
    const o = fitOnHost({ ...base, quantization: q });
    return o.fits ? [`the same host with quantization: ${q} (tensor-parallel ${o.fit.tensorParallel}, context up to ${o.fit.longestContext} tokens)`] : [];
  }).slice(0, 1);
}
