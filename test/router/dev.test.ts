/**
 * The shipped dev stack (Qwen 2.5 7B on one host, adapter `support-bot`, managed
 * Together AI, no frontier) behind the real LiteLLM proxy with our rendered config.
 *
 * Stack-file changes for the test only: `request_timeout_s: 2` (so a hanging engine
 * costs seconds) and `allowed_fails: 100` (so no case here cools the engine down and
 * the cases stay independent; cooldown is proven in edge.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ROUTER_ENGINE_KEY_ENV } from "../../core/plan/env";
import { deploymentIds } from "../../core/render/litellm-config";
import { streamedContent } from "../router-harness/litellm-proxy";
import { credentialOf } from "../router-harness/stub-upstreams";
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
const plan = planOf(shippedStack("dev", { request_timeout_s: TIMEOUT_S, allowed_fails: 100 }));
const served = plan.engine.servedModelName;
const host = plan.hosts[0]!.name;
const adapter = plan.engine.lora!.adapters[0]!.name;
const managedTier = plan.router.managed!;
/** What Together receives as the model: the provider's id without LiteLLM's prefix. */
const managedModel = managedTier.litellmModel.slice("together_ai/".length);

let r: RouterUnderTest;

beforeAll(async () => {
  expect(plan.router.frontier).toEqual([]);
  expect(adapter).toBe("support-bot");
  r = await startRouter(plan);
}, 120_000);

afterAll(async () => {
  await r?.stop();
});

beforeEach(async () => {
  await r.reset();
  // The router extension's state outlives a case (engines out of rotation, admissions spent).
  await r.settle();
}, 120_000);

const engine = (): RouterUnderTest["engines"][string] => r.engines[host]!;

describe("dev router: normal traffic", () => {
  it("sends the served model to the self-hosted engine, under the engine's served name and key", async () => {
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(answer(res)).toBe(`hello from engine-${host}`);
    expect(answeredBy(res)).toBe(deploymentIds.engine(served, host));
    expect(callCounts(r.stubs)).toEqual({ [engine().name]: 1 });
    const [req] = calls(engine());
    expect(req!.path).toBe("/v1/chat/completions");
    expect(req!.model).toBe(served);
    expect(credentialOf(req!)).toEqual({ carrier: "authorization-bearer", value: r.credentials[ROUTER_ENGINE_KEY_ENV] });
    // The client's master key never travels upstream.
    expect(JSON.stringify(req!.headers)).not.toContain(r.masterKey);
  });

  it("sends the adapter's name to the engine as the model, so vLLM applies that LoRA", async () => {
    const res = await r.chat({ model: adapter, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(answeredBy(res)).toBe(deploymentIds.engine(adapter, host));
    expect(callCounts(r.stubs)).toEqual({ [engine().name]: 1 });
    expect(calls(engine())[0]!.model).toBe(adapter);
  });

  it("streams the engine's chunks through the router", async () => {
    const res = await r.chatStream({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(res.done).toBe(true);
    expect(streamedContent(res.events).join("")).toBe(`hello from engine-${host}`);
    expect(calls(engine()).map((q) => q.stream)).toEqual([true]);
    expect(callCounts(r.stubs)).toEqual({ [engine().name]: 1 });
  });
});

describe("dev router: engine failures spill to the managed tier", () => {
  const expectManagedAnswered = (res: Awaited<ReturnType<RouterUnderTest["chat"]>>, id: string): void => {
    expect(res.status, res.text).toBe(200);
    expect(answer(res)).toBe(`hello from ${r.managed!.name}`);
    expect(answeredBy(res)).toBe(id);
    const [req] = calls(r.managed);
    expect(req!.model).toBe(managedModel);
    expect(credentialOf(req!)).toEqual({ carrier: "authorization-bearer", value: r.credentials[managedTier.apiKeyEnv] });
  };

  it("answers from Together when the engine returns 5xx", async () => {
    await engine().setMode("error5xx");
    engine().errorStatus = 503;
    const res = await r.chat({ model: served, messages: MESSAGES });
    expectManagedAnswered(res, deploymentIds.overflow(served, managedTier.provider));
    // The engine was tried once: the retry skips an engine that failed this request (the
    // router extension), and dev has one engine, so the managed tier answers.
    expect(calls(engine()).length).toBe(1);
    expect(calls(r.managed)).toHaveLength(1);
  });

  it("answers from Together when the engine hangs past request_timeout_s", async () => {
    await engine().setMode("hang");
    const started = Date.now();
    const res = await r.chat({ model: served, messages: MESSAGES }, {});
    const elapsed = Date.now() - started;
    expectManagedAnswered(res, deploymentIds.overflow(served, managedTier.provider));
    expect(calls(engine()).length).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 100);
    // At most one timeout per attempt on the engine, then the managed tier.
    expect(elapsed).toBeLessThan((1 + plan.router.numRetries) * TIMEOUT_S * 1000 + 5_000);
  });

  it("answers from Together when the engine refuses connections", async () => {
    await engine().setMode("refuse");
    const res = await r.chat({ model: served, messages: MESSAGES });
    expectManagedAnswered(res, deploymentIds.overflow(served, managedTier.provider));
    expect(calls(engine())).toHaveLength(0);
  });

  it("answers an adapter's request with a 503 naming the adapter when its engine fails (fallback none, the default): no other model answers", async () => {
    await engine().setMode("error5xx");
    const res = await r.chat({ model: adapter, messages: MESSAGES });
    expect(res.status, res.text).toBe(503);
    expect(res.text).toContain(`Adapter '${adapter}' is unavailable`);
    expect(calls(r.managed)).toHaveLength(0);
    expect(calls(engine()).every((q) => q.model === adapter)).toBe(true);
  });

  it("falls a streaming request back when the engine fails before the first chunk", async () => {
    await engine().setMode("error5xx");
    const res = await r.chatStream({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(res.done).toBe(true);
    expect(streamedContent(res.events).join("")).toBe(`hello from ${r.managed!.name}`);
    expect(calls(engine()).length).toBeGreaterThanOrEqual(1);
    expect(calls(engine()).every((q) => q.stream)).toBe(true);
    expect(calls(r.managed).map((q) => q.stream)).toEqual([true]);
  });
});

describe("dev router: prompts longer than the engine's context", () => {
  it("refuses them with 400 before any upstream call, as the stack has no frontier tier", async () => {
    const res = await r.chat({ model: served, messages: promptOf(plan.engine.maxModelLen + 2_000) });
    expect(res.status, res.text).toBe(400);
    // A generic message (upstream text stays in the router log), with the request id.
    expect(res.text).toContain("longer than the model's context");
    expect(res.text).toMatch(/Request id: [0-9a-f-]{36}/);
    expect(callCounts(r.stubs)).toEqual({});
  });
});

describe("dev router: authentication", () => {
  it("rejects a request without a key (401) and with a wrong key (400 without a database), reaching no upstream", async () => {
    const missing = await r.proxy.chat({ model: served, messages: MESSAGES });
    expect(missing.status, missing.text).toBe(401);
    expect(missing.body).toMatchObject({ error: { type: "auth_error" } });

    // Any Bearer other than the master key is looked up as a virtual key; with no
    // database the pinned LiteLLM answers 400 "No connected db." before it can say 401
    // (proxy/auth/user_api_key_auth.py), and no config setting changes that.
    for (const key of ["sk-not-the-master-key", "not-even-sk-prefixed"]) {
      const wrong = await r.proxy.chat({ model: served, messages: MESSAGES }, { key });
      expect(wrong.status, wrong.text).toBe(400);
      expect(wrong.body).toMatchObject({ error: { type: "no_db_connection" } });
    }
    const wrongStream = await r.proxy.chatStream({ model: adapter, messages: MESSAGES }, { key: "sk-not-the-master-key" });
    expect(wrongStream.status).toBe(400);

    for (const stub of r.stubs) expect(stub.requests, stub.name).toEqual([]);
  });
});

describe("dev router: what it printed and where it went", () => {
  it("printed no credential value and made no call beyond 127.0.0.1", () => {
    expect(credentialsInOutput(r)).toEqual([]);
    expect(r.proxy.egressAttempts()).toEqual([]);
  });
});
