/**
 * Capacity spill, context-window fallback and cooldown, against the real LiteLLM proxy
 * with our rendered config, for a plan built here from a stack config: one RTX 4090
 * serving Qwen 2.5 7B with the adapter `support-bot`, managed Together AI, frontier
 * Anthropic then OpenAI, and traffic of 6k-token prompts and 1.5k-token answers, so the
 * capacity planner gives the engine a small rpm (15) that a test can exceed quickly.
 * `num_workers: 1` is the proxy's worker count here, so the rendered rpm is the host's
 * whole planned rpm. Cooldown settings are the defaults (allowed_fails 3, 30 s).
 *
 * The order of the cases matters: the rpm counter is LiteLLM's in-memory count of the
 * last 60 s, so the spill case runs first, on a fresh proxy.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MASKED_SECRET } from "../../core/config/source";
import { deploymentIds, managedGroupName } from "../../core/render/litellm-config";
import { type StubUpstream } from "../router-harness/stub-upstreams";
import { rawConfig, withValues } from "../fixtures";
import { renderRouter } from "../../core/render/router-config";
import {
  MESSAGES,
  type RouterUnderTest,
  answer,
  answeredBy,
  callCounts,
  calls,
  credentialsInOutput,
  planOf,
  promptOf,
  startRouter,
} from "./router-fixture";

const ADAPTER = "support-bot";
const plan = planOf(
  rawConfig(
    withValues({
      // `base`: this stack accepts the base model's tiers for its adapter (dev proves the default, none).
      adapters: [{ name: ADAPTER, source: "/srv/adapters/support-bot", rank: 16, base_model: "qwen2.5-7b-instruct", fallback: "base" }],
      router: {
        allowed_cidrs: ["198.51.100.0/24"],
        num_workers: 1,
        request_timeout_s: 2,
        managed: { provider: "together_ai", api_key_secret: "togetherApiKey" },
        frontier: [
          { provider: "anthropic", model: "claude-sonnet-4-5", api_key_secret: "anthropicApiKey" },
          { provider: "openai", model: "gpt-5", api_key_secret: "openaiApiKey" },
        ],
      },
      traffic: { avg_input_tokens: 6000, avg_output_tokens: 1500 },
      anthropicApiKey: MASKED_SECRET,
      openaiApiKey: MASKED_SECRET,
    }),
    ["sshPrivateKey", "togetherApiKey", "anthropicApiKey", "openaiApiKey"],
    "edge",
  ),
);
const served = plan.engine.servedModelName;
const host = plan.hosts[0]!;
const managedTier = plan.router.managed!;

let r: RouterUnderTest;
let engine: StubUpstream;
let managed: StubUpstream;
let anthropic: StubUpstream;

beforeAll(async () => {
  r = await startRouter(plan);
  engine = r.engines[host.name]!;
  managed = r.managed!;
  anthropic = r.frontier[0]!;
}, 120_000);

afterAll(async () => {
  await r?.stop();
});

beforeEach(async () => {
  await r.reset();
  // The router extension's state outlives a case (engines out of rotation, admissions spent).
  await r.settle();
}, 120_000);

describe("capacity: traffic above the engine's planned rpm", () => {
  it("goes to the managed tier once the engine has had its planned rate, never to frontier", async () => {
    const rpm = host.capacity.routerRpm;
    expect(rpm).toBe(15);
    // The extension admits at the planned rate (a GCRA with a burst of burst_s); LiteLLM's
    // per-worker rpm is not in the shipped config.
    const settings = renderRouter(plan).extension.settings;
    expect(settings.engines[0]!.planned_rpm).toBe(rpm);
    const engineDeployment = r.config.model_list.find((d) => d.model_info.id === deploymentIds.engine(served, host.name));
    expect(engineDeployment?.litellm_params["rpm"]).toBeUndefined();

    const answered: (string | null)[] = [];
    const sent = 8;
    for (let i = 0; i < sent; i++) {
      const res = await r.chat({ model: served, messages: MESSAGES });
      expect(res.status, res.text).toBe(200);
      answered.push(answeredBy(res));
    }
    const onEngine = answered.filter((a) => a === deploymentIds.engine(served, host.name)).length;
    // The first goes to the engine; at most the burst's worth (plus the one the rate refills
    // while these run) follow it, and the rest go to the managed tier.
    expect(answered[0]).toBe(deploymentIds.engine(served, host.name));
    expect(onEngine).toBeLessThanOrEqual(1 + Math.ceil((settings.live_load.burst_s * rpm) / 60) + 1);
    expect(answered.slice(onEngine)).toEqual(Array<string>(sent - onEngine).fill(deploymentIds.overflow(served, managedTier.provider)));
    expect(callCounts(r.stubs)).toEqual({ [engine.name]: onEngine, [managed.name]: sent - onEngine });
  });

  it("still sends a request tagged hard to frontier while the engine is full", async () => {
    const res = await r.chat({ model: served, messages: MESSAGES, tags: ["hard"] });
    expect(res.status, res.text).toBe(200);
    expect(answeredBy(res)).toBe(deploymentIds.hard(served, plan.router.hardTag));
    expect(callCounts(r.stubs)).toEqual({ [anthropic.name]: 1 });
  });
});

describe("context: prompts longer than the engine's context", () => {
  it("sends an adapter's long prompt through context_window_fallbacks to frontier", async () => {
    const res = await r.chat({ model: ADAPTER, messages: promptOf(plan.engine.maxModelLen + 2_000) });
    expect(res.status, res.text).toBe(200);
    expect(answer(res)).toBe(`hello from ${anthropic.name}`);
    expect(answeredBy(res)).toBe(deploymentIds.frontier(0, "anthropic"));
    expect(res.headers.get("x-litellm-attempted-fallbacks")).toBe("1");
    expect(callCounts(r.stubs)).toEqual({ [anthropic.name]: 1 });
  });

  it("keeps a prompt that fits the engine's context on the engine", async () => {
    const res = await r.chat({ model: ADAPTER, messages: promptOf(plan.engine.maxModelLen - 2_000) });
    expect(res.status, res.text).toBe(200);
    expect(answeredBy(res)).toBe(deploymentIds.engine(ADAPTER, host.name));
  });
});

describe("tags: only the served model is hard-routed", () => {
  it("keeps an adapter request tagged hard on the adapter, and an untagged one off frontier", async () => {
    const tagged = await r.chat({ model: ADAPTER, messages: MESSAGES, tags: ["hard"] });
    expect(tagged.status, tagged.text).toBe(200);
    expect(answeredBy(tagged)).toBe(deploymentIds.engine(ADAPTER, host.name));
    expect(calls(engine).map((q) => q.model)).toEqual([ADAPTER]);
    expect(calls(anthropic)).toHaveLength(0);
  });
});

describe("cooldown: a failing engine leaves the rotation", () => {
  it("stops calling an adapter's only engine once it fails (out of rotation until it passes a canary), answering from the managed tier", async () => {
    await engine.setMode("error5xx");
    const engineCallsPerRequest: number[] = [];
    const failing = plan.router.allowedFails + 1;
    expect(failing).toBe(4);
    for (let i = 0; i < failing + 2; i++) {
      const before = calls(engine).length;
      const res = await r.chat({ model: ADAPTER, messages: MESSAGES });
      expect(res.status, res.text).toBe(200);
      expect(answer(res)).toBe(`hello from ${managed.name}`);
      expect(answeredBy(res)).toBe(deploymentIds.managed(served, managedTier.provider));
      expect(answeredBy(res)).toContain(managedGroupName(served));
      engineCallsPerRequest.push(calls(engine).length - before);
    }
    // The router extension takes the engine out after fail_threshold failures (sooner than
    // LiteLLM's allowed_fails); from then on the adapter goes to its fallback (`base` here)
    // without touching the engine, for as long as the engine fails its canary.
    const threshold = renderRouter(plan).extension.settings.engine_timeouts.fail_threshold;
    expect(engineCallsPerRequest[0]).toBeGreaterThan(0);
    expect(engineCallsPerRequest.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(threshold);
    expect(engineCallsPerRequest.slice(-2)).toEqual([0, 0]);
  });
});

describe("edge router: what it printed and where it went", () => {
  it("printed no credential value and made no call beyond 127.0.0.1", () => {
    expect(credentialsInOutput(r)).toEqual([]);
    expect(r.proxy.egressAttempts()).toEqual([]);
  });
});
