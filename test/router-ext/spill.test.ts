/**
 * Spill-over from the engine's live load (issue 12 part 3), against the real LiteLLM
 * proxy with our rendered config plus the router extension: the shipped dev stack (one
 * RTX 4090, Qwen 2.5 7B, planned 162 requests/min, the stack's 2 router workers) with a
 * second adapter, so one engine serves the base model and 2 adapters:
 *   - `support-bot`, fallback policy `base` (the managed tier's base model),
 *   - `legal-bot`, fallback policy `managed` (its fine-tune at Fireworks, a stub).
 * The engine stub follows a queue model (stub-upstreams.ts QueueModel): a batch of slots,
 * a FIFO queue in front, vLLM's scheduler metrics on /metrics.
 *
 * Without the extension LiteLLM admits each deployment's rpm in each worker: with 2
 * workers and 2 adapters, 2 x 3 = 6 times the planned rate could reach the engine. Here
 * one budget covers all three model names and both workers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentIds, managedGroupName } from "../../core/render/litellm-config";
import { ADMISSION_BURST_S, adapterManagedDeploymentId } from "../../core/render/router-extension";
import { planOf, shippedStack } from "../router/router-fixture";
import { type ExtRouter, MESSAGES, chatCalls, startExtRouter } from "./ext-fixture";
import { openLoop, percentile } from "./load";

const raw = shippedStack("dev");
const plan = planOf({
  ...raw,
  values: {
    ...raw.values,
    adapters: [
      ...(raw.values["adapters"] as unknown[]),
      { name: "legal-bot", source: "/srv/adapters/legal-bot", rank: 16, base_model: "qwen2.5-7b-instruct" },
    ],
  },
});
const served = plan.engine.servedModelName;
const host = plan.hosts[0]!;
const rpm = host.capacity.routerRpm;
const fireworks = { provider: "fireworks_ai", litellmModel: "fireworks_ai/accounts/acme/models/legal-bot", apiKeyEnv: "FIREWORKS_AI_API_KEY" };
const MODELS = [served, "support-bot", "legal-bot"];

let r: ExtRouter;

beforeAll(async () => {
  expect(plan.router.numWorkers).toBe(2);
  expect(rpm).toBe(189);
  r = await startExtRouter(plan, {
    extension: { adapterPolicies: { "support-bot": { policy: "base" }, "legal-bot": { policy: "managed", managed: fireworks } } },
    adapterManaged: ["legal-bot"],
    // Twice the planned rate (slots / service time): here the planned rate is what binds.
    queues: { [host.name]: { slots: host.capacity.concurrency, serviceMs: Math.round((host.capacity.concurrency * 60_000) / (2 * rpm)) } },
  });
}, 420_000);

afterAll(async () => {
  await r?.stop();
});

const send = (model: string) => r.chat({ model, messages: MESSAGES }, {}, 120_000);
const engine = () => r.engines[host.name]!;

/** The most chat completions the engine received within any `seconds`-long window (its own clock). */
function peakWithin(seconds: number): number {
  const at = engine().requests.filter((q) => q.method === "POST" && q.path.endsWith("/chat/completions")).map((q) => q.receivedAt).sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; j < at.length; j++) {
    while (at[j]! - at[i]! > seconds * 1000) i++;
    peak = Math.max(peak, j - i + 1);
  }
  return peak;
}

/** The GCRA bound: the burst plus the planned rate over the window. */
const gcraBound = (seconds: number): number => Math.max(1, Math.floor((ADMISSION_BURST_S * rpm) / 60)) + (seconds * rpm) / 60;

/** Waits until the engine stub has answered everything it took. */
async function drain(): Promise<void> {
  for (let i = 0; i < 240 && (engine().load.running > 0 || engine().load.waiting > 0); i++) await new Promise((res) => setTimeout(res, 500));
}

describe("live-load admission: one budget per engine, shared by adapters and workers", () => {
  it("admits the engine at most 1.1x its planned rate over a minute of 3x that load, and every excess request reaches its managed tier", async () => {
    await r.reset();
    const load = await openLoop(send, MODELS, (3 * rpm) / 60, 62);
    const seconds = (load.lastAt - load.firstAt) / 1000;
    const admitted = chatCalls(engine());
    expect(load.results.filter((x) => x.status !== 200)).toEqual([]);
    // Over any minute, as the engine saw it: at most 1.1 x the planned rate.
    expect(peakWithin(60)).toBeLessThanOrEqual(1.1 * rpm);
    // ... and the engine was used to its plan: the excess was spilled, not everything.
    expect(admitted).toBeGreaterThanOrEqual(Math.floor((0.9 * rpm * seconds) / 60));
    // Each model name's excess went where its policy says, never anywhere else.
    const by = (model: string) => new Set(load.results.filter((x) => x.model === model).map((x) => x.deployment));
    expect(by(served)).toEqual(new Set([deploymentIds.engine(served, host.name), deploymentIds.overflow(served, "together_ai")]));
    expect(by("support-bot")).toEqual(new Set([deploymentIds.engine("support-bot", host.name), deploymentIds.managed(served, "together_ai")]));
    expect(by("legal-bot")).toEqual(new Set([deploymentIds.engine("legal-bot", host.name), adapterManagedDeploymentId("legal-bot", "fireworks_ai")]));
    expect(chatCalls(r.managed) + chatCalls(r.adapterManaged["legal-bot"])).toBe(load.results.length - admitted);
    // All three names shared the one budget.
    const models = new Set(engine().requests.filter((q) => q.method === "POST").map((q) => q.model));
    expect(models).toEqual(new Set(MODELS));
    await drain();
    expect(r.query("SELECT COUNT(*) FROM reservations WHERE confirmed = 1")).toEqual([[0]]);
  }, 300_000);

  it("skips a saturated engine by its own metrics when it is slower than planned: no queue builds, the rest spills", async () => {
    await r.reset();
    // Half the planned rate: 8 slots, each request 8 x 60 / (0.5 x 162) s.
    const slots = 8;
    engine().queue = { slots, serviceMs: Math.round((slots * 60_000) / (0.5 * rpm)) };
    let maxWaiting = 0;
    const sampler = setInterval(() => {
      maxWaiting = Math.max(maxWaiting, engine().load.waiting);
    }, 100);
    const load = await openLoop(send, MODELS, rpm / 60, 40);
    clearInterval(sampler);
    expect(load.results.filter((x) => x.status !== 200)).toEqual([]);
    // Admission follows the engine's real capacity (8 at a time), far below the planned rate.
    const served_ = engine().served;
    expect(chatCalls(engine())).toBeLessThan((0.75 * rpm * 40) / 60);
    // The static planned rate alone would queue ~1.35 requests more every second (54 by the
    // end); judged by the engine's own metrics the queue stays a sample's worth of arrivals.
    expect(maxWaiting).toBeLessThanOrEqual(4);
    // Requests served by the engine waited in its queue less than one service time.
    expect(percentile(served_.map((s) => s.waitedMs), 99)).toBeLessThan(engine().queue!.serviceMs);
    await drain();
  }, 300_000);

  it("falls back to the planned rate alone when the engine's metrics cannot be read", async () => {
    await r.reset();
    engine().queue = { slots: host.capacity.concurrency, serviceMs: Math.round((host.capacity.concurrency * 60_000) / (2 * rpm)) };
    engine().metricsAvailable = false;
    try {
      await new Promise((res) => setTimeout(res, 4_000)); // the last snapshot goes stale
      const load = await openLoop(send, MODELS, (3 * rpm) / 60, 30);
      const seconds = (load.lastAt - load.firstAt) / 1000;
      expect(load.results.filter((x) => x.status !== 200)).toEqual([]);
      for (const window of [5, 10, 30]) expect(peakWithin(window), `${window} s`).toBeLessThanOrEqual(gcraBound(window));
      expect(chatCalls(engine())).toBeGreaterThanOrEqual(Math.floor((0.9 * rpm * seconds) / 60));
    } finally {
      engine().metricsAvailable = true;
    }
    await drain();
  }, 300_000);

  it("made no call beyond 127.0.0.1", () => {
    expect(r.proxy.egressAttempts()).toEqual([]);
    expect(managedGroupName(served)).toBe(`${served}-managed`);
  });
});
