/**
 * A prod engine outage against the real LiteLLM proxy with our rendered config: the
 * shipped prod stack (two engines, managed Together AI, frontier Anthropic then OpenAI)
 * with its cooldown settings (allowed_fails 3), except `cooldown_time_s: 5` so the
 * recovery is seen within the test, `request_timeout_s: 2`, and `num_workers: 1` (the
 * proxy's worker count here; see prod.test.ts).
 *
 * What a user cares about: while the engines are down every request still succeeds, from
 * the managed tier (not from the frontier API that serves `hard` requests); after a few
 * failures the engines leave the rotation so requests stop paying for them; when the
 * cooldown ends and the engines are back, traffic returns to them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentIds } from "../../core/render/litellm-config";
import type { StubMode, StubUpstream } from "../router-harness/stub-upstreams";
import { MESSAGES, type RouterUnderTest, answeredBy, calls, credentialsInOutput, planOf, shippedStack, startRouter } from "./router-fixture";

const COOLDOWN_S = 5;
const plan = planOf(shippedStack("prod", { request_timeout_s: 2, cooldown_time_s: COOLDOWN_S, num_workers: 1 }));
const served = plan.engine.servedModelName;
const overflowId = deploymentIds.overflow(served, plan.router.managed!.provider);

let r: RouterUnderTest;
let engines: StubUpstream[];

beforeAll(async () => {
  expect(plan.router.allowedFails).toBe(3);
  r = await startRouter(plan);
  engines = plan.hosts.map((h) => r.engines[h.name]!);
}, 120_000);

afterAll(async () => {
  await r?.stop();
});

const engineCalls = (): number => engines.reduce((n, e) => n + calls(e).length, 0);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `n` requests with the engines in `mode`; returns who answered and how many engine calls each made. */
async function duringOutage(mode: StubMode, n: number): Promise<{ answered: (string | null)[]; engineCallsPerRequest: number[] }> {
  await r.reset();
  for (const e of engines) await e.setMode(mode);
  const answered: (string | null)[] = [];
  const engineCallsPerRequest: number[] = [];
  for (let i = 0; i < n; i++) {
    const before = engineCalls();
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    answered.push(answeredBy(res));
    engineCallsPerRequest.push(engineCalls() - before);
  }
  return { answered, engineCallsPerRequest };
}

describe("prod outage: both engines failing", () => {
  it("answers every request from the managed tier and takes the engines out of rotation after allowed_fails", async () => {
    const n = 12;
    const { answered, engineCallsPerRequest } = await duringOutage("error5xx", n);
    expect(answered).toEqual(Array<string>(n).fill(overflowId));
    expect(calls(r.managed)).toHaveLength(n);
    expect(r.frontier.map((f) => calls(f).length)).toEqual([0, 0]);
    // Each engine cools down after allowed_fails + 1 failed requests; with two engines
    // that is at most 2 * 4 requests, after which no request touches an engine.
    const firstClean = engineCallsPerRequest.findIndex((c, i) => engineCallsPerRequest.slice(i).every((x) => x === 0));
    expect(firstClean).toBeGreaterThan(0);
    expect(firstClean).toBeLessThanOrEqual(2 * (plan.router.allowedFails + 1));
  });

  it("sends traffic back to the engines once the cooldown has passed and they answer again", async () => {
    await r.reset();
    await sleep(COOLDOWN_S * 1000 + 500);
    const res = await r.chat({ model: served, messages: MESSAGES });
    expect(res.status, res.text).toBe(200);
    expect(plan.hosts.map((h) => deploymentIds.engine(served, h.name))).toContain(answeredBy(res));
    expect(calls(r.managed)).toHaveLength(0);
  });

  it("answers every request from the managed tier while both engines refuse connections", async () => {
    const n = 8;
    const { answered, engineCallsPerRequest } = await duringOutage("refuse", n);
    expect(answered).toEqual(Array<string>(n).fill(overflowId));
    expect(engineCallsPerRequest).toEqual(Array<number>(n).fill(0)); // nothing listens: no request arrives
    expect(r.frontier.map((f) => calls(f).length)).toEqual([0, 0]);
  });

  it("answers every request, concurrent ones included, while the engines restart for an upgrade", async () => {
    // An engine replacement as clients see it: the old container stops (connections
    // refused), the new one loads the model (refused, then 503 while it warms up), then it
    // serves again. Requests keep arriving, four at a time, through every phase.
    await r.reset();
    await sleep(COOLDOWN_S * 1000 + 500); // start from engines back in rotation
    const phases: StubMode[] = ["ok", "refuse", "error5xx", "ok"];
    const statuses: number[] = [];
    for (const mode of phases) {
      for (const e of engines) await e.setMode(mode);
      const batch = await Promise.all(Array.from({ length: 4 }, () => r.chat({ model: served, messages: MESSAGES })));
      statuses.push(...batch.map((res) => res.status));
    }
    expect(statuses).toEqual(Array<number>(phases.length * 4).fill(200));
    expect(r.frontier.map((f) => calls(f).length)).toEqual([0, 0]);
  });

  it("printed no credential value and made no call beyond 127.0.0.1", () => {
    expect(credentialsInOutput(r)).toEqual([]);
    expect(r.proxy.egressAttempts()).toEqual([]);
  });
});
