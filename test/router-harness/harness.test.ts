/**
 * Unit tests of the router harness itself (no LiteLLM process): stub modes, recording,
 * wire formats, and the config check that keeps the proxy on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from "vitest";
import { assertOfflineConfig, type LiteLlmConfig } from "./litellm-proxy";
import { type StubUpstream, closeAll, credentialOf, startAnthropicStub, startGeminiStub, startOpenAIStub } from "./stub-upstreams";

const opened: StubUpstream[] = [];

async function track(stub: Promise<StubUpstream>): Promise<StubUpstream> {
  const s = await stub;
  opened.push(s);
  return s;
}

afterEach(async () => {
  await closeAll(opened.splice(0));
});

function post(url: string, body: unknown, headers: Record<string, string> = {}, timeoutMs = 2_000): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

const chatBody = { model: "m", messages: [{ role: "user", content: "hi" }] };

describe("OpenAI-compatible stub", () => {
  it("answers with and without /v1 and records the request", async () => {
    const stub = await track(startOpenAIStub({ name: "vllm", reply: "a b" }));
    for (const path of ["/v1/chat/completions", "/chat/completions"]) {
      const res = await post(`${stub.url}${path}`, chatBody, { authorization: "Bearer k1" });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ object: "chat.completion", model: "m", choices: [{ message: { content: "a b" } }] });
    }
    expect(stub.requests.map((r) => r.path)).toEqual(["/v1/chat/completions", "/chat/completions"]);
    const [first] = stub.requests;
    expect(first?.model).toBe("m");
    expect(first && credentialOf(first)).toEqual({ carrier: "authorization-bearer", value: "k1" });
    expect((await fetch(`${stub.url}/v1/models`)).status).toBe(200);
    expect((await fetch(`${stub.url}/models`)).status).toBe(200);
    expect((await fetch(`${stub.url}/health`)).status).toBe(200);
    expect(stub.apiBase).toBe(`${stub.url}/v1`);
  });

  it("streams chunks as SSE ending in [DONE], with usage when asked", async () => {
    const stub = await track(startOpenAIStub({ reply: "one two" }));
    const res = await post(`${stub.apiBase}/chat/completions`, { ...chatBody, stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const frames = (await res.text()).trim().split("\n\n");
    expect(frames.at(-1)).toBe("data: [DONE]");
    const events = frames.slice(0, -1).map((f) => JSON.parse(f.slice("data: ".length)) as { choices: { delta: { content?: string } }[]; usage?: unknown });
    expect(events.map((e) => e.choices[0]?.delta.content ?? "").join("")).toBe("one two");
    expect(events.at(-1)?.usage).toBeDefined();
    expect(stub.requests[0]?.stream).toBe(true);
  });

  it("switches between error5xx, rate429, hang and refuse at runtime", async () => {
    const stub = await track(startOpenAIStub());
    const url = `${stub.apiBase}/chat/completions`;

    await stub.setMode("error5xx");
    stub.errorStatus = 503;
    expect((await post(url, chatBody)).status).toBe(503);

    await stub.setMode("rate429");
    stub.retryAfterSeconds = 1;
    const limited = await post(url, chatBody);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(await limited.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });

    await stub.setMode("hang");
    await expect(post(url, chatBody, {}, 300)).rejects.toThrow();

    const port = stub.port;
    await stub.setMode("refuse");
    await expect(post(url, chatBody)).rejects.toThrow(); // ECONNREFUSED
    await stub.setMode("ok");
    expect(stub.port).toBe(port);
    expect((await post(url, chatBody)).status).toBe(200);

    expect(stub.requests.map((r) => r.mode)).toEqual(["error5xx", "rate429", "hang", "ok"]);
  });

  it("ends a hanging request when closed", async () => {
    const stub = await startOpenAIStub();
    await stub.setMode("hang");
    const pending = post(`${stub.apiBase}/chat/completions`, chatBody, {}, 5_000);
    await new Promise((r) => setTimeout(r, 100));
    await stub.close();
    await expect(pending).rejects.toThrow();
  });
});

describe("Anthropic stub", () => {
  it("answers /v1/messages and streams Messages API events", async () => {
    const stub = await track(startAnthropicStub({ reply: "x y" }));
    expect(stub.apiBase).toBe(stub.url);
    const res = await post(`${stub.url}/v1/messages`, { ...chatBody, max_tokens: 5 }, { "x-api-key": "ak" });
    expect(await res.json()).toMatchObject({ type: "message", content: [{ type: "text", text: "x y" }], stop_reason: "end_turn" });
    const first = stub.requests[0];
    expect(first && credentialOf(first)).toEqual({ carrier: "x-api-key", value: "ak" });

    const streamed = await (await post(`${stub.url}/v1/messages`, { ...chatBody, stream: true })).text();
    const events = [...streamed.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    await stub.setMode("rate429");
    const limited = await post(`${stub.url}/v1/messages`, chatBody);
    expect(await limited.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
  });
});

describe("Gemini stub", () => {
  it("answers generateContent and streamGenerateContent?alt=sse, taking the model from the path", async () => {
    const stub = await track(startGeminiStub({ reply: "g h" }));
    const body = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };
    const res = await post(`${stub.apiBase}/models/gemini-2.5-flash:generateContent`, body, { "x-goog-api-key": "gk" });
    expect(await res.json()).toMatchObject({ candidates: [{ content: { parts: [{ text: "g h" }] }, finishReason: "STOP" }] });
    const sse = await (await post(`${stub.apiBase}/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, body)).text();
    expect(sse.trim().split("\n\n")).toHaveLength(2);
    expect(stub.requests.map((r) => [r.model, r.stream])).toEqual([
      ["gemini-2.5-flash", false],
      ["gemini-2.5-flash", true],
    ]);
    const first = stub.requests[0];
    expect(first && credentialOf(first)).toEqual({ carrier: "x-goog-api-key", value: "gk" });
  });
});

describe("assertOfflineConfig", () => {
  const config = (model: string, apiBase?: string): LiteLlmConfig => ({
    model_list: [{ model_name: "x", litellm_params: { model, ...(apiBase !== undefined ? { api_base: apiBase } : {}) } }],
  });

  it("accepts loopback api_base values, also through os.environ/", () => {
    expect(() => assertOfflineConfig(config("hosted_vllm/m", "http://127.0.0.1:8000/v1"))).not.toThrow();
    expect(() => assertOfflineConfig(config("anthropic/c", "os.environ/BASE"), { BASE: "http://localhost:9" })).not.toThrow();
  });

  it("refuses replicate/, a missing api_base and non-loopback hosts", () => {
    expect(() => assertOfflineConfig(config("replicate/meta/llama", "http://127.0.0.1:1"))).toThrow(/replicate/);
    expect(() => assertOfflineConfig(config("together_ai/m"))).toThrow(/no api_base/);
    expect(() => assertOfflineConfig(config("openai/gpt", "https://api.openai.com/v1"))).toThrow(/not loopback/);
    expect(() => assertOfflineConfig(config("gemini/g", "os.environ/UNSET"))).toThrow(/no api_base/);
  });
});
