/**
 * Hung engines (issue 13.1), against the real LiteLLM proxy with our rendered config plus
 * the router extension, for the shipped prod stack AS SHIPPED: two engines, 4 router
 * workers, request_timeout_s 120, num_retries 1, cooldown 30 s, and the extension's
 * derived first-token limit (13 s for prod: router-extension.ts engineTimeouts). Nothing
 * is shortened. A hanging stub accepts the connection and never answers anything, health
 * and metrics included.
 *
 * The managed stub answers after MANAGED_MS, a provider's time to answer, so that "within
 * 1.2x of the managed tier called directly" compares like with like (both through the
 * router: the served model's spill path and the `-managed` group). Every worker is warmed
 * up first: the first request a LiteLLM worker counts tokens for loads a tokenizer, a cost
 * of the process's start, not of the hang.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentIds, managedGroupName } from "../../core/render/litellm-config";
import { streamedContent } from "../router-harness/litellm-proxy";
import { planOf, shippedStack } from "../router/router-fixture";
import { type ExtRouter, MESSAGES, chatCalls, startExtRouter, warmUp } from "./ext-fixture";
import { percentile } from "./load";

const plan = planOf(shippedStack("prod"));
const served = plan.engine.servedModelName;
const [gpu1, gpu2] = plan.hosts.map((h) => h.name) as [string, string];
const MANAGED_MS = 300;

let r: ExtRouter;
let firstTokenS: number;

beforeAll(async () => {
  expect([plan.router.numWorkers, plan.router.requestTimeoutS, plan.router.numRetries, plan.router.cooldownTimeS]).toEqual([4, 120, 1, 30]);
  r = await startExtRouter(plan);
  firstTokenS = r.extension.settings.engine_timeouts.first_token_s;
  expect(firstTokenS).toBe(13);
  await warmUp(r);
  await recovered();
  r.managed!.delayMs = MANAGED_MS;
}, 600_000);

afterAll(async () => {
  await r?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t = Date.now();
  const v = await f();
  return [v, Date.now() - t];
};

/** Engines answering again, back in rotation (the canary passed), their planned rate unused. */
async function recovered(): Promise<void> {
  for (const e of Object.values(r.engines)) await e.setMode("ok");
  for (let i = 0; i < 60; i++) {
    const rows = r.query("SELECT COUNT(*) FROM engines WHERE down = 1");
    if (rows[0]![0] === 0) {
      // prod's engines are planned for 29 requests/min each, with a burst of 2: let it refill.
      await sleep(6_000);
      return;
    }
    await sleep(1_000);
  }
  throw new Error("the engines did not come back into rotation within 60 s");
}

describe("hung engines, shipped timeouts", () => {
  it("answers a request whose engine hangs from the other engine, within the first-token limit + 1 s", async () => {
    await r.reset();
    r.managed!.delayMs = MANAGED_MS;
    await r.engines[gpu1]!.setMode("hang");
    // Two at once: the least-loaded rule puts them on different engines, so one meets the hang.
    const both = await Promise.all([timed(() => r.chat({ model: served, messages: MESSAGES })), timed(() => r.chat({ model: served, messages: MESSAGES }))]);
    for (const [res] of both) expect(res.status, res.text).toBe(200);
    const [slow, slowMs] = [...both].sort((a, b) => b[1] - a[1])[0]!;
    const state = JSON.stringify({
      answered: both.map(([res, ms]) => [res.headers.get("x-hybrid-deployment"), ms]),
      engines: r.query("SELECT name, down, tat - strftime('%s','now'), running, waiting, kv, batch FROM engines"),
      reservations: r.query("SELECT engine, confirmed FROM reservations"),
    });
    expect(chatCalls(r.engines[gpu1]), state).toBe(1);
    // The retry went to the healthy engine, not back to the hung one, and not out of the tier.
    expect(slow.headers.get("x-hybrid-tier")).toBe("engine");
    expect(slow.headers.get("x-hybrid-deployment")).toBe(deploymentIds.engine(served, gpu2));
    expect(slowMs).toBeGreaterThanOrEqual(firstTokenS * 1000 - 500);
    expect(slowMs).toBeLessThanOrEqual((firstTokenS + 1) * 1000);
    // The hung engine is out of rotation: later requests do not touch it (they go to the
    // other engine while its planned rate allows, then to the managed tier).
    for (let i = 0; i < 4; i++) {
      const res = await r.chat({ model: served, messages: MESSAGES });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-hybrid-deployment")).not.toBe(deploymentIds.engine(served, gpu1));
    }
    expect(chatCalls(r.engines[gpu1])).toBe(1);
    await recovered();
  }, 180_000);

  it("falls to the managed tier within the limit + 1 s when both engines hang, then costs later requests no more than the managed tier itself", async () => {
    await r.reset();
    r.managed!.delayMs = MANAGED_MS;
    for (const e of Object.values(r.engines)) await e.setMode("hang");
    const [first, firstMs] = await timed(() => r.chat({ model: served, messages: MESSAGES }));
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get("x-hybrid-tier")).toBe("managed");
    expect(firstMs).toBeLessThanOrEqual((firstTokenS + 1) * 1000);

    // Interleaved: the served model (engines out of rotation) and the managed group directly.
    const spill: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < 20; i++) {
      const [a, aMs] = await timed(() => r.chat({ model: served, messages: MESSAGES }));
      const [b, bMs] = await timed(() => r.chat({ model: managedGroupName(served), messages: MESSAGES }));
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.headers.get("x-hybrid-tier")).toBe("managed");
      spill.push(aMs);
      direct.push(bMs);
    }
    expect(percentile(spill, 50)).toBeLessThanOrEqual(1.2 * percentile(direct, 50));
    expect(Object.values(r.engines).reduce((n, e) => n + chatCalls(e), 0)).toBe(1);
  }, 180_000);

  it("keeps hung engines out for as long as they hang - past LiteLLM's 30 s cooldown - and takes them back once a health check passes", async () => {
    // Still hanging from the previous case; another 35 s.
    const before = Object.values(r.engines).reduce((n, e) => n + chatCalls(e), 0);
    const end = Date.now() + 35_000;
    while (Date.now() < end) {
      const res = await r.chat({ model: served, messages: MESSAGES });
      expect(res.headers.get("x-hybrid-tier")).toBe("managed");
      await sleep(1_000);
    }
    expect(Object.values(r.engines).reduce((n, e) => n + chatCalls(e), 0)).toBe(before);
    const backAt = Date.now();
    await recovered();
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.headers.get("x-hybrid-tier")).toBe("engine");
    // Back within a few polls: a health probe, then the canary completion.
    expect(Date.now() - backAt).toBeLessThan(15_000);
  }, 180_000);

  it("streams the same: the first stream after both engines hang starts from the managed tier within the limit + 1 s, and later ones at once", async () => {
    await r.reset();
    r.managed!.delayMs = MANAGED_MS;
    for (const e of Object.values(r.engines)) await e.setMode("hang");
    const [first, firstMs] = await timed(() => r.chatStream({ model: served, messages: MESSAGES }));
    expect(first.status, first.text).toBe(200);
    expect(first.done).toBe(true);
    expect(streamedContent(first.events).join("")).toBe(`hello from ${r.managed!.name}`);
    expect(firstMs).toBeLessThanOrEqual((firstTokenS + 1) * 1000);
    const [later, laterMs] = await timed(() => r.chatStream({ model: served, messages: MESSAGES }));
    expect(later.headers.get("x-hybrid-tier")).toBe("managed");
    expect(laterMs).toBeLessThan(MANAGED_MS + 2_000);
    await recovered();
  }, 180_000);

  it("made no call beyond 127.0.0.1", () => {
    expect(r.proxy.egressAttempts()).toEqual([]);
  });
});
