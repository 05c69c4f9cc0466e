/**
 * router.slo: the engines' router limits come from the highest load that meets the stack's
 * latency targets (the capacity model's operating point), not from saturation.
 */
import { describe, expect, it } from "vitest";
import { loadPlan } from "../../core/load";
import { rawConfig, validValues, withValues } from "../fixtures";

const routerWith = (slo: Record<string, unknown> | undefined) => ({ ...(validValues()["router"] as object), ...(slo ? { slo } : {}) });
const planWith = (slo: Record<string, unknown> | undefined) => loadPlan(rawConfig(withValues({ router: routerWith(slo) })));

describe("router.slo", () => {
  it("sets each engine's router limit from the operating point that meets it", () => {
    const { plan } = planWith({ ttft_ms: 1500, tpot_ms: 40 });
    const host = plan!.hosts[0]!;
    const point = host.replicaCapacity.operatingPoint;
    expect(point.sloMet).toBe(true);
    expect(point.ttftMs).toBeLessThanOrEqual(1500);
    expect(point.tpotMs).toBeLessThanOrEqual(40);
    expect(plan!.router.upstreams[0]!.rpm).toBe(Math.max(1, Math.floor(point.requestsPerSecond * 60)));
  });

  it("admits more with a looser SLO and less with a tighter one", () => {
    const rpm = (slo: Record<string, unknown>) => planWith(slo).plan!.router.upstreams[0]!.rpm;
    expect(rpm({ tpot_ms: 25 })).toBeLessThan(rpm({ tpot_ms: 50 }));
    expect(rpm({ tpot_ms: 50 })).toBeLessThanOrEqual(rpm({ tpot_ms: 200 }));
  });

  it("warns, naming the host and what it achieves, when even one request at a time misses the SLO", () => {
    const { plan, issues } = planWith({ ttft_ms: 50 });
    expect(plan).toBeDefined();
    const w = issues.find((i) => i.path === "hybrid-inference:router.slo");
    expect(w?.severity).toBe("warning");
    expect(w?.message).toMatch(/^host "gpu-1" misses the SLO \(TTFT 50 ms, - ms per token\) even with one request at a time: it gives \d+ ms to the first token/);
    expect(plan!.router.upstreams[0]!.rpm).toBeGreaterThanOrEqual(1);
  });

  it("refuses targets no engine can be held to, with the limit", () => {
    const { issues } = planWith({ ttft_ms: 10, tpot_ms: 0 });
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath["hybrid-inference:router.slo.ttft_ms"]?.fix).toBe("use a value of at least 50");
    expect(byPath["hybrid-inference:router.slo.tpot_ms"]?.fix).toBe("use a value of at least 1");
  });
});
