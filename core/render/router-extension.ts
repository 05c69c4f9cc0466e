/**
 * The router extension (templates/router/hybrid_router, a LiteLLM callback package) as
 * plain data: its settings file, the changes it needs in the LiteLLM config, and what the
 * router container must carry (files, env, arguments, volume).
 *
 * Input is `RouterExtensionInput`, plain values a plan can provide; `routerExtensionInput`
 * builds it from a `DeploymentPlan`, its policy from the stack file (`plan.router.policy`:
 * adapter fallbacks, escalation, frontier budgets, mid-stream mode, first-token limit).
 * What ships is core/render/router-config.ts's `renderRouter`. Pure: reads the package's
 * source files, nothing else.
 *
 * Why each derived number is what it is:
 *  - engine first-token limit (unless `router.engine_first_token_s` sets it): 10 s plus the
 *    planned prompt's prefill time, at most 20 s.
 *    It is a liveness check, not a latency target: a call silent this long is cut only if
 *    the engine is also failing its health probes or is out of rotation (watchdog.py), so a
 *    slow answer from a healthy engine is never cut, and a hung engine costs a request at
 *    most this long. The 10 s floor covers connection, scheduling and one missed probe; the
 *    prefill term keeps long planned prompts clear of it. No extra allowance for the first
 *    request after a model load: vLLM opens its port only after loading and warming up, and
 *    an engine back from an outage is admitted only after a canary completion has passed.
 *  - stall: an engine with requests running whose counters have not moved for
 *    max(30 s, 2 x the prefill time of a full-context prompt) is stalled.
 *  - managed tier: the stack's request_timeout_s, as before; frontier: twice that, at least
 *    300 s - reasoning models can think for minutes before their first token.
 *  - admission burst: 5 s of the planned rate (at least one request), so over any minute an
 *    engine is admitted at most 5/60 (8%) over its planned rate: under the 10% the router
 *    promises, with room for a request in flight at each end of the minute.
 *  - unused and leaked admissions: 2 s (the filter-to-call gap), and max(600 s, twice the
 *    request timeout) for a call whose end a crashed worker never reported.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { CapacityReport } from "../plan/capacity";
import { FRONTIER_MODEL_NAME, ROUTER_ENGINE_KEY_ENV } from "../plan/env";
import { monitoringEnabled } from "../plan/monitoring";
import type { AdapterFallbackPolicy, DeploymentPlan } from "../plan/types";
import { type LiteLlmConfig, type LiteLlmDeployment, type UpstreamOverrides, deploymentIds, frontierGroupName, managedGroupName } from "./litellm-config";
import { templatesRoot } from "./script";
import { ROUTER_POLICY_DEFAULTS } from "../config/defaults";

export type { AdapterFallbackPolicy };
export const DEFAULT_ADAPTER_POLICY: AdapterFallbackPolicy = ROUTER_POLICY_DEFAULTS.adapter_fallback;

export interface ApiTierInput {
  readonly provider: string;
  /** LiteLLM model string, prefix included. */
  readonly litellmModel: string;
  readonly apiKeyEnv: string;
}

export interface EngineInput {
  /** Host (or engine group) name. */
  readonly name: string;
  /** The engine's OpenAI base, `http://<host>:<port>/v1`, as the router reaches it. */
  readonly apiBase: string;
  /** Requests per minute the whole engine is planned for (all adapters, all router workers). */
  readonly plannedRpm: number;
  /** Sequences the engine runs at once before requests queue. */
  readonly maxRunning: number;
  /** Prompt tokens per second one replica prefills. */
  readonly prefillTokensPerSecond: number;
}

export interface AdapterInput {
  readonly name: string;
  readonly policy: AdapterFallbackPolicy;
  /** Required for `managed`: the same fine-tune at a provider that serves LoRA on the base. */
  readonly managed?: ApiTierInput;
}

export interface EscalationInput {
  readonly enabled: boolean;
  /** Mean token log-probability below which an answer is escalated; null: not judged. */
  readonly minMeanLogprob: number | null;
  readonly onLength: boolean;
  readonly onEmpty: boolean;
  readonly onRefusal: boolean;
  readonly refusalPrefixes: readonly string[];
  /** Stream tokens held back and judged before the first byte; 0: streams are not escalated. */
  readonly streamPrefixTokens: number;
}

export interface FrontierBudgetInput {
  /** USD per UTC day, per frontier provider id; providers not listed are not limited. */
  readonly usdPerDay: Readonly<Record<string, number>>;
  /** Requests tagged with this may exceed the budget. */
  readonly overrideTag: string;
}

export interface RouterExtensionInput {
  readonly servedModelName: string;
  readonly engineKind: "vllm" | "lorax";
  /** Env var holding the engine key in the router container (for the canary); null: none. */
  readonly engineKeyEnv: string | null;
  readonly hardTag: string;
  readonly requestTimeoutS: number;
  /** `router.engine_first_token_s`; null or absent: derived (see the file header). */
  readonly firstTokenS?: number | null;
  readonly maxModelLen: number;
  readonly avgInputTokens: number;
  readonly engines: readonly EngineInput[];
  readonly adapters: readonly AdapterInput[];
  readonly managed: ApiTierInput | null;
  readonly frontier: readonly ApiTierInput[];
  readonly escalation: EscalationInput;
  readonly frontierBudget: FrontierBudgetInput;
  readonly midStream: "error" | "continue";
  /** LiteLLM's UI and docs are on: /routes and /openapi.json stay. */
  readonly adminUi: boolean;
  /** The stack's monitoring is on: the extension exports its own metrics (hybrid_router/exporter.py). */
  readonly metrics?: boolean;
}

/** The options a stack file will carry (proposed keys in the README); defaults below. */
export interface RouterExtensionOptions {
  readonly adapterPolicies?: Readonly<Record<string, { readonly policy: AdapterFallbackPolicy; readonly managed?: ApiTierInput }>>;
  readonly escalation?: Partial<EscalationInput>;
  readonly frontierBudget?: Partial<FrontierBudgetInput>;
  readonly midStream?: "error" | "continue";
}

export const DEFAULT_REFUSAL_PREFIXES: readonly string[] = [
  "I'm sorry, but I can't",
  "I'm sorry, but I cannot",
  "I can't help with",
  "I cannot help with",
  "I can't assist with",
  "I cannot assist with",
  "I'm unable to help",
];

export const DEFAULT_ESCALATION: EscalationInput = {
  enabled: false,
  minMeanLogprob: null,
  onLength: true,
  onEmpty: true,
  onRefusal: true,
  refusalPrefixes: DEFAULT_REFUSAL_PREFIXES,
  streamPrefixTokens: 0,
};

export const DEFAULT_BUDGET_OVERRIDE_TAG: string = ROUTER_POLICY_DEFAULTS.budget_override_tag;

// ---- the settings file (templates/router/hybrid_router/settings.py reads it) ------------

export const SETTINGS_VERSION = 1;
export const EXTENSION_CALLBACK = "hybrid_router.handler.handler";
export const SETTINGS_FILE_NAME = "hybrid-router.json";
export const PACKAGE_DIR = "hybrid_router";
/** Hot state (admissions, engine health): a tmpfs, cleared with the container. */
export const STATE_PATH = "/dev/shm/hybrid-router/state.db";
/** The daily frontier spend: a volume (`STATE_VOLUME`), kept across restarts within the day. */
export const STATE_VOLUME = "/var/lib/hybrid-router";
export const SPEND_PATH = `${STATE_VOLUME}/spend.db`;

export type Tier = "engine" | "managed" | "frontier";

export interface RouterExtensionSettings {
  readonly version: number;
  readonly state_path: string;
  readonly spend_path: string | null;
  readonly engine_key_env: string | null;
  readonly hard_tag: string;
  readonly engines: readonly {
    readonly name: string;
    readonly kind: "vllm" | "lorax";
    readonly health_url: string;
    readonly metrics_url: string | null;
    readonly completions_url: string;
    readonly canary_model: string;
    readonly planned_rpm: number;
    readonly max_running: number;
    readonly deployment_ids: readonly string[];
  }[];
  readonly deployments: Readonly<
    Record<string, { readonly tier: Tier; readonly model: string; readonly provider: string; readonly group: string; readonly engine: string | null; readonly continue_with: readonly string[] }>
  >;
  readonly groups: Readonly<
    Record<string, { readonly kind: "served" | "adapter" | "managed" | "frontier"; readonly adapter_policy: AdapterFallbackPolicy | null; readonly assistant_prefill: boolean }>
  >;
  readonly live_load: {
    readonly enabled: boolean;
    readonly poll_interval_s: number;
    readonly probe_timeout_s: number;
    readonly stale_after_s: number;
    readonly max_waiting: number;
    readonly kv_cache_limit: number;
    readonly burst_s: number;
    readonly unconfirmed_ttl_s: number;
    readonly confirmed_ttl_s: number;
  };
  readonly engine_timeouts: {
    readonly first_token_s: number;
    readonly connect_s: number;
    readonly recheck_s: number;
    readonly stall_s: number;
    readonly fail_threshold: number;
    readonly min_down_s: number;
  };
  readonly escalation: {
    readonly enabled: boolean;
    readonly target_group: string | null;
    readonly groups: readonly string[];
    readonly min_mean_logprob: number | null;
    readonly on_length: boolean;
    readonly on_empty: boolean;
    readonly on_refusal: boolean;
    readonly refusal_prefixes: readonly string[];
    readonly stream_prefix_tokens: number;
  };
  readonly budget: { readonly usd_per_day: Readonly<Record<string, number>>; readonly override_tag: string };
  readonly mid_stream: { readonly mode: "error" | "continue" };
  readonly hygiene: { readonly generic_errors: boolean; readonly hide_routes: boolean };
  /** Export `ROUTER_EXTENSION` (core/render/monitoring/metrics.ts) through the router's metrics port. */
  readonly metrics: { readonly enabled: boolean };
}

// ---- derived limits -----------------------------------------------------------------

export const FIRST_TOKEN_FLOOR_S = 10;
export const FIRST_TOKEN_CAP_S = 20;
export const ENGINE_CONNECT_S = 3;
export const ADMISSION_BURST_S = 5;
export const POLL_INTERVAL_S = 1;
export const PROBE_TIMEOUT_S = 2;

export interface EngineTimeouts {
  readonly firstTokenS: number;
  readonly stallS: number;
  readonly connectS: number;
  /** The deployment's own timeout: the longest a healthy engine call may take. */
  readonly requestTimeoutS: number;
}

/** The engine limits for the slowest-prefilling engine of the stack (see the file header). */
export function engineTimeouts(input: Pick<RouterExtensionInput, "engines" | "avgInputTokens" | "maxModelLen" | "requestTimeoutS" | "firstTokenS">): EngineTimeouts {
  const prefill = Math.min(...input.engines.map((e) => e.prefillTokensPerSecond).filter((x) => x > 0), Number.POSITIVE_INFINITY);
  const rate = Number.isFinite(prefill) ? prefill : 1000;
  const firstTokenS = input.firstTokenS ?? Math.min(FIRST_TOKEN_CAP_S, Math.ceil(FIRST_TOKEN_FLOOR_S + input.avgInputTokens / rate));
  const stallS = Math.max(30, Math.ceil((2 * input.maxModelLen) / rate));
  return { firstTokenS, stallS, connectS: ENGINE_CONNECT_S, requestTimeoutS: input.requestTimeoutS };
}

/** Timeouts (seconds) of the API tiers' deployments. */
export function apiTierTimeouts(requestTimeoutS: number): { readonly managed: number; readonly frontier: number } {
  return { managed: requestTimeoutS, frontier: Math.max(300, 2 * requestTimeoutS) };
}

// ---- validation ---------------------------------------------------------------------

/** Problems with the options, as messages a stack file's author can act on. */
export function routerExtensionIssues(input: RouterExtensionInput): string[] {
  const issues: string[] = [];
  for (const a of input.adapters) {
    if (a.policy === "managed" && a.managed === undefined) {
      issues.push(`adapters.${a.name}.fallback: "managed" needs the provider's model id and credential (fallback_managed: {provider, model, api_key_secret})`);
    }
    if (a.policy !== "managed" && a.managed !== undefined) {
      issues.push(`adapters.${a.name}.fallback_managed: only used with fallback "managed" (it is "${a.policy}")`);
    }
    if (a.policy === "base" && input.managed === null && input.frontier.length === 0) {
      issues.push(`adapters.${a.name}.fallback: "base" needs router.managed or router.frontier to answer with the base model`);
    }
  }
  if (input.escalation.enabled && input.frontier.length === 0) {
    issues.push("router.escalation.enabled: escalation re-asks the frontier tier, and router.frontier is empty");
  }
  if (input.escalation.minMeanLogprob !== null && input.escalation.minMeanLogprob >= 0) {
    issues.push(`router.escalation.min_mean_logprob: ${input.escalation.minMeanLogprob} must be below 0 (log-probabilities are at most 0)`);
  }
  const frontierProviders = new Set(input.frontier.map((f) => f.provider));
  for (const [provider, usd] of Object.entries(input.frontierBudget.usdPerDay)) {
    if (!frontierProviders.has(provider)) issues.push(`router.frontier_budget.${provider}: not a frontier provider of this stack`);
    if (!(usd >= 0)) issues.push(`router.frontier_budget.${provider}: ${usd} must be a number of USD >= 0`);
  }
  return issues;
}

// ---- building -----------------------------------------------------------------------

/** The model id a provider is sent, without LiteLLM's prefix. */
function providerModel(litellmModel: string): string {
  const slash = litellmModel.indexOf("/");
  return slash < 0 ? litellmModel : litellmModel.slice(slash + 1);
}

function origin(apiBase: string): string {
  const url = new URL(apiBase);
  return `${url.protocol}//${url.host}`;
}

export function adapterManagedGroupName(adapter: string): string {
  return `${adapter}-managed`;
}

export const adapterManagedDeploymentId = (adapter: string, provider: string): string => `${adapterManagedGroupName(adapter)}@${provider}`;

export interface RouterExtension {
  readonly settings: RouterExtensionSettings;
  /** Files beside the LiteLLM config (paths relative to its directory): the package and its settings. */
  readonly files: readonly { readonly path: string; readonly content: string }[];
  /** Plain env for the router container (no secret). */
  readonly env: Readonly<Record<string, string>>;
  /** Arguments added to the router's command. */
  readonly args: readonly string[];
  /** Container directory that must be a persistent volume (the daily spend). */
  readonly stateVolume: string;
  /** The LiteLLM config with the extension's changes. */
  apply(config: LiteLlmConfig): LiteLlmConfig;
}

export function routerExtension(input: RouterExtensionInput): RouterExtension {
  const issues = routerExtensionIssues(input);
  if (issues.length > 0) throw new Error(`router extension: ${issues.join("; ")}`);
  const served = input.servedModelName;
  const frontierGroups = input.frontier.map((_, i) => frontierGroupName(i));
  const managedGroup = input.managed ? managedGroupName(served) : null;
  const timeouts = engineTimeouts(input);
  const tierTimeouts = apiTierTimeouts(input.requestTimeoutS);
  const prefill = (provider: string): boolean => provider === "anthropic";

  const groups: Record<string, RouterExtensionSettings["groups"][string]> = {
    [served]: { kind: "served", adapter_policy: null, assistant_prefill: false },
  };
  if (input.managed && managedGroup) groups[managedGroup] = { kind: "managed", adapter_policy: null, assistant_prefill: prefill(input.managed.provider) };
  input.frontier.forEach((tier, i) => {
    groups[frontierGroupName(i)] = { kind: "frontier", adapter_policy: null, assistant_prefill: prefill(tier.provider) };
  });
  const adapterChain = (a: AdapterInput): string[] => {
    switch (a.policy) {
      case "none":
        return [];
      case "managed":
        return [adapterManagedGroupName(a.name)];
      case "base":
        return [...(managedGroup ? [managedGroup] : []), ...frontierGroups];
      default: {
        const never: never = a.policy;
        throw new Error(`unknown adapter policy ${String(never)}`);
      }
    }
  };
  for (const a of input.adapters) {
    groups[a.name] = { kind: "adapter", adapter_policy: a.policy, assistant_prefill: false };
    if (a.policy === "managed" && a.managed) groups[adapterManagedGroupName(a.name)] = { kind: "managed", adapter_policy: null, assistant_prefill: prefill(a.managed.provider) };
  }

  type DeploymentEntry = RouterExtensionSettings["deployments"][string];
  const deployments: Record<string, DeploymentEntry> = {};
  const engineDeploymentIds = new Map<string, string[]>();
  for (const engine of input.engines) {
    const ids: string[] = [];
    for (const modelName of [served, ...input.adapters.map((a) => a.name)]) {
      const id = deploymentIds.engine(modelName, engine.name);
      const adapter = input.adapters.find((a) => a.name === modelName);
      deployments[id] = {
        tier: "engine",
        model: modelName,
        provider: input.engineKind === "vllm" ? "hosted_vllm" : "lorax",
        group: modelName,
        engine: engine.name,
        continue_with: adapter ? adapterChain(adapter) : [...(managedGroup ? [managedGroup] : []), ...frontierGroups],
      };
      ids.push(id);
    }
    engineDeploymentIds.set(engine.name, ids);
  }
  if (input.managed && managedGroup) {
    const entry = (group: string): DeploymentEntry => ({
      tier: "managed",
      model: providerModel(input.managed!.litellmModel),
      provider: input.managed!.provider,
      group,
      engine: null,
      continue_with: frontierGroups,
    });
    deployments[deploymentIds.overflow(served, input.managed.provider)] = entry(served);
    deployments[deploymentIds.managed(served, input.managed.provider)] = entry(managedGroup);
  }
  input.frontier.forEach((tier, i) => {
    const entry = (group: string, rest: string[]): DeploymentEntry => ({
      tier: "frontier",
      model: providerModel(tier.litellmModel),
      provider: tier.provider,
      group,
      engine: null,
      continue_with: rest,
    });
    if (i === 0) deployments[deploymentIds.hard(served, input.hardTag)] = entry(served, frontierGroups.slice(1));
    deployments[deploymentIds.frontier(i, tier.provider)] = entry(frontierGroupName(i), frontierGroups.slice(i + 1));
  });
  for (const a of input.adapters) {
    if (a.policy === "managed" && a.managed) {
      deployments[adapterManagedDeploymentId(a.name, a.managed.provider)] = {
        tier: "managed",
        model: providerModel(a.managed.litellmModel),
        provider: a.managed.provider,
        group: adapterManagedGroupName(a.name),
        engine: null,
        continue_with: [],
      };
    }
  }

  const settings: RouterExtensionSettings = {
    version: SETTINGS_VERSION,
    state_path: STATE_PATH,
    spend_path: SPEND_PATH,
    engine_key_env: input.engineKeyEnv,
    hard_tag: input.hardTag,
    engines: input.engines.map((e) => ({
      name: e.name,
      kind: input.engineKind,
      health_url: `${origin(e.apiBase)}/health`,
      // LoRAX's metric names are not vLLM's: no live signal, the planned rate alone.
      metrics_url: input.engineKind === "vllm" ? `${origin(e.apiBase)}/metrics` : null,
      completions_url: `${e.apiBase.replace(/\/+$/, "")}/chat/completions`,
      canary_model: served,
      planned_rpm: e.plannedRpm,
      max_running: Math.max(1, e.maxRunning),
      deployment_ids: engineDeploymentIds.get(e.name) ?? [],
    })),
    deployments,
    groups,
    live_load: {
      enabled: input.engineKind === "vllm",
      poll_interval_s: POLL_INTERVAL_S,
      probe_timeout_s: PROBE_TIMEOUT_S,
      stale_after_s: POLL_INTERVAL_S + PROBE_TIMEOUT_S,
      max_waiting: 0,
      kv_cache_limit: 0.95,
      burst_s: ADMISSION_BURST_S,
      unconfirmed_ttl_s: 2,
      confirmed_ttl_s: Math.max(600, 2 * input.requestTimeoutS),
    },
    engine_timeouts: {
      first_token_s: timeouts.firstTokenS,
      connect_s: timeouts.connectS,
      recheck_s: 5,
      stall_s: timeouts.stallS,
      fail_threshold: 2,
      min_down_s: 5,
    },
    escalation: {
      enabled: input.escalation.enabled,
      target_group: input.frontier.length > 0 ? FRONTIER_MODEL_NAME : null,
      groups: [served],
      min_mean_logprob: input.escalation.minMeanLogprob,
      on_length: input.escalation.onLength,
      on_empty: input.escalation.onEmpty,
      on_refusal: input.escalation.onRefusal,
      refusal_prefixes: [...input.escalation.refusalPrefixes],
      stream_prefix_tokens: input.escalation.streamPrefixTokens,
    },
    budget: { usd_per_day: { ...input.frontierBudget.usdPerDay }, override_tag: input.frontierBudget.overrideTag },
    mid_stream: { mode: input.midStream },
    hygiene: { generic_errors: true, hide_routes: !input.adminUi },
    metrics: { enabled: input.metrics ?? false },
  };

  const apply = (config: LiteLlmConfig): LiteLlmConfig => applyToConfig(config, input, settings, { timeouts, tierTimeouts, adapterChain, frontierGroups });

  return {
    settings,
    files: [...packageFiles(), { path: SETTINGS_FILE_NAME, content: `${JSON.stringify(settings, null, 2)}\n` }],
    env: {
      // Belt and braces with hygiene.hide_routes: LiteLLM's own switch for /openapi.json.
      ...(input.adminUi ? {} : { NO_OPENAPI: "True" }),
    },
    // uvicorn kills a worker that misses its start-up ping within 5 s (its default), which a
    // loaded 2-core host does while importing LiteLLM (litellm/proxy/proxy_cli.py passes this on).
    args: ["--timeout_worker_healthcheck", "60"],
    stateVolume: STATE_VOLUME,
    apply,
  };
}

function applyToConfig(
  config: LiteLlmConfig,
  input: RouterExtensionInput,
  settings: RouterExtensionSettings,
  derived: { timeouts: EngineTimeouts; tierTimeouts: { managed: number; frontier: number }; adapterChain: (a: AdapterInput) => string[]; frontierGroups: string[] },
): LiteLlmConfig {
  const modelList: LiteLlmDeployment[] = config.model_list.map((d) => {
    const entry = settings.deployments[d.model_info.id];
    if (entry === undefined) return d;
    const params = { ...d.litellm_params };
    switch (entry.tier) {
      case "engine":
        // The extension's shared admission replaces LiteLLM's per-worker, per-deployment rpm
        // (which admitted workers x (1 + adapters) times an engine's rate); the first-token
        // limit is enforced by the extension's watchdog, so LiteLLM's timeouts bound a
        // healthy call's whole duration.
        delete params["rpm"];
        delete params["tpm"];
        params["timeout"] = derived.timeouts.requestTimeoutS;
        params["stream_timeout"] = derived.timeouts.requestTimeoutS;
        break;
      case "managed":
        params["timeout"] = derived.tierTimeouts.managed;
        params["stream_timeout"] = derived.tierTimeouts.managed;
        break;
      case "frontier":
        params["timeout"] = derived.tierTimeouts.frontier;
        params["stream_timeout"] = derived.tierTimeouts.frontier;
        break;
      default: {
        const never: never = entry.tier;
        throw new Error(`unknown tier ${String(never)}`);
      }
    }
    return { ...d, litellm_params: params };
  });
  const managedInfo = config.model_list.find((d) => d.model_name === managedGroupName(input.servedModelName))?.model_info;
  for (const a of input.adapters) {
    if (a.policy !== "managed" || !a.managed) continue;
    modelList.push({
      model_name: adapterManagedGroupName(a.name),
      litellm_params: {
        model: a.managed.litellmModel,
        api_key: `os.environ/${a.managed.apiKeyEnv}`,
        tags: ["default"],
        timeout: derived.tierTimeouts.managed,
        stream_timeout: derived.tierTimeouts.managed,
      },
      model_info: {
        id: adapterManagedDeploymentId(a.name, a.managed.provider),
        ...(managedInfo?.["max_input_tokens"] !== undefined ? { max_input_tokens: managedInfo["max_input_tokens"] } : {}),
      },
    });
  }

  const adapterNames = new Set(input.adapters.map((a) => a.name));
  const chains = new Map(input.adapters.map((a) => [a.name, derived.adapterChain(a)]));
  const rewrite = (entries: unknown, chainFor: (a: AdapterInput) => string[]): Record<string, string[]>[] => {
    const kept = (Array.isArray(entries) ? (entries as Record<string, string[]>[]) : []).filter((e) => !Object.keys(e).some((k) => adapterNames.has(k)));
    for (const a of input.adapters) {
      const chain = chainFor(a);
      if (chain.length > 0) kept.push({ [a.name]: chain });
    }
    return kept;
  };
  const rs = config.router_settings;
  const callbacks = Array.isArray(config.litellm_settings["callbacks"]) ? (config.litellm_settings["callbacks"] as unknown[]) : [];
  return {
    ...config,
    model_list: modelList,
    router_settings: {
      ...rs,
      fallbacks: rewrite(rs["fallbacks"], (a) => chains.get(a.name) ?? []),
      // A prompt too long for the engine may go where the adapter's policy allows: the base
      // model's tiers only under "base"; the managed fine-tune under "managed".
      context_window_fallbacks: rewrite(rs["context_window_fallbacks"], (a) =>
        a.policy === "base" ? derived.frontierGroups : a.policy === "managed" ? [adapterManagedGroupName(a.name)] : [],
      ),
    },
    litellm_settings: {
      ...config.litellm_settings,
      callbacks: [...callbacks.filter((c) => c !== EXTENSION_CALLBACK), EXTENSION_CALLBACK],
    },
  };
}

/** The package's source files, as they are mounted beside the config. */
export function packageFiles(): { path: string; content: string }[] {
  const dir = path.join(templatesRoot(), "router", PACKAGE_DIR);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".py"))
    .sort()
    .map((f) => ({ path: `${PACKAGE_DIR}/${f}`, content: readFileSync(path.join(dir, f), "utf8") }));
}

// ---- from today's plan ----------------------------------------------------------------

/** One replica's capacity behind an upstream: the docker host's, or the kubernetes engine group's. */
function replicaCapacityOf(plan: DeploymentPlan, upstream: string): CapacityReport {
  const target = plan.target;
  switch (target.kind) {
    case "docker": {
      const host = plan.hosts.find((h) => h.name === upstream);
      if (!host) throw new Error(`router extension: no host ${upstream}`);
      return host.replicaCapacity;
    }
    case "kubernetes": {
      const group = target.placement.groups.find((g) => g.name === upstream);
      if (!group) throw new Error(`router extension: no engine group ${upstream}`);
      return group.perReplica;
    }
    default: {
      const never: never = target;
      throw new Error(`unknown target ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The extension's input from a plan: the stack's policy (plan.router.policy), with
 * `options` replacing parts of it (tests) and `overrides` aiming the engines at other bases,
 * as `litellmConfig`'s do (tests: stubs). Each router instance (a kubernetes pod) keeps its
 * own state, so the engines' planned rates and the frontier budgets are split between them.
 */
export function routerExtensionInput(plan: DeploymentPlan, options: RouterExtensionOptions = {}, overrides: UpstreamOverrides = {}): RouterExtensionInput {
  const policy = plan.router.policy;
  const instances = Math.max(1, plan.router.instances);
  const adapters = plan.engine.lora?.adapters ?? [];
  const planned = new Map(policy.adapterFallbacks.map((a) => [a.adapter, a]));
  const budgets = Object.fromEntries(Object.entries(policy.frontierBudgetUsdPerDay).map(([p, usd]) => [p, usd / instances]));
  const e = policy.escalation;
  return {
    servedModelName: plan.engine.servedModelName,
    engineKind: plan.engine.kind,
    engineKeyEnv: plan.engine.kind === "vllm" ? ROUTER_ENGINE_KEY_ENV : null,
    hardTag: plan.router.hardTag,
    requestTimeoutS: plan.router.requestTimeoutS,
    firstTokenS: policy.engineFirstTokenS,
    maxModelLen: plan.engine.maxModelLen,
    avgInputTokens: plan.spec.traffic.avg_input_tokens,
    engines: plan.router.upstreams.map((u) => {
      const replica = replicaCapacityOf(plan, u.name);
      return {
        name: u.name,
        apiBase: overrides.engines?.[u.name] ?? u.apiBase,
        plannedRpm: u.rpm / instances,
        maxRunning: replica.maxConcurrency * u.replicas,
        prefillTokensPerSecond: replica.prefillTokensPerSecond,
      };
    }),
    adapters: adapters.map((a) => {
      const chosen = options.adapterPolicies?.[a.name];
      if (chosen) return { name: a.name, policy: chosen.policy, ...(chosen.managed ? { managed: chosen.managed } : {}) };
      const p = planned.get(a.name);
      return { name: a.name, policy: p?.policy ?? DEFAULT_ADAPTER_POLICY, ...(p?.managed ? { managed: p.managed } : {}) };
    }),
    managed: plan.router.managed,
    frontier: plan.router.frontier,
    escalation: {
      enabled: e.enabled,
      minMeanLogprob: e.minMeanLogprob,
      onLength: e.onLength,
      onEmpty: e.onEmpty,
      onRefusal: e.onRefusal,
      refusalPrefixes: e.refusalPrefixes ?? DEFAULT_REFUSAL_PREFIXES,
      streamPrefixTokens: e.streamPrefixTokens,
      ...options.escalation,
    },
    frontierBudget: { usdPerDay: budgets, overrideTag: policy.budgetOverrideTag, ...options.frontierBudget },
    midStream: options.midStream ?? policy.midStream,
    adminUi: plan.router.adminUi,
    metrics: monitoringEnabled(plan.spec),
  };
}
