/**
 * The router extension's settings and config changes for the shipped stacks, without a
 * proxy: what core/render/router-extension.ts promises and the proxy tests rely on.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deploymentIds, litellmConfig, managedGroupName } from "../../core/render/litellm-config";
import {
  ADMISSION_BURST_S,
  EXTENSION_CALLBACK,
  FIRST_TOKEN_CAP_S,
  FIRST_TOKEN_FLOOR_S,
  SETTINGS_FILE_NAME,
  adapterManagedGroupName,
  apiTierTimeouts,
  engineTimeouts,
  routerExtension,
  routerExtensionInput,
  routerExtensionIssues,
} from "../../core/render/router-extension";
import { monitoringEnabled } from "../../core/plan/monitoring";
import { planOf, shippedStack } from "../router/router-fixture";

const stacks = ["dev", "staging", "prod"] as const;
const plans = Object.fromEntries(stacks.map((s) => [s, planOf(shippedStack(s))])) as Record<(typeof stacks)[number], ReturnType<typeof planOf>>;
const fireworks = { provider: "fireworks_ai", litellmModel: "fireworks_ai/accounts/acme/models/support-bot", apiKeyEnv: "FIREWORKS_AI_API_KEY" };

describe("router extension: config for the shipped stacks", () => {
  it.each(stacks)("%s: exports the extension's metrics exactly when the stack's monitoring is on", (stack) => {
    for (const enabled of [true, false]) {
      const raw = shippedStack(stack);
      const monitoring = { ...((raw.values["monitoring"] as Record<string, unknown> | undefined) ?? {}), enabled };
      const plan = planOf({ ...raw, values: { ...raw.values, monitoring } });
      expect(monitoringEnabled(plan.spec)).toBe(enabled);
      expect(routerExtension(routerExtensionInput(plan)).settings.metrics).toEqual({ enabled });
    }
    expect(routerExtension(routerExtensionInput(plans[stack])).settings.metrics.enabled).toBe(monitoringEnabled(plans[stack].spec));
  });

  it.each(stacks)("%s: loads the extension, and gives every deployment of the config a tier the extension knows", (stack) => {
    const plan = plans[stack];
    const ext = routerExtension(routerExtensionInput(plan));
    const config = ext.apply(litellmConfig(plan));
    // Stacks with monitoring on (staging, prod) keep LiteLLM's prometheus callback before the extension's.
    expect(config.litellm_settings["callbacks"]).toEqual([...(monitoringEnabled(plan.spec) ? ["prometheus"] : []), EXTENSION_CALLBACK]);
    for (const d of config.model_list) {
      expect(ext.settings.deployments[d.model_info.id], d.model_info.id).toBeDefined();
      expect(ext.settings.groups[d.model_name], d.model_name).toBeDefined();
    }
    expect(ext.files.map((f) => f.path)).toEqual(expect.arrayContaining(["hybrid_router/handler.py", "hybrid_router/callback.py", SETTINGS_FILE_NAME]));
  });

  it.each(stacks)("%s: one admission budget per engine - the host's whole planned rate, for all adapters and workers", (stack) => {
    const plan = plans[stack];
    const ext = routerExtension(routerExtensionInput(plan));
    const config = ext.apply(litellmConfig(plan));
    for (const host of plan.hosts) {
      const engine = ext.settings.engines.find((e) => e.name === host.name)!;
      // The whole upstream's rate (docker: one router instance), and the requests its
      // replicas run at once before vLLM queues (max_num_seqs, bounded by the KV cache).
      expect(engine.planned_rpm).toBe(plan.router.upstreams.find((u) => u.name === host.name)!.rpm);
      expect(engine.planned_rpm).toBe(host.capacity.routerRpm);
      expect(engine.max_running).toBe(host.replicaCapacity.maxConcurrency * host.replicas);
      const names = [plan.engine.servedModelName, ...(plan.engine.lora?.adapters.map((a) => a.name) ?? [])];
      expect(engine.deployment_ids).toEqual(names.map((n) => deploymentIds.engine(n, host.name)));
      for (const id of engine.deployment_ids) {
        const d = config.model_list.find((x) => x.model_info.id === id)!;
        // LiteLLM's per-worker, per-deployment rpm is gone: the extension admits instead.
        expect(d.litellm_params["rpm"]).toBeUndefined();
        expect(d.litellm_params["tpm"]).toBeUndefined();
        expect(d.litellm_params["timeout"]).toBe(plan.router.requestTimeoutS);
      }
    }
  });

  it("gives frontier deployments a longer timeout than the engines' first-token limit and the managed tier", () => {
    const plan = plans.prod;
    const ext = routerExtension(routerExtensionInput(plan));
    const config = ext.apply(litellmConfig(plan));
    const byTier = (tier: string): unknown[] => config.model_list.filter((d) => ext.settings.deployments[d.model_info.id]!.tier === tier).map((d) => d.litellm_params["timeout"]);
    expect(new Set(byTier("frontier"))).toEqual(new Set([300]));
    expect(new Set(byTier("managed"))).toEqual(new Set([120]));
    expect(ext.settings.engine_timeouts.first_token_s).toBe(13);
    expect(apiTierTimeouts(600)).toEqual({ managed: 600, frontier: 1200 });
  });

  it("takes the settings file's engine URLs from the engines' API base", () => {
    const ext = routerExtension(routerExtensionInput(plans.prod));
    expect(ext.settings.engines.map((e) => [e.health_url, e.metrics_url, e.completions_url])).toEqual(
      plans.prod.router.upstreams.map((u) => {
        const origin = new URL(u.apiBase).origin;
        return [`${origin}/health`, `${origin}/metrics`, `${u.apiBase}/chat/completions`];
      }),
    );
  });

  it("renders no secret: only the names of the env vars that hold them", () => {
    for (const stack of stacks) {
      const ext = routerExtension(routerExtensionInput(plans[stack]));
      const json = ext.files.find((f) => f.path === SETTINGS_FILE_NAME)!.content;
      expect(json).not.toMatch(/sk-|secret|PLACEHOLDER|canary-/i);
      expect(JSON.parse(json)).toMatchObject({ engine_key_env: "HOSTED_VLLM_API_KEY" });
    }
  });
});

describe("router extension: adapter fallback policy", () => {
  const dev = plans.dev;
  const served = dev.engine.servedModelName;
  const withPolicy = (policy: "none" | "base" | "managed") =>
    routerExtension(routerExtensionInput(dev, { adapterPolicies: { "support-bot": { policy, ...(policy === "managed" ? { managed: fireworks } : {}) } } }));

  it("defaults to none: no fallback, so no other model ever answers for the adapter", () => {
    const input = routerExtensionInput(dev);
    expect(input.adapters).toEqual([{ name: "support-bot", policy: "none" }]);
    const rs = routerExtension(input).apply(litellmConfig(dev)).router_settings;
    expect(litellmConfig(dev).router_settings["fallbacks"]).toEqual([{ "support-bot": [managedGroupName(served)] }]);
    expect(rs["fallbacks"]).toEqual([]);
  });

  it("base: the managed tier's base model, as before", () => {
    const rs = withPolicy("base").apply(litellmConfig(dev)).router_settings;
    expect(rs["fallbacks"]).toEqual([{ "support-bot": [managedGroupName(served)] }]);
  });

  it("managed: the same fine-tune at the named provider, as its own group with the provider's credential", () => {
    const ext = withPolicy("managed");
    const config = ext.apply(litellmConfig(dev));
    expect(config.router_settings["fallbacks"]).toEqual([{ "support-bot": [adapterManagedGroupName("support-bot")] }]);
    const d = config.model_list.find((x) => x.model_name === "support-bot-managed")!;
    expect(d.litellm_params).toMatchObject({ model: fireworks.litellmModel, api_key: "os.environ/FIREWORKS_AI_API_KEY" });
    expect(ext.settings.deployments[d.model_info.id]).toMatchObject({ tier: "managed", model: "accounts/acme/models/support-bot", continue_with: [] });
  });

  it("refuses options a stack author must fix, naming the key", () => {
    const input = routerExtensionInput(dev, { adapterPolicies: { "support-bot": { policy: "managed" } } });
    expect(routerExtensionIssues(input)).toEqual([expect.stringContaining('adapters.support-bot.fallback: "managed" needs the provider\'s model id')]);
    expect(() => routerExtension(input)).toThrow(/support-bot/);
    const esc = routerExtensionInput(dev, { escalation: { enabled: true, minMeanLogprob: 0.5 } });
    expect(routerExtensionIssues(esc)).toEqual([
      "router.escalation.enabled: escalation re-asks the frontier tier, and router.frontier is empty",
      "router.escalation.min_mean_logprob: 0.5 must be below 0 (log-probabilities are at most 0)",
    ]);
    const budget = routerExtensionInput(plans.prod, { frontierBudget: { usdPerDay: { gemini: 5 } } });
    expect(routerExtensionIssues(budget)).toEqual(["router.frontier_budget.gemini: not a frontier provider of this stack"]);
  });
});

describe("router extension: derived limits", () => {
  it("keeps the engine first-token limit between 10 and 20 s for any prompt and prefill speed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200_000 }), fc.double({ min: 10, max: 1e6, noNaN: true }), (avgInputTokens, prefill) => {
        const t = engineTimeouts({ engines: [{ name: "h", apiBase: "http://h:8000/v1", plannedRpm: 1, maxRunning: 1, prefillTokensPerSecond: prefill }], avgInputTokens, maxModelLen: 8192, requestTimeoutS: 120 });
        return t.firstTokenS >= FIRST_TOKEN_FLOOR_S && t.firstTokenS <= FIRST_TOKEN_CAP_S && t.stallS >= 30;
      }),
    );
  });

  it("bounds an engine's admissions over a minute to less than 10% above its planned rate", () => {
    expect(ADMISSION_BURST_S / 60).toBeLessThan(0.1);
  });
});
