/**
 * A rolling engine change across two hosts, as clients of the real LiteLLM proxy (with our
 * rendered config) see it: stub engines go away and come back one after the other, in the order
 * the plan computes (core/plan/rollout.ts), the next one only after the previous one passes the
 * readiness gate's own check (the Python program of templates/engine/readiness.sh), while four
 * clients send requests throughout.
 *
 * The stack is the shipped dev stack with a second, identical host (both on a private network),
 * `request_timeout_s: 2`, `cooldown_time_s: 5` and `num_workers: 1` (the proxy's worker count
 * here; see prod.test.ts), with its managed tier, as shipped. The clients keep under one
 * engine's planned rate (189 requests a minute per engine here), so nothing spills for load, and
 * an engine reloads in less than the cooldown.
 *
 * Asserted: zero client errors during the rolling change, and the self-hosted tier kept serving:
 * the engine not being replaced answered throughout, and only the few requests the router had
 * already sent to the replaced engine before cooling it down (at most allowed_fails + 1 per
 * engine) went to the managed tier. The control replaces both engines at once (what a
 * deployment without the rollout order did): clients still get answers, but from the managed
 * tier alone while both engines are down. Without a managed tier, LiteLLM 1.108.7 fails those
 * first requests instead (measured while writing this test: 3 client errors in a rolling change
 * like this one); every shipped stack has one.
 *
 * Then the router's own readiness gate against the real proxy: it passes only when the proxy is
 * ready and reaches both engines with the key it holds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTER_ENGINE_KEY_ENV } from "../../core/plan/env";
import { planRollout } from "../../core/plan/rollout";
import { deploymentIds } from "../../core/render/litellm-config";
import { routerReadinessStep } from "../../core/render/readiness";
import { renderTarget } from "../../core/render/target";
import { MESSAGES, type RouterUnderTest, answeredBy, planOf, shippedStack, startRouter } from "./router-fixture";
import { runProbe } from "./readiness-probe";

const COOLDOWN_S = 5;
/** How long a replaced engine's port stays closed while the new container loads the model: less than the cooldown. */
const LOAD_MS = 4000;
const CLIENTS = 6;
/** Each client's pause between requests: about 4 requests a second in all. */
const PAUSE_MS = 1500;

const plan = (() => {
  const base = shippedStack("dev", { request_timeout_s: 2, cooldown_time_s: COOLDOWN_S, num_workers: 1 });
  const [first] = base.values["hosts"] as Record<string, unknown>[];
  const hosts = [{ ...first, private_address: "10.0.0.10" }, { ...first, name: "dev-gpu-2", address: "203.0.113.11", private_address: "10.0.0.11" }];
  return planOf({ ...base, values: { ...base.values, hosts } });
})();
const served = plan.engine.servedModelName;
const order = planRollout(plan);

let r: RouterUnderTest;

beforeAll(async () => {
  expect(plan.router.managed?.provider).toBe("together_ai");
  expect(plan.router.frontier).toEqual([]);
  r = await startRouter(plan, { engineModels: plan.router.modelNames });
}, 120_000);

afterAll(async () => {
  await r?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Outcome {
  readonly at: number;
  readonly status: number;
  readonly by: string | null;
  /** Engines not serving when the request was sent. */
  readonly down: number;
  readonly text?: string;
}

let down = 0;

/** Clients sending requests until `done` settles; every outcome recorded. */
async function clientsDuring(done: Promise<void>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let running = true;
  void done.finally(() => (running = false));
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (running) {
      const sentWithDown = down;
      const res = await r.chat({ model: served, messages: MESSAGES });
      outcomes.push({ at: Date.now(), status: res.status, by: answeredBy(res), down: sentWithDown, ...(res.status === 200 ? {} : { text: res.text.slice(0, 300) }) });
      await sleep(PAUSE_MS);
    }
  }));
  return outcomes;
}

/** The readiness gate's check against one engine stub, until it passes (as the gate on the host does). */
async function gate(host: string): Promise<number> {
  const engine = r.engines[host]!;
  for (let attempt = 1; attempt <= 50; attempt++) {
    const probe = await runProbe("vllm", { url: engine.url, key_env: "VLLM_API_KEY", models: [served] }, { VLLM_API_KEY: "engine-key" });
    if (probe.status === 0) return attempt;
    await sleep(200);
  }
  throw new Error(`the engine of ${host} never passed its readiness check`);
}

/**
 * One engine replaced: its container stops (port closed), the new one loads, then serves and
 * passes its gate, which then waits the host's settle time (the router's cooldown_time, so the
 * router has taken the engine back before the next host goes), as the gate on the host does.
 */
async function replace(host: string, settle: boolean): Promise<void> {
  const engine = r.engines[host]!;
  down += 1;
  await engine.setMode("refuse");
  await sleep(LOAD_MS);
  await engine.setMode("ok");
  await gate(host);
  down -= 1;
  if (settle) await sleep(order.find((o) => o.host === host)!.settleS * 1000);
}

describe("a rolling engine change across two hosts, through the real LiteLLM proxy", () => {
  const engineIds = plan.hosts.map((h) => deploymentIds.engine(served, h.name));
  const managedId = deploymentIds.overflow(served, plan.router.managed!.provider);

  it("follows the plan's order and answers every request, the other engine serving while one is replaced", async () => {
    expect(order.map((o) => [o.host, o.waitsFor, o.settleS])).toEqual([["dev-gpu-1", null, COOLDOWN_S], ["dev-gpu-2", "dev-gpu-1", 0]]);
    await r.reset();
    const passed: Record<string, Promise<void>> = {};
    const rollout = (async () => {
      await sleep(1000); // clients first see both engines serving
      for (const o of order) {
        // Each host starts once the host it waits for has passed its gate.
        passed[o.host] = (o.waitsFor ? passed[o.waitsFor]! : Promise.resolve()).then(() => replace(o.host, true));
      }
      await Promise.all(Object.values(passed));
      await sleep(1000);
    })();
    const outcomes = await clientsDuring(rollout);
    const during = outcomes.filter((o) => o.down > 0);
    expect(Math.max(...outcomes.map((o) => o.down))).toBe(1);
    expect(during.length).toBeGreaterThanOrEqual(10);
    // Fewer requests in the minute than one engine's planned rate: nothing spilled for load.
    for (const u of plan.router.upstreams) expect(u.rpmPerProcess).toBeGreaterThan(outcomes.length);
    expect(outcomes.filter((o) => o.status !== 200), JSON.stringify(outcomes.filter((o) => o.status !== 200).slice(0, 3))).toEqual([]);
    // The self-hosted tier kept serving: both engines answered while the other was replaced ...
    expect(new Set(during.map((o) => o.by).filter((b) => b !== managedId))).toEqual(new Set(engineIds));
    // ... and only requests already on their way to the replaced engine went to the managed tier.
    const spilled = outcomes.filter((o) => o.by === managedId).length;
    expect(spilled).toBeLessThanOrEqual(order.length * (plan.router.allowedFails + 1));
    // eslint-disable-next-line no-console
    console.log(`rolling change: ${outcomes.length} requests, ${during.length} while an engine was down, 0 errors, ${spilled} answered by the managed tier`);
  }, 120_000);

  it("control: both engines replaced at once leave the managed tier answering alone", async () => {
    await r.reset();
    await sleep(COOLDOWN_S * 1000 + 500);
    const together = (async () => {
      await sleep(1000);
      await Promise.all(order.map((o) => replace(o.host, false)));
      await sleep(1000);
    })();
    const outcomes = await clientsDuring(together);
    const bothDown = outcomes.filter((o) => o.down === 2);
    expect(bothDown.length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.status !== 200), JSON.stringify(outcomes.filter((o) => o.status !== 200))).toEqual([]);
    expect(bothDown.filter((o) => o.by !== managedId)).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(`both at once: ${outcomes.length} requests, ${bothDown.length} while both engines were down, all answered by the managed tier`);
  }, 120_000);
});

describe("the router's readiness gate against the real proxy", () => {
  const rendering = renderTarget(plan);
  if (rendering.kind !== "docker") throw new Error("dev is a docker stack");
  const probesFor = (): Record<string, unknown> => {
    const probes = JSON.parse(routerReadinessStep(plan, rendering.router).env["HI_PROBES"]!) as { upstreams: { name: string; api_base: string }[] };
    return { ...probes, url: r.proxy.url, upstreams: probes.upstreams.map((u) => ({ ...u, api_base: r.engines[u.name]!.apiBase })) };
  };
  const routerEnv = (): Record<string, string> => ({ [ROUTER_ENGINE_KEY_ENV]: r.credentials[ROUTER_ENGINE_KEY_ENV]! });

  it("passes once the proxy is ready and reaches every engine with the key it holds", async () => {
    await r.reset();
    const probe = await runProbe("router", probesFor(), routerEnv());
    expect(probe.stderr).toBe("");
    expect(probe.stdout.trim()).toBe("router ready; it reaches dev-gpu-1, dev-gpu-2");
    expect(probe.status).toBe(0);
    for (const h of plan.hosts) {
      const models = r.engines[h.name]!.requestsTo("/models").at(-1);
      expect(models?.headers.authorization).toBe(`Bearer ${r.credentials[ROUTER_ENGINE_KEY_ENV]}`);
    }
  });

  it("names the engine the router cannot reach", async () => {
    await r.engines["dev-gpu-2"]!.setMode("refuse");
    const probe = await runProbe("router", probesFor(), routerEnv());
    expect(probe.status).toBe(1);
    expect(probe.stdout).toContain("the router cannot use the engine of dev-gpu-2: ");
    expect(probe.stdout).toMatch(/Connection refused/);
    await r.reset();
  });
});
