/**
 * Routing policy and what clients see (issue 13.2-13.6), against the real LiteLLM proxy
 * with our rendered config plus the router extension, for the shipped staging stack
 * (Mistral Small 24B on one RTX 5090, managed Together AI, frontier Anthropic, the stack's
 * 2 router workers and shipped timeouts) with what the stack file would add:
 *   - three adapters, one per fallback policy: `faq-bot` none (the default), `support-bot`
 *     base, `legal-bot` managed (its fine-tune at Fireworks, a stub);
 *   - a second frontier provider (OpenAI);
 *   - escalation on: mean token log-probability below -1, cut-short, empty and refused
 *     answers; streams judged on a held-back prefix of 4 tokens;
 *   - a frontier budget of BUDGET_USD a day for each frontier provider;
 *   - mid-stream continuation on.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deploymentIds, managedGroupName } from "../../core/render/litellm-config";
import { DEFAULT_BUDGET_OVERRIDE_TAG, adapterManagedDeploymentId } from "../../core/render/router-extension";
import { liteLlmExecutable, streamedContent } from "../router-harness/litellm-proxy";
import type { StubUpstream } from "../router-harness/stub-upstreams";
import { planOf, shippedStack } from "../router/router-fixture";
import { type ExtRouter, MESSAGES, answerText, chatCalls, startExtRouter } from "./ext-fixture";

const BUDGET_USD = 0.001;
const raw = shippedStack("staging");
const router = raw.values["router"] as Record<string, unknown>;
const plan = planOf({
  ...raw,
  values: {
    ...raw.values,
    adapters: ["faq-bot", "support-bot", "legal-bot"].map((name) => ({ name, source: `/srv/adapters/${name}`, rank: 16, base_model: "mistral-small-24b-instruct" })),
    router: { ...router, frontier: [...(router["frontier"] as unknown[]), { provider: "openai", model: "gpt-5", api_key_secret: "openaiApiKey" }] },
    openaiApiKey: { secure: "v1:PLACEHOLDER" },
  },
  secretKeys: new Set([...raw.secretKeys, "openaiApiKey"]),
});
const served = plan.engine.servedModelName;
const host = plan.hosts[0]!.name;
const fireworks = { provider: "fireworks_ai", litellmModel: "fireworks_ai/accounts/acme/models/legal-bot", apiKeyEnv: "FIREWORKS_AI_API_KEY" };

let r: ExtRouter;
let engine: StubUpstream;
let managed: StubUpstream;
let anthropic: StubUpstream;
let openai: StubUpstream;

beforeAll(async () => {
  r = await startExtRouter(plan, {
    extension: {
      adapterPolicies: { "support-bot": { policy: "base" }, "legal-bot": { policy: "managed", managed: fireworks } },
      escalation: { enabled: true, minMeanLogprob: -1, streamPrefixTokens: 4 },
      frontierBudget: { usdPerDay: { anthropic: BUDGET_USD, openai: BUDGET_USD } },
      midStream: "continue",
    },
    adapterManaged: ["legal-bot"],
  });
  engine = r.engines[host]!;
  managed = r.managed!;
  [anthropic, openai] = r.frontier as [StubUpstream, StubUpstream];
}, 420_000);

afterAll(async () => {
  await r?.stop();
});

beforeEach(async () => {
  await r.reset();
  // Each case starts with the engine in rotation and its planned rate unused.
  for (let i = 0; i < 30 && r.query("SELECT down FROM engines")[0]![0] !== 0; i++) await new Promise((res) => setTimeout(res, 1_000));
  await new Promise((res) => setTimeout(res, 2_000));
});

const headersOf = (res: { headers: Headers }): Record<string, string | null> => ({
  tier: res.headers.get("x-hybrid-tier"),
  model: res.headers.get("x-hybrid-model"),
  deployment: res.headers.get("x-hybrid-deployment"),
});

/** Takes the engine down (connections refused) and waits until the router has it out of rotation. */
async function engineDown(): Promise<void> {
  await engine.setMode("refuse");
  for (let i = 0; i < 30 && r.query("SELECT down FROM engines")[0]![0] !== 1; i++) await new Promise((res) => setTimeout(res, 500));
}

describe("which tier and model answered: response headers", () => {
  it("names the engine and the served model, with a request id", async () => {
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(headersOf(res)).toEqual({ tier: "engine", model: served, deployment: deploymentIds.engine(served, host) });
    expect(res.headers.get("x-hybrid-request-id")).toBe(res.headers.get("x-litellm-call-id"));
  });

  it("names the managed provider's model when the engine is out", async () => {
    await engineDown();
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(headersOf(res)).toEqual({ tier: "managed", model: plan.router.managed!.litellmModel.replace(/^together_ai\//, ""), deployment: deploymentIds.overflow(served, "together_ai") });
  });
});

describe("adapter-aware fallback when the adapter's engine is out", () => {
  it("none (the default): a 503 naming the adapter, and no other model called", async () => {
    await engineDown();
    const res = await r.chat({ model: "faq-bot", messages: MESSAGES });
    expect(res.status, res.text).toBe(503);
    expect(res.body).toMatchObject({ error: { message: expect.stringContaining("Adapter 'faq-bot' is unavailable: its engines are out of rotation") } });
    expect(res.text).toContain("fallback policy is 'none'");
    expect(res.headers.get("retry-after")).toBe("30");
    expect(chatCalls(managed) + chatCalls(anthropic) + chatCalls(openai) + chatCalls(r.adapterManaged["legal-bot"])).toBe(0);
  });

  it("base: the managed tier's base model, and the headers say so", async () => {
    await engineDown();
    const res = await r.chat({ model: "support-bot", messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(headersOf(res)).toMatchObject({ tier: "managed", deployment: deploymentIds.managed(served, "together_ai") });
  });

  it("managed: the same fine-tune at its provider, under the provider's model id and credential", async () => {
    await engineDown();
    const res = await r.chat({ model: "legal-bot", messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(headersOf(res)).toEqual({ tier: "managed", model: "accounts/acme/models/legal-bot", deployment: adapterManagedDeploymentId("legal-bot", "fireworks_ai") });
    const call = r.adapterManaged["legal-bot"]!.requests.find((q) => q.method === "POST")!;
    expect(call.model).toBe("accounts/acme/models/legal-bot");
    expect(call.headers["authorization"]).toBe(`Bearer ${r.credentials["FIREWORKS_AI_API_KEY"]}`);
  });

  it("none, engine full: a 429 naming the adapter, to retry shortly", async () => {
    let refused: Awaited<ReturnType<ExtRouter["chat"]>> | undefined;
    for (let i = 0; i < 12 && refused === undefined; i++) {
      const res = await r.chat({ model: "faq-bot", messages: MESSAGES });
      if (res.status !== 200) refused = res;
    }
    expect(refused?.status, refused?.text).toBe(429);
    expect(refused!.text).toContain("Adapter 'faq-bot' is at capacity");
  });
});

describe("confidence-based escalation", () => {
  const makers: readonly (readonly [string, (e: StubUpstream) => void])[] = [
    ["logprob", (e: StubUpstream): void => {
      e.logprob = -3;
    }],
    ["length", (e: StubUpstream): void => {
      e.finishReason = "length";
    }],
    ["refusal", (e: StubUpstream): void => e.setReply("I'm sorry, but I can't help with that.")],
    ["empty", (e: StubUpstream): void => e.setReply("", [""])],
  ];
  it.each(makers)("re-asks the frontier tier for a %s answer and says so", async (reason, make) => {
    make(engine);
    const before = r.counters()[`escalation_${reason}`] ?? 0;
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(answerText(res)).toBe(`hello from ${anthropic.name}`);
    expect(res.headers.get("x-hybrid-escalated")).toBe(reason);
    expect(headersOf(res)).toEqual({ tier: "frontier", model: "claude-sonnet-4-5", deployment: "frontier@anthropic" });
    expect(chatCalls(engine)).toBe(1);
    // The router asked the engine for log-probabilities; the client did not, and gets none.
    expect((engine.requests.find((q) => q.method === "POST")!.body as Record<string, unknown>)["logprobs"]).toBe(true);
    expect((res.body as { choices: { logprobs: unknown }[] }).choices[0]!.logprobs ?? null).toBeNull();
    expect(r.counters()[`escalation_${reason}`]).toBe(before + 1);
  });

  it("returns a confident answer as it is, with the log-probabilities the client asked for", async () => {
    const res = await r.chat({ model: served, messages: MESSAGES, logprobs: true });
    expect(headersOf(res).tier).toBe("engine");
    expect(res.headers.get("x-hybrid-escalated")).toBeNull();
    expect((res.body as { choices: { logprobs: { content: unknown[] } }[] }).choices[0]!.logprobs.content.length).toBeGreaterThan(0);
    expect(chatCalls(anthropic)).toBe(0);
  });

  it("does not escalate an adapter's answer (its callers asked for the fine-tune)", async () => {
    engine.logprob = -3;
    const res = await r.chat({ model: "support-bot", messages: MESSAGES });
    expect(headersOf(res).tier).toBe("engine");
    expect(chatCalls(anthropic)).toBe(0);
  });

  it("judges a stream on its held-back prefix: a hesitant one is streamed from the frontier tier instead", async () => {
    engine.logprob = -3;
    engine.setReply("one two three four five six");
    const res = await r.chatStream({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(res.done).toBe(true);
    expect(streamedContent(res.events).join("")).toBe(`hello from ${anthropic.name}`);
    engine.logprob = -0.05;
    const ok = await r.chatStream({ model: served, messages: MESSAGES });
    expect(streamedContent(ok.events).join("")).toBe("one two three four five six");
    expect(JSON.stringify(ok.events)).not.toContain('"logprob"');
  });
});

describe("mid-stream failure", () => {
  it("continues a broken engine stream on the managed tier from the text already sent", async () => {
    engine.setReply("alpha beta gamma delta");
    engine.breakAfterChunks = 2;
    await engine.setMode("midstream");
    managed.setReply(" gamma delta");
    const before = r.counters()["stream_continued"] ?? 0;
    const res = await r.chatStream({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(res.done).toBe(true);
    expect(streamedContent(res.events).join("")).toBe("alpha beta gamma delta");
    const cont = managed.requests.find((q) => q.method === "POST")!.body as { messages: { role: string; content: string }[] };
    expect(cont.messages.slice(-2).map((m) => m.role)).toEqual(["assistant", "user"]);
    expect(cont.messages.at(-2)!.content).toBe("alpha beta");
    expect(r.counters()["stream_continued"]).toBe(before + 1);
  });

  it("ends a broken stream it cannot continue with an error event the OpenAI SDK raises, without upstream detail", async () => {
    engine.setReply("alpha beta gamma delta");
    engine.breakAfterChunks = 2;
    // The break comes after the first chunks have reached the router (a break before the
    // first chunk is not mid-stream: LiteLLM retries or falls back as for any failure).
    engine.chunkDelayMs = 100;
    await engine.setMode("midstream");
    const res = await r.chatStream({ model: "faq-bot", messages: MESSAGES });
    expect(res.status).toBe(200);
    expect(streamedContent(res.events).join("")).toBe("alpha beta");
    const error = res.events.find((e) => typeof e === "object" && e !== null && "error" in e) as { error: { message: string } } | undefined;
    expect(error?.error.message).toMatch(/^The router could not get an answer from any tier\. Request id: [0-9a-f-]{36}\.$/);
    // The chunks that were sent are the engine's own; the error names no upstream.
    expect(JSON.stringify(error)).not.toMatch(/stub|engine|hosted_vllm|127\.0\.0\.1|Connection/i);
    // A stream broken mid-way takes its engine out of rotation until a canary passes (a
    // non-streamed completion, which this stub still answers): wait for it to come back.
    for (let i = 0; i < 30 && r.query("SELECT down FROM engines")[0]![0] !== 0; i++) await new Promise((res_) => setTimeout(res_, 1_000));
    // The OpenAI Python SDK (the version the pinned LiteLLM depends on) raises it as APIError.
    const script = [
      "import openai, sys",
      "c = openai.OpenAI(base_url=sys.argv[1] + '/v1', api_key=sys.argv[2], max_retries=0)",
      "text = []",
      "try:",
      "    for chunk in c.chat.completions.create(model='faq-bot', messages=[{'role': 'user', 'content': 'hi'}], stream=True):",
      "        text.append(chunk.choices[0].delta.content or '' if chunk.choices else '')",
      "    print('NO ERROR', ''.join(text))",
      "except openai.APIError as e:",
      "    print('APIError', type(e).__name__, ''.join(text), '|', e.message)",
    ].join("\n");
    // Asynchronously: the stubs live in this process's event loop.
    const { stdout } = await promisify(execFile)(liteLlmExecutable().python, ["-c", script, r.proxy.url, r.masterKey], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", NO_PROXY: "127.0.0.1" } });
    const out = stdout.trim();
    expect(out, r.proxy.output().split("\n").filter((l) => l.includes("hybrid_router")).join("\n")).toMatch(/^APIError APIError alpha beta \| The router could not get an answer from any tier\. Request id: /);
    engine.chunkDelayMs = 0;
  });
});

describe("hygiene", () => {
  it("answers /routes and /openapi.json with 404 when the docs are off", async () => {
    expect((await r.proxy.get("/routes")).status).toBe(404);
    expect((await r.proxy.get("/openapi.json")).status).toBe(404);
    expect((await r.proxy.get("/routes", { key: r.masterKey })).status).toBe(404);
  });

  it("gives clients a generic message with the request id, and keeps the upstream's text in the router log", async () => {
    await engine.setMode("error5xx");
    await managed.setMode("error5xx");
    await anthropic.setMode("error5xx");
    await openai.setMode("error5xx");
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const id = res.headers.get("x-hybrid-request-id")!;
    expect(res.body).toMatchObject({ error: { message: `The router could not get an answer from any tier. Request id: ${id}.` } });
    for (const stub of [engine, managed, anthropic, openai]) expect(res.text).not.toContain(stub.name);
    expect(res.text).not.toContain("127.0.0.1");
    await new Promise((res_) => setTimeout(res_, 500));
    expect(r.proxy.output()).toMatch(new RegExp(`request ${id} failed \\(\\d+ to the client.*stub`));
  });
});

describe("frontier spend guard", () => {
  it("moves frontier traffic past a provider whose day's budget is spent, then refuses it with a clear 429 unless tagged to exceed", async () => {
    // Hard-tagged requests go to Anthropic until its budget is spent, then on to OpenAI.
    const answeredBy: (string | null)[] = [];
    let refused: Awaited<ReturnType<ExtRouter["chat"]>> | undefined;
    for (let i = 0; i < 80 && refused === undefined; i++) {
      const res = await r.chat({ model: served, messages: MESSAGES, tags: ["hard"] });
      if (res.status === 200) answeredBy.push(res.headers.get("x-hybrid-model"));
      else refused = res;
    }
    const spent = Object.fromEntries(r.query("SELECT provider, usd FROM spend").map((row) => [String(row[0]), Number(row[1])]));
    expect(spent["anthropic"]).toBeGreaterThanOrEqual(BUDGET_USD);
    expect(spent["openai"]).toBeGreaterThanOrEqual(BUDGET_USD);
    const firstOpenAi = answeredBy.indexOf("gpt-5");
    expect(firstOpenAi).toBeGreaterThan(0);
    expect(answeredBy.slice(0, firstOpenAi).every((m) => m === "claude-sonnet-4-5")).toBe(true);
    expect(answeredBy.slice(firstOpenAi).every((m) => m === "gpt-5")).toBe(true);
    expect(refused?.status, refused?.text).toBe(429);
    expect(refused!.text).toContain("Frontier spend limit reached for today (UTC) for anthropic");
    expect(refused!.text).toContain("openai");
    expect(refused!.text).toContain(`Requests tagged '${DEFAULT_BUDGET_OVERRIDE_TAG}' may exceed it`);
    const calls = chatCalls(anthropic) + chatCalls(openai);
    const tagged = await r.chat({ model: served, messages: MESSAGES, tags: ["hard", DEFAULT_BUDGET_OVERRIDE_TAG] });
    expect(tagged.status, tagged.text).toBe(200);
    expect(chatCalls(anthropic) + chatCalls(openai)).toBe(calls + 1);
  }, 300_000);

  it("made no call beyond 127.0.0.1", () => {
    expect(r.proxy.egressAttempts()).toEqual([]);
    expect(managedGroupName(served)).toBe(`${served}-managed`);
  });
});
