/**
 * What ships: both targets render the router from core/render/router-config.ts, so the
 * router extension (templates/router/hybrid_router) is in every deployed router, with the
 * stack file's policy keys. The proxy tests (test/router, test/router-ext) run these files.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadPlan } from "../../core/load";
import { ROUTER_CONFIG_PATH, routerContainer } from "../../core/render/containers";
import { litellmConfig } from "../../core/render/litellm-config";
import { renderRouter } from "../../core/render/router-config";
import { EXTENSION_CALLBACK, type RouterExtensionSettings, SETTINGS_FILE_NAME, STATE_VOLUME, routerExtension, routerExtensionInput } from "../../core/render/router-extension";
import { renderTarget } from "../../core/render/target";
import { rawConfig, validValues } from "../fixtures";
import { planOf, shippedStack } from "../router/router-fixture";

const settingsOf = (files: Readonly<Record<string, string>>): RouterExtensionSettings => JSON.parse(files[`router/${SETTINGS_FILE_NAME}`]!) as RouterExtensionSettings;

function planWith(patch: { router?: object; adapters?: object[] }) {
  const v = validValues();
  const values = { ...v, router: { ...(v["router"] as object), ...patch.router }, ...(patch.adapters ? { adapters: patch.adapters } : {}) };
  return loadPlan(rawConfig(values));
}

describe("the shipped router carries the extension", () => {
  it.each(["dev", "staging", "prod"])("%s: the config names the callback and the container mounts its package and settings beside the config", (stack) => {
    const plan = planOf(shippedStack(stack));
    const rendering = renderTarget(plan);
    const config = parse(rendering.files["router/litellm-config.yaml"]!) as { litellm_settings: { callbacks: string[] } };
    expect(config.litellm_settings.callbacks).toContain(EXTENSION_CALLBACK);
    expect(Object.keys(rendering.files)).toEqual(expect.arrayContaining([`router/${SETTINGS_FILE_NAME}`, "router/hybrid_router/handler.py", "router/hybrid_router/callback.py"]));
    if (rendering.kind === "docker") {
      const paths = rendering.router.files.map((f) => f.path);
      expect(paths).toEqual(expect.arrayContaining([ROUTER_CONFIG_PATH, "/app/hybrid-router.json", "/app/hybrid_router/handler.py", "/app/hybrid_router/__init__.py"]));
      expect(rendering.router.volumes.map((v) => v.containerPath)).toContain(STATE_VOLUME);
      expect(rendering.router.command).toEqual(expect.arrayContaining(["--timeout_worker_healthcheck", "60"]));
    }
  });

  it("cuts a hung engine of a shipped stack at its first-token limit, not at (1 + num_retries) x request_timeout_s", () => {
    // Before the extension: a hung engine cost each request up to (1 + 1) x 120 s = 240 s
    // (issue 13). Now: the first-token limit (test/router-ext/hang.test.ts measures prod's
    // through the real proxy: within this + 1 s).
    const limits = Object.fromEntries(["dev", "staging", "prod"].map((s) => {
      const plan = planOf(shippedStack(s));
      const settings = settingsOf(renderTarget(plan).files);
      return [s, { firstTokenS: settings.engine_timeouts.first_token_s, before: (1 + plan.router.numRetries) * plan.router.requestTimeoutS }];
    }));
    for (const l of Object.values(limits)) {
      expect(l.firstTokenS).toBeGreaterThanOrEqual(10);
      expect(l.firstTokenS).toBeLessThanOrEqual(20);
    }
    expect(limits["prod"]).toEqual({ firstTokenS: 13, before: 240 });
  });

  it("renders the kubernetes router with the same files, its state in a per-pod volume, and a new pod hash when a setting changes", () => {
    const plan = planOf(shippedStack("prod"));
    const k8s = planOf({ ...shippedStack("prod"), values: { ...shippedStack("prod").values, target: "kubernetes" } });
    const docker = renderTarget(plan);
    const kube = renderTarget(k8s);
    expect(kube.kind).toBe("kubernetes");
    expect(settingsOf(kube.files).engine_timeouts).toEqual(settingsOf(docker.files).engine_timeouts);
    expect(Object.keys(kube.files).filter((f) => f.startsWith("router/hybrid_router/")).sort()).toEqual(Object.keys(docker.files).filter((f) => f.startsWith("router/hybrid_router/")).sort());
  });

  it("keeps callbacks the config already has: the list is a union, the extension's added once", () => {
    const plan = planOf(shippedStack("prod"));
    const base = litellmConfig(plan);
    const withPrometheus = { ...base, litellm_settings: { ...base.litellm_settings, callbacks: ["prometheus", EXTENSION_CALLBACK] } };
    const ext = renderRouter(plan).extension;
    expect(ext.apply(withPrometheus).litellm_settings["callbacks"]).toEqual(["prometheus", EXTENSION_CALLBACK]);
    // prod has monitoring on, so LiteLLM's own config already asks for the prometheus callback.
    expect(base.litellm_settings["callbacks"]).toEqual(["prometheus"]);
    expect(ext.apply(ext.apply(base)).litellm_settings["callbacks"]).toEqual(["prometheus", EXTENSION_CALLBACK]);
  });
});

describe("the stack file's router policy keys", () => {
  it("default to: adapters answer 503 (none), escalation off, no budget, mid-stream error, the derived first-token limit", () => {
    const { plan } = planWith({});
    const ext = routerExtension(routerExtensionInput(plan!));
    expect(plan!.router.policy.adapterFallbacks.every((a) => a.policy === "none")).toBe(true);
    expect(ext.settings.escalation.enabled).toBe(false);
    expect(ext.settings.budget).toEqual({ usd_per_day: {}, override_tag: "budget-override" });
    expect(ext.settings.mid_stream.mode).toBe("error");
  });

  it("reach the rendered settings: escalation, a frontier budget, mid-stream continue, the first-token limit", () => {
    const frontier = [{ provider: "openai", model: "gpt-4.1", api_key_secret: "togetherApiKey", budget_usd_per_day: 25 }];
    const { plan, issues } = planWith({
      router: { frontier, escalation: { enabled: true, min_mean_logprob: -1.5, stream_prefix_tokens: 16 }, mid_stream: "continue", engine_first_token_s: 15, budget_override_tag: "oncall" },
    });
    expect(issues.filter((i) => i.severity === "error").map((i) => `${i.path}: ${i.message}`)).toEqual([]);
    const files = renderTarget(plan!).files;
    const settings = settingsOf(files);
    expect(settings.escalation).toMatchObject({ enabled: true, min_mean_logprob: -1.5, stream_prefix_tokens: 16 });
    expect(settings.mid_stream.mode).toBe("continue");
    expect(settings.engine_timeouts.first_token_s).toBe(15);
    expect(settings.budget).toEqual({ usd_per_day: { openai: 25 / plan!.router.instances }, override_tag: "oncall" });
  });

  it("refuse an adapter that falls back to managed without naming the fine-tune, with the fix", () => {
    const v = validValues();
    const served = (v["model"] as { id: string }).id;
    const { issues } = planWith({ adapters: [{ name: "support-bot", source: "hf://acme/support-bot", rank: 16, base_model: served, fallback: "managed" }] });
    const problem = issues.find((i) => i.path.includes("fallback_managed"));
    expect(problem?.message).toBe('is missing: adapter "support-bot" falls back to "managed"');
  });
});
