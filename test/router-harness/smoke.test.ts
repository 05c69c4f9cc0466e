/**
 * Smoke test of the router harness: the real LiteLLM proxy (pinned in core/versions.json)
 * in front of stub upstreams on 127.0.0.1. Proves the harness works and pins down how
 * the pinned LiteLLM reaches each provider prefix (see the table in stub-upstreams.ts).
 *
 * Needs .venv/litellm: `bash scripts/install-litellm.sh`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type LiteLlmConfig, type LiteLlmProxy, startLiteLlmProxy, streamedContent } from "./litellm-proxy";
import {
  type RecordedRequest,
  type StubUpstream,
  closeAll,
  credentialOf,
  startAnthropicStub,
  startGeminiStub,
  startOpenAIStub,
} from "./stub-upstreams";

// Test-only values: they exist only in this process and the proxy it starts.
const MASTER_KEY = "sk-harness-master-0001";
const KEYS = {
  HARNESS_VLLM_KEY: "vllm-key-0001",
  HARNESS_TOGETHER_KEY: "together-key-0001",
  HARNESS_FIREWORKS_KEY: "fireworks-key-0001",
  HARNESS_DEEPINFRA_KEY: "deepinfra-key-0001",
  HARNESS_OPENAI_KEY: "sk-openai-key-0001",
  HARNESS_ANTHROPIC_KEY: "sk-ant-api03-anthropic-key-0001",
  HARNESS_GEMINI_KEY: "gemini-key-0001",
} as const;

const VLLM_MODEL = "meta-llama/Llama-3.3-70B-Instruct";
const MESSAGES = [{ role: "user", content: "say hello" }];
/** Deployment timeout of the vLLM stub: short, so the hang case stays quick. */
const VLLM_TIMEOUT_S = 2;

let vllm: StubUpstream;
let together: StubUpstream;
let fireworks: StubUpstream;
let deepinfra: StubUpstream;
let openai: StubUpstream;
let anthropic: StubUpstream;
let gemini: StubUpstream;
let proxy: LiteLlmProxy | undefined;

function allStubs(): StubUpstream[] {
  return [vllm, together, fireworks, deepinfra, openai, anthropic, gemini];
}

function only(stub: StubUpstream): RecordedRequest {
  expect(stub.requests, `${stub.name} requests`).toHaveLength(1);
  const [first] = stub.requests;
  if (first === undefined) throw new Error("unreachable");
  return first;
}

function running(): LiteLlmProxy {
  if (proxy === undefined) throw new Error("proxy did not start (see beforeAll)");
  return proxy;
}

function content(body: unknown): unknown {
  const b = body as { choices?: { message?: { content?: unknown } }[] };
  return b.choices?.[0]?.message?.content;
}

beforeAll(async () => {
  vllm = await startOpenAIStub({ name: "vllm", reply: "hello from the local vLLM" });
  together = await startOpenAIStub({ name: "together", reply: "hello from Together" });
  fireworks = await startOpenAIStub({ name: "fireworks", reply: "hello from Fireworks" });
  deepinfra = await startOpenAIStub({ name: "deepinfra", reply: "hello from DeepInfra" });
  openai = await startOpenAIStub({ name: "openai", reply: "hello from OpenAI" });
  anthropic = await startAnthropicStub({ name: "anthropic", reply: "hello from Claude" });
  gemini = await startGeminiStub({ name: "gemini", reply: "hello from Gemini" });

  const deployment = (modelName: string, model: string, apiBase: string, keyEnv: keyof typeof KEYS, timeout = 10) => ({
    model_name: modelName,
    litellm_params: { model, api_base: apiBase, api_key: `os.environ/${keyEnv}`, timeout, stream_timeout: timeout },
  });
  const config: LiteLlmConfig = {
    model_list: [
      deployment("llama-local", `hosted_vllm/${VLLM_MODEL}`, vllm.apiBase, "HARNESS_VLLM_KEY", VLLM_TIMEOUT_S),
      deployment("llama-burst", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", together.apiBase, "HARNESS_TOGETHER_KEY"),
      deployment("fireworks-llama", "fireworks_ai/llama-v3p3-70b-instruct", fireworks.apiBase, "HARNESS_FIREWORKS_KEY"),
      deployment("deepinfra-llama", "deepinfra/meta-llama/Llama-3.3-70B-Instruct", deepinfra.apiBase, "HARNESS_DEEPINFRA_KEY"),
      deployment("gpt", "openai/gpt-4o-mini", openai.apiBase, "HARNESS_OPENAI_KEY"),
      deployment("claude", "anthropic/claude-sonnet-4-5", anthropic.apiBase, "HARNESS_ANTHROPIC_KEY"),
      deployment("gemini-flash", "gemini/gemini-2.5-flash", gemini.apiBase, "HARNESS_GEMINI_KEY"),
    ],
    router_settings: {
      num_retries: 0,
      timeout: 10,
      fallbacks: [{ "llama-local": ["llama-burst"] }],
    },
    litellm_settings: { num_retries: 0, request_timeout: 10 },
    general_settings: { master_key: "os.environ/LITELLM_MASTER_KEY" },
  };
  proxy = await startLiteLlmProxy({
    config,
    env: { LITELLM_MASTER_KEY: MASTER_KEY, ...KEYS },
    startupTimeoutMs: 110_000,
  });
  console.info(`litellm ${proxy.version} ready on ${proxy.url} after ${proxy.startupMs} ms`);
}, 120_000);

afterAll(async () => {
  if (process.env["LITELLM_HARNESS_VERBOSE"] === "1" && proxy !== undefined) {
    console.info(`--- litellm output ---\n${proxy.output()}`);
  }
  await proxy?.stop();
  await closeAll(allStubs());
});

beforeEach(async () => {
  for (const stub of allStubs()) {
    await stub.setMode("ok");
    stub.clearRequests();
  }
});

describe("LiteLLM router harness (smoke)", () => {
  it("routes a master-key request to the vLLM stub with the model name and its Bearer key", async () => {
    const res = await running().chat({ model: "llama-local", messages: MESSAGES }, { key: MASTER_KEY });
    expect(res.status, res.text).toBe(200);
    expect(content(res.body)).toBe("hello from the local vLLM");

    const req = only(vllm);
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/v1/chat/completions");
    expect(req.model).toBe(VLLM_MODEL);
    expect(credentialOf(req)).toEqual({ carrier: "authorization-bearer", value: KEYS.HARNESS_VLLM_KEY });
    // The client's master key is never forwarded upstream.
    expect(JSON.stringify(req.headers)).not.toContain(MASTER_KEY);
    expect(together.requests).toHaveLength(0);
  });

  it("falls back to the Together deployment when the vLLM stub answers 5xx", async () => {
    await vllm.setMode("error5xx");
    const res = await running().chat({ model: "llama-local", messages: MESSAGES }, { key: MASTER_KEY });
    expect(res.status, res.text).toBe(200);
    expect(content(res.body)).toBe("hello from Together");
    expect(res.headers.get("x-litellm-attempted-fallbacks")).toBe("1");

    expect(only(vllm).mode).toBe("error5xx"); // one attempt: num_retries 0
    const req = only(together);
    expect(req.path).toBe("/v1/chat/completions");
    expect(req.model).toBe("meta-llama/Llama-3.3-70B-Instruct-Turbo");
    expect(credentialOf(req)).toEqual({ carrier: "authorization-bearer", value: KEYS.HARNESS_TOGETHER_KEY });
  });

  it.each(["refuse", "rate429"] as const)("falls back to Together when the vLLM stub is in %s", async (mode) => {
    await vllm.setMode(mode);
    const res = await running().chat({ model: "llama-local", messages: MESSAGES }, { key: MASTER_KEY });
    expect(res.status, res.text).toBe(200);
    expect(content(res.body)).toBe("hello from Together");
    expect(vllm.requests).toHaveLength(mode === "refuse" ? 0 : 1);
    expect(together.requests).toHaveLength(1);
  });

  it("falls back to Together when the vLLM stub hangs past the deployment timeout", async () => {
    await vllm.setMode("hang");
    const started = Date.now();
    const res = await running().chat({ model: "llama-local", messages: MESSAGES }, { key: MASTER_KEY });
    const elapsed = Date.now() - started;
    expect(res.status, res.text).toBe(200);
    expect(content(res.body)).toBe("hello from Together");
    expect(only(vllm).mode).toBe("hang");
    expect(elapsed).toBeGreaterThanOrEqual(VLLM_TIMEOUT_S * 1000 - 100);
    expect(elapsed).toBeLessThan(VLLM_TIMEOUT_S * 1000 + 5_000);
  });

  it("rejects a wrong or missing key without calling any upstream", async () => {
    const wrong = await running().chat({ model: "llama-local", messages: MESSAGES }, { key: "sk-not-the-master-key" });
    // A config-only proxy (no database) cannot look virtual keys up, so any Bearer key
    // other than the master key gets 400 "No connected db." rather than 401
    // (litellm/proxy/auth/user_api_key_auth.py).
    expect(wrong.status, wrong.text).toBe(400);
    expect(wrong.body).toMatchObject({ error: { type: "no_db_connection" } });

    const missing = await running().chat({ model: "llama-local", messages: MESSAGES });
    expect(missing.status, missing.text).toBe(401);
    expect(missing.body).toMatchObject({ error: { type: "auth_error" } });

    for (const stub of allStubs()) expect(stub.requests, stub.name).toHaveLength(0);
  });

  it("streams the vLLM stub's chunks through the proxy", async () => {
    const res = await running().chatStream({ model: "llama-local", messages: MESSAGES }, { key: MASTER_KEY });
    expect(res.status, res.text).toBe(200);
    expect(res.done).toBe(true);
    expect(streamedContent(res.events)).toEqual(["hello", " from", " the", " local", " vLLM"]);
    const req = only(vllm);
    expect(req.stream).toBe(true);
    expect(credentialOf(req)?.value).toBe(KEYS.HARNESS_VLLM_KEY);
  });

  it("falls back for a streaming request when vLLM fails before the first chunk", async () => {
    await vllm.setMode("error5xx");
    const res = await running().chatStream({ model: "llama-local", messages: MESSAGES }, { key: MASTER_KEY });
    expect(res.status, res.text).toBe(200);
    expect(streamedContent(res.events).join("")).toBe("hello from Together");
    expect(only(vllm).stream).toBe(true);
    expect(only(together).stream).toBe(true);
  });

  it("sends the Anthropic key in x-api-key to /v1/messages", async () => {
    const res = await running().chat({ model: "claude", messages: MESSAGES }, { key: MASTER_KEY });
    expect(res.status, res.text).toBe(200);
    expect(content(res.body)).toBe("hello from Claude");
    const req = only(anthropic);
    expect(req.path).toBe("/v1/messages");
    expect(req.model).toBe("claude-sonnet-4-5");
    expect(credentialOf(req)).toEqual({ carrier: "x-api-key", value: KEYS.HARNESS_ANTHROPIC_KEY });
    expect(req.headers["authorization"]).toBeUndefined();
    expect(req.headers["anthropic-version"]).toBe("2023-06-01");
  });

  it("streams Anthropic events back as OpenAI chunks", async () => {
    const res = await running().chatStream({ model: "claude", messages: MESSAGES }, { key: MASTER_KEY });
    expect(res.status, res.text).toBe(200);
    expect(streamedContent(res.events).join("")).toBe("hello from Claude");
    expect(only(anthropic).stream).toBe(true);
  });

  it.each([
    { name: "fireworks_ai/", group: "fireworks-llama", stub: () => fireworks, path: "/v1/chat/completions", model: "accounts/fireworks/models/llama-v3p3-70b-instruct", carrier: "authorization-bearer", key: KEYS.HARNESS_FIREWORKS_KEY },
    { name: "deepinfra/", group: "deepinfra-llama", stub: () => deepinfra, path: "/v1/chat/completions", model: "meta-llama/Llama-3.3-70B-Instruct", carrier: "authorization-bearer", key: KEYS.HARNESS_DEEPINFRA_KEY },
    { name: "openai/", group: "gpt", stub: () => openai, path: "/v1/chat/completions", model: "gpt-4o-mini", carrier: "authorization-bearer", key: KEYS.HARNESS_OPENAI_KEY },
    { name: "gemini/", group: "gemini-flash", stub: () => gemini, path: "/v1beta/models/gemini-2.5-flash:generateContent", model: "gemini-2.5-flash", carrier: "x-goog-api-key", key: KEYS.HARNESS_GEMINI_KEY },
  ])("reaches the $name stub at $path with its key in $carrier", async ({ group, stub, path, model, carrier, key }) => {
    const res = await running().chat({ model: group, messages: MESSAGES }, { key: MASTER_KEY });
    expect(res.status, res.text).toBe(200);
    const req = only(stub());
    expect(req.path).toBe(path);
    expect(req.model).toBe(model);
    expect(credentialOf(req)).toEqual({ carrier, value: key });
    expect(req.query).toEqual({});
  });

  it("streams from the Gemini stub over ?alt=sse", async () => {
    const res = await running().chatStream({ model: "gemini-flash", messages: MESSAGES }, { key: MASTER_KEY });
    expect(res.status, res.text).toBe(200);
    expect(streamedContent(res.events).join("")).toBe("hello from Gemini");
    const req = only(gemini);
    expect(req.path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    expect(req.query).toEqual({ alt: "sse" });
  });

  it("made no outbound call beyond 127.0.0.1", () => {
    expect(running().egressAttempts()).toEqual([]);
  });
});
