/**
 * The real LiteLLM proxy (the pinned version) with OUR rendered config for a LoRAX stack, in
 * front of a stub that answers as LoRAX 0.12.1's source says it does
 * (test/router-harness/lorax-stub.ts), started from the engine container we render: its
 * launcher argv, env and mounts. Only the engine's and the managed tier's api_base point at
 * 127.0.0.1; everything else is `litellmConfig(plan)`.
 *
 * The stack: the dev stack (Qwen 2.5 7B on an RTX 4090) on LoRAX with two Hub adapters
 * (preloaded) and one adapter from a host directory.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ROUTER_ENGINE_KEY_ENV, ROUTER_MASTER_KEY_ENV } from "../../core/plan/env";
import { deploymentIds, litellmConfig } from "../../core/render/litellm-config";
import { type HttpResult, type LiteLlmProxy, startLiteLlmProxy, streamedContent } from "../router-harness/litellm-proxy";
import type { LoraxRequest, LoraxStub } from "../router-harness/lorax-stub";
import { type StubUpstream, startStub } from "../router-harness/stub-upstreams";
import { loraxStack, planOrThrow, startEngineStub } from "./fixtures";

const plan = planOrThrow(loraxStack([
  { name: "support-bot", source: "hf://acme/support-lora" },
  { name: "sql-bot", source: "hf://acme/sql-lora" },
  { name: "local-bot", source: "/srv/adapters/local-bot" },
]));
const served = plan.engine.servedModelName;
const host = plan.hosts[0]!.name;
const MESSAGES = [{ role: "user", content: "say hello" }];

let engine: LoraxStub;
let managed: StubUpstream;
let proxy: LiteLlmProxy;
let startup: LoraxRequest[];
const credentials: Record<string, string> = {};

beforeAll(async () => {
  engine = await startEngineStub(plan, {
    hubRepos: [plan.engine.hfRepo, "acme/support-lora", "acme/sql-lora"],
    hostAdapterDirs: ["/srv/adapters/local-bot"],
  });
  managed = await startStub("openai", { name: "managed" });
  for (const env of [ROUTER_MASTER_KEY_ENV, ROUTER_ENGINE_KEY_ENV, ...plan.router.secretEnv.map((s) => s.env)]) {
    credentials[env] = `${env === ROUTER_MASTER_KEY_ENV ? "sk-" : ""}canary-${env.toLowerCase()}`;
  }
  const config = litellmConfig(plan, { engines: { [host]: engine.apiBase }, managed: managed.apiBase });
  proxy = await startLiteLlmProxy({ config, env: credentials, startupTimeoutMs: 110_000 });
  startup = [...engine.requests];
});

afterAll(async () => {
  await proxy?.stop();
  await engine?.close();
  await managed?.close();
});

beforeEach(() => {
  engine.clearRequests();
  managed.clearRequests();
});

const key = (): string => credentials[ROUTER_MASTER_KEY_ENV]!;
const chat = (model: string): Promise<HttpResult> => proxy.chat({ model, messages: MESSAGES, max_tokens: 16 }, { key: key() });
const content = (res: HttpResult): unknown => (res.body as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;

/** The one generation request LoRAX received, and its body. */
function received(): { request: LoraxRequest; body: Record<string, unknown> } {
  const generations = engine.generations();
  expect(generations).toHaveLength(1);
  return { request: generations[0]!, body: generations[0]!.body as Record<string, unknown> };
}

describe("a LoRAX stack behind the real LiteLLM proxy", () => {
  it("starts although LoRAX has no /v1/models (LiteLLM asks for it at start and gets 404)", () => {
    const models = startup.filter((r) => r.path === "/v1/models");
    expect(models.length).toBeGreaterThan(0);
    expect(models.every((r) => r.status === 404)).toBe(true);
    expect(proxy.egressAttempts()).toEqual([]);
  });

  it("asks LoRAX for the base model by its Hugging Face repo id when a client asks for the served name", async () => {
    const res = await chat(served);
    expect(res.status).toBe(200);
    expect(content(res)).toBe(`base ${plan.engine.hfRepo}`);
    const { request, body } = received();
    expect(body["model"]).toBe(plan.engine.hfRepo);
    expect(body).not.toHaveProperty("adapter_source");
    expect(request.resolution).toEqual({ kind: "base" });
    // The client keeps our names: the answer and the deployment are labelled with them.
    expect((res.body as { model?: unknown }).model).toBe(served);
    expect(res.headers.get("x-litellm-model-id")).toBe(deploymentIds.engine(served, host));
    expect(managed.requests).toEqual([]);
  });

  it("serves both Hub adapters from the two adapters LoRAX preloaded, by repo id with adapter_source hub", async () => {
    expect(engine.settings.preloadedIds).toEqual(["acme/support-lora", "acme/sql-lora"]);
    expect(engine.settings.preloadedSource).toBe("hub");
    for (const [name, repo] of [["support-bot", "acme/support-lora"], ["sql-bot", "acme/sql-lora"]] as const) {
      engine.clearRequests();
      const res = await chat(name);
      expect(res.status, name).toBe(200);
      expect(content(res)).toBe(`adapter ${repo} via hub (preloaded)`);
      const { request, body } = received();
      expect([body["model"], body["adapter_source"]]).toEqual([repo, "hub"]);
      expect(request.resolution).toEqual({ kind: "adapter", id: repo, source: "hub", preloaded: true });
      expect((res.body as { model?: unknown }).model).toBe(name);
    }
    expect(managed.requests).toEqual([]);
  });

  it("loads the host-directory adapter from its mount in the container, by path with adapter_source local", async () => {
    const res = await chat("local-bot");
    expect(res.status).toBe(200);
    expect(content(res)).toBe("adapter /srv/adapters/local-bot via local");
    const { request, body } = received();
    expect([body["model"], body["adapter_source"]]).toEqual(["/srv/adapters/local-bot", "local"]);
    expect(request.resolution).toEqual({ kind: "adapter", id: "/srv/adapters/local-bot", source: "local", preloaded: false });
  });

  it("sends the same fields when the answer is streamed", async () => {
    const res = await proxy.chatStream({ model: "local-bot", messages: MESSAGES }, { key: key() });
    expect(res.status).toBe(200);
    expect(res.done).toBe(true);
    expect(streamedContent(res.events).join("")).toBe("adapter /srv/adapters/local-bot via local");
    const { body } = received();
    expect([body["model"], body["adapter_source"], body["stream"]]).toEqual(["/srv/adapters/local-bot", "local", true]);
  });

  it("sends the same fields on /v1/completions", async () => {
    const res = await proxy.post("/v1/completions", { model: "sql-bot", prompt: "SELECT", max_tokens: 8 }, { key: key() });
    expect(res.status).toBe(200);
    const { request, body } = received();
    expect(request.path).toBe("/v1/completions");
    expect([body["model"], body["adapter_source"], body["prompt"]]).toEqual(["acme/sql-lora", "hub", "SELECT"]);
  });

  it("hands LoRAX the engine key only, never the master key or a provider key", async () => {
    await chat("support-bot");
    const { request } = received();
    // LoRAX checks no key (its launcher has no API key option); the OpenAI SDK needs one to send.
    expect(request.headers["authorization"]).toBe(`Bearer ${credentials[ROUTER_ENGINE_KEY_ENV]}`);
    const sent = JSON.stringify(request.headers) + JSON.stringify(request.body);
    for (const [env, value] of Object.entries(credentials)) if (env !== ROUTER_ENGINE_KEY_ENV) expect(sent, env).not.toContain(value);
  });
});
