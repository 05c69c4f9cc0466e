/**
 * StackSpec -> DeploymentPlan: every decision the deployment makes, as plain data.
 * The Pulumi components, the offline `plan` command and the tests all consume this.
 */
import { findGpu, findModel } from "../catalog";
import { FRONTIER_PROVIDERS, MANAGED_PROVIDERS } from "../catalog/providers";
import type { ModelSpec, Quantization } from "../catalog/types";
import { type ConfigIssue, error, keyPath, warning } from "../config/issues";
import type { StackSpec } from "../config/schema";
import { VLLM_LORA_RANKS } from "../config/schema";
import type { HostBootstrapParams } from "../render/host-bootstrap";
import versions from "../versions.json";
import { estimateCapacity } from "./capacity";
import { type FitRequest, type HostFit, QUANTIZATION_PREFERENCE, fitBest, fitOnHost, kvDtypeBytes, waysOut } from "./fit";
import { PROFILE_BATCHED_TOKENS, kvBytesPerToken, weightBytes } from "./memory";
import { placeEngines } from "./placement";
import type { AdapterPlan, ApiTierPlan, TlsPlan, DeploymentPlan, EnginePlan, HostPlan, LoraPlan, PlanResult, RouterPlan, RouterSecretEnv } from "./types";

/** Env var names inside the containers for secrets made by the deployment itself. */
export const ENGINE_API_KEY_ENV = "VLLM_API_KEY";
export const ROUTER_ENGINE_KEY_ENV = "HOSTED_VLLM_API_KEY";
export const ROUTER_MASTER_KEY_ENV = "LITELLM_MASTER_KEY";
export const HF_TOKEN_ENV = "HF_TOKEN";
/** Model name at the router that goes straight to the frontier tier. */
export const FRONTIER_MODEL_NAME = "frontier";

const DEFAULT_MIN_CONTEXT = 8192;
/** Disk the container images need besides the weights (the vLLM image unpacks to ~20 GB) [estimate]. */
const IMAGE_DISK_GB = 40;

export function plan(spec: StackSpec): PlanResult {
  const model = findModel(spec.model.id);
  const gpus = spec.hosts.map((h) => findGpu(h.gpu));
  if (!model || gpus.some((g) => g === undefined)) {
    // validateStackConfig reports unknown ids; planning a spec that skipped it is a programming error.
    throw new Error("plan() needs a validated StackSpec: unknown model or GPU id");
  }
  const lora = loraPlan(spec);
  const requiredContext = spec.model.max_model_len ?? Math.min(spec.model.min_context ?? DEFAULT_MIN_CONTEXT, model.maxContext);
  const issues: ConfigIssue[] = [];

  if (spec.model.max_model_len !== undefined && spec.model.max_model_len > model.maxContext) {
    issues.push(error(keyPath("model", ["max_model_len"]), `${spec.model.max_model_len} is above ${model.id}'s maximum context of ${model.maxContext}`,
      `use ${model.maxContext} or less, or leave it out to get the longest context that fits`));
    return { ok: false, issues };
  }

  const candidates: readonly Quantization[] = spec.model.quantization === "auto" ? QUANTIZATION_PREFERENCE : [spec.model.quantization];
  const requestFor = (i: number): Omit<FitRequest, "quantization"> => ({
    model,
    gpu: gpus[i]!,
    gpuCount: spec.hosts[i]!.gpu_count,
    engine: spec.engine.kind,
    gpuMemoryUtilization: spec.engine.gpu_memory_utilization,
    kvCacheDtype: spec.engine.kv_cache_dtype,
    maxNumSeqs: spec.engine.max_num_seqs,
    maxLoras: lora?.maxLoras ?? 0,
    maxLoraRank: lora?.maxLoraRank ?? 0,
    requiredContext,
  });

  // One weight format for every host, so every replica serves the same model.
  const chosen = candidates.find((q) => spec.hosts.every((_, i) => fitOnHost({ ...requestFor(i), quantization: q }).fits));
  if (!chosen) {
    spec.hosts.forEach((h, i) => {
      const outcome = fitBest(requestFor(i), candidates);
      if (outcome.fits) return;
      const alternatives = [
        ...(spec.model.quantization === "auto" ? [] : otherFormats(requestFor(i), spec.model.quantization)),
        ...waysOut(requestFor(i), QUANTIZATION_PREFERENCE).map((a) => a.description),
      ].slice(0, 3);
      issues.push(error(keyPath("hosts", [i]), `${model.id} does not fit host "${h.name}": ${outcome.reason}`,
        alternatives.length > 0 ? `configurations that fit: ${alternatives.join("; ")}` : "no catalog configuration fits this model; choose a smaller model"));
    });
    if (issues.length === 0) {
      issues.push(error(keyPath("model", ["quantization"]), `no single weight format of ${model.id} fits every host`,
        "set model.quantization explicitly to one that fits the smallest host, or use the same GPU model on every host"));
    }
    return { ok: false, issues };
  }

  const fits = spec.hosts.map((_, i) => fitOnHost({ ...requestFor(i), quantization: chosen }) as { fits: true; fit: HostFit });
  const maxModelLen = spec.model.max_model_len ?? Math.min(...fits.map((f) => f.fit.longestContext));
  const variant = fits[0]!.fit.variant;
  const servedModelName = spec.model.served_model_name ?? model.id;
  const weights = weightBytes(model, chosen, variant);
  const kvPerToken = kvBytesPerToken(model, kvDtypeBytes(spec.engine.kv_cache_dtype));
  const routerHost = spec.hosts[0]!;
  const networkName = `${spec.stack}-inference`;

  const engine: EnginePlan = {
    kind: spec.engine.kind,
    image: engineImage(spec),
    servedModelName,
    hfRepo: variant.hfRepo,
    quantization: chosen,
    maxModelLen,
    gpuMemoryUtilization: spec.engine.gpu_memory_utilization,
    maxNumSeqs: spec.engine.max_num_seqs,
    maxNumBatchedTokens: PROFILE_BATCHED_TOKENS,
    enablePrefixCaching: spec.engine.enable_prefix_caching,
    kvCacheDtype: spec.engine.kv_cache_dtype,
    port: spec.engine.port,
    lora,
  };

  const warnings: ConfigIssue[] = [];
  const hosts: HostPlan[] = spec.hosts.map((h, i) => {
    const { fit } = fits[i]!;
    const gpu = gpus[i]!;
    const runsRouter = i === 0;
    const idle = h.gpu_count - fit.replicas * fit.tensorParallel;
    if (idle > 0) {
      warnings.push(warning(keyPath("hosts", [i, "gpu_count"]), `${idle} of ${h.gpu_count} cards on "${h.name}" stay idle (engine replicas use ${fit.tensorParallel} cards each)`,
        `use a card count that is a multiple of ${fit.tensorParallel}`));
    }
    const concurrencyAtMaxContext = Math.floor(fit.memory.kvTokens / maxModelLen);
    const avgTokens = spec.traffic.avg_input_tokens + spec.traffic.avg_output_tokens;
    const concurrency = Math.max(1, Math.min(spec.engine.max_num_seqs, Math.floor(fit.memory.kvTokens / avgTokens)));
    const capacity = estimateCapacity({
      model, gpu, weightBytes: weights, kvBytesPerToken: kvPerToken, tensorParallel: fit.tensorParallel, replicas: fit.replicas,
      avgInputTokens: spec.traffic.avg_input_tokens, avgOutputTokens: spec.traffic.avg_output_tokens,
    }, concurrency, spec.traffic.utilisation);
    const engineContainerName = `${h.name}-engine`;
    const reachAt = h.private_address ?? h.address;
    const endpoint = runsRouter
      ? { apiBase: `http://${engineContainerName}:${spec.engine.port}/v1` }
      : { apiBase: `http://${reachAt}:${spec.engine.port}/v1`, publishOn: { address: reachAt, port: spec.engine.port } };
    const bootstrap: HostBootstrapParams = {
      hostName: h.name,
      sshUser: h.ssh_user,
      // The firewall admits SSH on this port only: anything else locks the deployment out.
      sshPort: h.ssh_port,
      gpu: { smiName: gpu.smiName, count: h.gpu_count, memoryMiB: gpu.vramGiB * 1024, minDriverBranch: gpu.minDriverBranch, openKernelModules: gpu.requiresOpenKernelModules },
      cacheDir: spec.access.cache_dir,
      minFreeDiskGB: Math.ceil((weights / 1e9) * 1.5 + IMAGE_DISK_GB),
      adminCidrs: spec.access.admin_cidrs,
      router: runsRouter ? { ports: spec.router.tls ? [80, 443] : [spec.router.port], allowedCidrs: spec.router.allowed_cidrs } : null,
      engine: runsRouter ? null : { port: spec.engine.port, allowedSources: routerSources(spec) },
    };
    return {
      name: h.name, address: h.address, sshUser: h.ssh_user, sshPort: h.ssh_port, datacenter: h.datacenter,
      gpu, gpuCount: h.gpu_count, tensorParallel: fit.tensorParallel, replicas: fit.replicas, memory: fit.memory,
      concurrencyAtMaxContext, capacity, runsRouter, engineContainerName, endpoint, bootstrap,
    };
  });

  if (spec.model.quantization === "auto" && chosen !== "bf16") {
    warnings.push(warning(keyPath("model", ["quantization"]), `auto chose ${chosen}: higher-precision weights do not fit with ${requiredContext} tokens of context`,
      "accept it, or add cards / a larger card for higher precision"));
  }

  const router = routerPlan(spec, model, servedModelName, routerHost.name);
  const placement = spec.target === "kubernetes"
    ? placeEngines({
        model, quantization: chosen, engine: spec.engine.kind, gpuMemoryUtilization: spec.engine.gpu_memory_utilization,
        kvCacheDtype: spec.engine.kv_cache_dtype, maxNumSeqs: spec.engine.max_num_seqs, maxLoras: lora?.maxLoras ?? 0,
        maxLoraRank: lora?.maxLoraRank ?? 0, maxModelLen, avgInputTokens: spec.traffic.avg_input_tokens,
        avgOutputTokens: spec.traffic.avg_output_tokens, utilisation: spec.traffic.utilisation,
        nodes: spec.hosts.map((h, i) => ({ name: h.name, gpu: gpus[i]!, gpuCount: h.gpu_count })),
        reserveSurgeSlot: spec.kubernetes.reserve_surge_slot,
      })
    : undefined;
  for (const u of placement?.unplaced ?? []) {
    issues.push(error(keyPath("hosts", [spec.hosts.findIndex((h) => h.name === u.node)]), `no engine replica fits node "${u.node}": ${u.reason}`,
      "lower model.max_model_len, or use larger cards on this node"));
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, plan: { spec, model, variant, engine, hosts, router, networkName, ...(placement ? { placement } : {}), warnings } };
}

function otherFormats(base: Omit<FitRequest, "quantization">, asked: Quantization): string[] {
  return QUANTIZATION_PREFERENCE.filter((q) => q !== asked).flatMap((q) => {
    const o = fitOnHost({ ...base, quantization: q });
    return o.fits ? [`the same host with quantization: ${q} (tensor-parallel ${o.fit.tensorParallel}, context up to ${o.fit.longestContext} tokens)`] : [];
  }).slice(0, 1);
}

/** Addresses the router's traffic to other hosts' engines comes from. */
function routerSources(spec: StackSpec): string[] {
  const r = spec.hosts[0]!;
  const addresses = [r.private_address, r.address].filter((a): a is string => a !== undefined);
  return addresses.map((a) => (a.includes(":") ? `${a}/128` : /^[0-9.]+$/.test(a) ? `${a}/32` : a));
}

function engineImage(spec: StackSpec): EnginePlan["image"] {
  const pinned = spec.engine.kind === "vllm" ? versions.vllm : versions.lorax;
  return {
    repository: pinned.image,
    tag: spec.engine.version ?? pinned.tag,
    ...(spec.engine.image_digest ? { digest: spec.engine.image_digest } : {}),
  };
}

function loraPlan(spec: StackSpec): LoraPlan | null {
  if (spec.adapters.length === 0) return null;
  const highest = Math.max(...spec.adapters.map((a) => a.rank));
  const maxLoraRank = VLLM_LORA_RANKS.find((r) => r >= highest) ?? VLLM_LORA_RANKS[VLLM_LORA_RANKS.length - 1]!;
  const maxLoras = spec.engine.max_loras ?? Math.min(spec.adapters.length, 4);
  const adapters: AdapterPlan[] = spec.adapters.map((a) =>
    a.source.startsWith("hf://")
      ? { name: a.name, enginePath: a.source.slice("hf://".length), rank: a.rank }
      : { name: a.name, enginePath: a.source, hostPath: a.source, rank: a.rank },
  );
  return { maxLoras, maxLoraRank, maxCpuLoras: Math.max(maxLoras, spec.adapters.length), adapters };
}

function routerPlan(spec: StackSpec, model: ModelSpec, servedModelName: string, hostName: string): RouterPlan {
  const secretEnv: RouterSecretEnv[] = [];
  /** One env var per distinct credential: two entries of one provider with different keys get `_2`, `_3`. */
  const envFor = (base: string, configKey: string): string => {
    const existing = secretEnv.find((s) => s.configKey === configKey && s.env.startsWith(base));
    if (existing) return existing.env;
    const taken = secretEnv.filter((s) => s.env === base || s.env.startsWith(`${base}_`)).length;
    const env = taken === 0 ? base : `${base}_${taken + 1}`;
    secretEnv.push({ env, configKey });
    return env;
  };
  const m = spec.router.managed;
  const managed: ApiTierPlan | null = m
    ? {
        provider: m.provider,
        litellmModel: `${MANAGED_PROVIDERS[m.provider].litellmPrefix}${m.model ?? model.managedIds[m.provider]!}`,
        apiKeyEnv: envFor(MANAGED_PROVIDERS[m.provider].apiKeyEnv, m.api_key_secret),
      }
    : null;
  const frontier: ApiTierPlan[] = spec.router.frontier.map((f) => ({
    provider: f.provider,
    litellmModel: `${FRONTIER_PROVIDERS[f.provider].litellmPrefix}${f.model}`,
    apiKeyEnv: envFor(FRONTIER_PROVIDERS[f.provider].apiKeyEnv, f.api_key_secret),
  }));
  const modelNames = [servedModelName, ...spec.adapters.map((a) => a.name), ...(frontier.length > 0 ? [FRONTIER_MODEL_NAME] : [])];
  const t = spec.router.tls;
  const tls: TlsPlan | null = t
    ? {
        image: { repository: versions.caddy.image, tag: versions.caddy.tag },
        domain: t.domain,
        ...(t.email ? { email: t.email } : {}),
        ...(t.certificate_secret && t.private_key_secret ? { certificate: { certificateKey: t.certificate_secret, privateKeyKey: t.private_key_secret } } : {}),
        dataDir: "/var/lib/hybrid-inference/caddy",
      }
    : null;
  return {
    image: { repository: versions.litellm.image, tag: versions.litellm.tag },
    tls,
    managed,
    frontier,
    hardTag: spec.router.hard_tag,
    requestTimeoutS: spec.router.request_timeout_s,
    numRetries: spec.router.num_retries,
    allowedFails: spec.router.allowed_fails,
    cooldownTimeS: spec.router.cooldown_time_s,
    adminUi: spec.router.admin_ui,
    hostName,
    port: spec.router.port,
    numWorkers: spec.router.num_workers,
    allowedCidrs: spec.router.allowed_cidrs,
    modelNames,
    secretEnv,
  };
}
