/**
 * The shipped prod stack (Llama 3.3 70B on two hosts, managed Together AI, frontier
 * Anthropic then OpenAI) behind the real LiteLLM proxy with our rendered config.
 *
 * Stack-file changes for the test only: `request_timeout_s: 2` (a hanging engine costs
 * seconds), `allowed_fails: 100` (no case cools a deployment down, so the cases stay
 * independent; cooldown is proven in edge.test.ts and measured by bench/router.ts) and
 * `num_workers: 1`, the proxy's worker count here, so the rendered rpm is each host's
 * whole planned rpm (29) and this file's traffic stays below it (rpm spill: edge.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ROUTER_ENGINE_KEY_ENV } from "../../core/plan/env";
import { deploymentIds } from "../../core/render/litellm-config";
import { streamedContent } from "../router-harness/litellm-proxy";
import { type StubUpstream, credentialOf } from "../router-harness/stub-upstreams";
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
  shippedStack,
  startRouter,
} from "./router-fixture";

const TIMEOUT_S = 2;
const plan = planOf(shippedStack("prod", { request_timeout_s: TIMEOUT_S, allowed_fails: 100, num_workers: 1 }));
const served = plan.engine.servedModelName;
const [anthropicTier, openaiTier] = plan.router.frontier;
const managedTier = plan.router.managed!;
const overflowId = deploymentIds.overflow(served, managedTier.provider);

let r: RouterUnderTest;
let engines: StubUpstream[];
let managed: StubUpstream;
let anthropic: StubUpstream;
let openai: StubUpstream;

beforeAll(async () => {
  expect(plan.hosts.map((h) => h.name)).toEqual(["prod-gpu-1", "prod-gpu-2"]);
  expect([anthropicTier?.provider, openaiTier?.provider]).toEqual(["anthropic", "openai"]);
  r = await startRouter(plan);
  engines = plan.hosts.map((h) => r.engines[h.name]!);
  managed = r.managed!;
  [anthropic, openai] = r.frontier as [StubUpstream, StubUpstream];
}, 120_000);

afterAll(async () => {
  await r?.stop();
});

beforeEach(async () => {
  await r.reset();
  // The router extension's state outlives a case (engines out of rotation, admissions spent).
  await r.settle();
}, 120_000);

const setEngines = async (mode: Parameters<StubUpstream["setMode"]>[0]): Promise<void> => {
  for (const e of engines) await e.setMode(mode);
};
const engineCalls = (): number => engines.reduce((n, e) => n + calls(e).length, 0);

describe("prod router: normal traffic", () => {
  it("shares untagged traffic between both engines, with their served name and key, and nothing else", async () => {
    const ids = new Set<string | null>();
    // Two at once from a settled router: the extension admits each to the less loaded engine.
    for (let i = 0; i < 2; i++) {
      const res = await r.chat({ model: served, messages: MESSAGES });
      expect(res.status, res.text).toBe(200);
      ids.add(answeredBy(res));
    }
    expect(ids).toEqual(new Set(plan.hosts.map((h) => deploymentIds.engine(served, h.name))));
    expect(Object.keys(callCounts(r.stubs)).sort()).toEqual(engines.map((e) => e.name).sort());
    for (const e of engines) {
      for (const req of calls(e)) {
        expect(req.model).toBe(served);
        expect(credentialOf(req)).toEqual({ carrier: "authorization-bearer", value: r.credentials[ROUTER_ENGINE_KEY_ENV] });
      }
    }
  });

  it.each([
    ["the body's tags", { tags: ["hard"] }, {}],
    ["the x-litellm-tags header", {}, { "x-litellm-tags": "hard" }],
  ])("sends a request tagged hard in %s straight to the first frontier API", async (_how, extra, headers) => {
    const res = await r.chat({ model: served, messages: MESSAGES, ...extra }, headers);
    expect(res.status, res.text).toBe(200);
    expect(answer(res)).toBe(`hello from ${anthropic.name}`);
    expect(answeredBy(res)).toBe(deploymentIds.hard(served, plan.router.hardTag));
    expect(callCounts(r.stubs)).toEqual({ [anthropic.name]: 1 });
    const [req] = calls(anthropic);
    expect(req!.path).toBe("/v1/messages");
    expect(req!.model).toBe("claude-sonnet-4-5");
    expect(credentialOf(req!)).toEqual({ carrier: "x-api-key", value: r.credentials[anthropicTier!.apiKeyEnv] });
    expect(req!.headers["authorization"]).toBeUndefined();
  });

  it("sends a hard request on to the second frontier API when the first fails, never to the open-weight tiers", async () => {
    await anthropic.setMode("error5xx");
    const res = await r.chat({ model: served, messages: MESSAGES, tags: ["hard"] });
    expect(res.status, res.text).toBe(200);
    expect(answer(res)).toBe(`hello from ${openai.name}`);
    expect(answeredBy(res)).toBe(deploymentIds.frontier(1, "openai"));
    expect(engineCalls()).toBe(0);
    expect(calls(managed)).toHaveLength(0);
  });

  it("sends a prompt longer than the engine's context to frontier, calling no engine or managed tier", async () => {
    const res = await r.chat({ model: served, messages: promptOf(plan.engine.maxModelLen + 2_000) });
    expect(res.status, res.text).toBe(200);
    expect(answer(res)).toBe(`hello from ${anthropic.name}`);
    expect(callCounts(r.stubs)).toEqual({ [anthropic.name]: 1 });
  });

  it("sends a long prompt on to the second frontier API when the first fails", async () => {
    await anthropic.setMode("error5xx");
    const res = await r.chat({ model: served, messages: promptOf(plan.engine.maxModelLen + 2_000) });
    expect(res.status, res.text).toBe(200);
    expect(answeredBy(res)).toBe(deploymentIds.frontier(1, "openai"));
    expect(engineCalls()).toBe(0);
    expect(calls(managed)).toHaveLength(0);
  });

  it("streams from an engine", async () => {
    const res = await r.chatStream({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(res.done).toBe(true);
    expect(streamedContent(res.events).join("")).toMatch(/^hello from engine-prod-gpu-[12]$/);
    expect(engineCalls()).toBe(1);
  });
});

describe("prod router: failover down the tiers", () => {
  it.each(["error5xx", "hang", "refuse"] as const)("answers from the managed tier when both engines are in %s", async (mode) => {
    await setEngines(mode);
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(answer(res)).toBe(`hello from ${managed.name}`);
    expect(answeredBy(res)).toBe(overflowId);
    expect(calls(managed)).toHaveLength(1);
    const [req] = calls(managed);
    expect(req!.model).toBe(managedTier.litellmModel.slice("together_ai/".length));
    expect(credentialOf(req!)).toEqual({ carrier: "authorization-bearer", value: r.credentials[managedTier.apiKeyEnv] });
    expect(engineCalls()).toBe(mode === "refuse" ? 0 : 1 + plan.router.numRetries);
    expect(calls(anthropic).length + calls(openai).length).toBe(0);
  });

  it("answers from the first frontier API when the engines and the managed tier fail", async () => {
    await setEngines("error5xx");
    await managed.setMode("error5xx");
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(answer(res)).toBe(`hello from ${anthropic.name}`);
    expect(answeredBy(res)).toBe(deploymentIds.frontier(0, "anthropic"));
    expect(engineCalls()).toBeGreaterThanOrEqual(1);
    expect(calls(managed).length).toBeGreaterThanOrEqual(1);
    expect(credentialOf(calls(anthropic)[0]!)).toEqual({ carrier: "x-api-key", value: r.credentials[anthropicTier!.apiKeyEnv] });
    expect(calls(openai)).toHaveLength(0);
  });

  it("answers from the second frontier API when everything before it fails", async () => {
    await setEngines("refuse");
    await managed.setMode("error5xx");
    await anthropic.setMode("error5xx");
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(answer(res)).toBe(`hello from ${openai.name}`);
    expect(answeredBy(res)).toBe(deploymentIds.frontier(1, "openai"));
    const [req] = calls(openai);
    expect(req!.path).toBe("/v1/chat/completions");
    expect(req!.model).toBe("gpt-5");
    expect(credentialOf(req!)).toEqual({ carrier: "authorization-bearer", value: r.credentials[openaiTier!.apiKeyEnv] });
  });

  it("falls a streaming request back to the managed tier, then frontier, when they fail before the first chunk", async () => {
    await setEngines("error5xx");
    const toManaged = await r.chatStream({ model: served, messages: MESSAGES });
    expect(toManaged.status, toManaged.text).toBe(200);
    expect(streamedContent(toManaged.events).join("")).toBe(`hello from ${managed.name}`);

    await managed.setMode("error5xx");
    const toFrontier = await r.chatStream({ model: served, messages: MESSAGES });
    expect(toFrontier.status, toFrontier.text).toBe(200);
    expect(toFrontier.done).toBe(true);
    expect(streamedContent(toFrontier.events).join("")).toBe(`hello from ${anthropic.name}`);
    expect(calls(anthropic).map((q) => q.stream)).toEqual([true]);
  });
});

describe("prod router: authentication", () => {
  it("rejects a missing key (401) and a wrong key (400 without a database) before any upstream call", async () => {
    // Engines back in rotation first: the extension's canary completions are not this case's calls.
    await r.settle();
    for (const stub of r.stubs) stub.clearRequests();
    expect((await r.proxy.chat({ model: served, messages: MESSAGES, tags: ["hard"] })).status).toBe(401);
    const wrong = await r.proxy.chat({ model: served, messages: MESSAGES }, { key: "sk-wrong-key-000" });
    expect(wrong.status, wrong.text).toBe(400);
    expect(wrong.body).toMatchObject({ error: { type: "no_db_connection" } });
    // The extension's background probes of the engines (GET /health, /metrics) are not calls for a request.
    const probe = (q: { method: string; path: string }): boolean => q.method === "GET" && (q.path === "/health" || q.path === "/metrics");
    for (const stub of r.stubs) expect(stub.requests.filter((q) => !probe(q)), stub.name).toEqual([]);
  });
});

describe("prod router: what it printed and where it went", () => {
  it("printed no credential value and made no call beyond 127.0.0.1", () => {
    expect(credentialsInOutput(r)).toEqual([]);
    expect(r.proxy.egressAttempts()).toEqual([]);
  });
});
