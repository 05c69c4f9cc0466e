/**
 * Measured capacity takes precedence over the model's estimate (core/plan/measured.ts), through
 * the one hook every planner uses (replicaCapacity), and the plan says so.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planSummary } from "../../core/review/text";
import { loadPlan } from "../../core/load";
import { type CapacityInputs, engineFor } from "../../core/plan/capacity";
import { SATURATION_HEADROOM } from "../../core/plan/capacity/curve";
import { loadAt } from "../../core/plan/capacity/load";
import { replicaCapacity } from "../../core/plan/hosts";
import { type Measurement, type MeasuredPoint, effectiveCurve, measuredCapacity } from "../../core/plan/measured";
import { kvBytesPerToken } from "../../core/plan/memory";
import type { DeploymentPlan } from "../../core/plan/types";
import { rawConfig, validValues, withValues } from "../fixtures";

/** The fixture stack: one RTX 4090 serving Qwen 2.5 7B in bf16, 1000 in / 300 out tokens. */
const MEASURED_WITH = { gpu: "rtx-4090", gpu_count: 1, checkpoint: "Qwen/Qwen2.5-7B-Instruct", gpu_memory_utilization: 0.9, kv_cache_dtype: "auto", replicas: 1 };

function planWith(measured: Record<string, unknown> | undefined, patch: Record<string, unknown> = {}) {
  return loadPlan(rawConfig(withValues({ ...(measured ? { measured } : {}), ...patch })));
}

function entry(over: Record<string, unknown> = {}) {
  return { "gpu-1": { measured_on: "2026-11-30", source: "vllm bench serve (test)", measured_with: MEASURED_WITH, ...over } };
}

const estimate = planWith(undefined).plan!;

/** The capacity inputs the fixture host plans with, for the rule's own functions. */
function inputsOf(plan: DeploymentPlan): CapacityInputs {
  const h = plan.hosts[0]!;
  return {
    model: plan.model, gpu: h.gpu, weightBytes: plan.engine.weightBytes, kvBytesPerToken: kvBytesPerToken(plan.model, 2),
    tensorParallel: h.tensorParallel, replicas: 1, avgInputTokens: 1000, avgOutputTokens: 300, quantization: plan.engine.quantization,
    maxNumSeqs: plan.engine.maxNumSeqs, maxNumBatchedTokens: plan.engine.maxNumBatchedTokens, kvTokens: h.memory.kvTokens,
  };
}

const point = (concurrency: number, requestsPerSecond: number, ttftMs: number, tpotMs: number): MeasuredPoint =>
  ({ concurrency, requestsPerSecond, outputTokensPerSecond: requestsPerSecond * 300, ttftMs, tpotMs });
const measurement = (points: readonly MeasuredPoint[], over: Partial<Measurement> = {}): Measurement =>
  ({ measuredOn: "2026-11-30", source: "test", replicas: 1, curve: { inputTokens: 1000, outputTokens: 300, points }, ...over });

describe("measured KV tokens", () => {
  it("replace the memory model's for every concurrency limit", () => {
    // 13,000 tokens hold 10 requests of 1000 + 300 tokens (the estimate holds 122,884 tokens: 64 requests, max_num_seqs).
    const { plan, issues } = planWith(entry({ kv_tokens: 13_000 }));
    const h = plan!.hosts[0]!;
    expect(estimate.hosts[0]!.replicaCapacity.maxConcurrency).toBe(64);
    expect(h.replicaCapacity.maxConcurrency).toBe(10);
    expect(h.concurrencyAtMaxContext).toBe(Math.floor(13_000 / plan!.engine.maxModelLen));
    expect(h.measured?.kvTokens).toEqual({ measured: 13_000, estimated: estimate.hosts[0]!.memory.kvTokens });
    // Ten requests at most: less than the estimate's operating point of ~40, so the router admits less.
    expect(h.replicaCapacity.operatingPoint.concurrency).toBeLessThanOrEqual(10);
    expect(plan!.router.upstreams[0]!.rpm).toBeLessThan(estimate.router.upstreams[0]!.rpm);
    expect(issues.filter((i) => i.path.includes("measured"))).toEqual([]);
  });

  it("are dropped, with a warning, when the memory settings changed since the measurement", () => {
    const { plan, issues } = planWith(entry({ kv_tokens: 13_000 }), { engine: { gpu_memory_utilization: 0.8 } });
    expect(plan!.hosts[0]!.replicaCapacity.maxConcurrency).toBeGreaterThan(10);
    const w = issues.find((i) => i.path === "hybrid-inference:measured.gpu-1");
    expect(w?.severity).toBe("warning");
    expect(w?.message).toContain("the measured KV cache size is not used: it was measured with gpu_memory_utilization 0.9 and kv_cache_dtype auto, the stack now sets 0.8 and auto");
  });
});

describe("measured points", () => {
  it("set the router limit at the measured level the SLO allows", () => {
    // tpot 30 ms is met at 8 requests (measured 29.0 ms) and missed from 9 (interpolated towards 16's 41 ms).
    const points = [point(1, 0.2, 150, 20), point(8, 1.2, 170, 29), point(16, 1.9, 190, 41), point(64, 3.0, 260, 70)];
    const { plan } = planWith(entry({
      request_shape: { input_tokens: 1000, output_tokens: 300 },
      points: points.map((p) => ({ concurrency: p.concurrency, requests_per_s: p.requestsPerSecond, output_tokens_per_s: p.outputTokensPerSecond, ttft_ms: p.ttftMs, tpot_ms: p.tpotMs })),
    }), { router: { ...(validValues()["router"] as object), slo: { tpot_ms: 30 } } });
    const h = plan!.hosts[0]!;
    const op = h.replicaCapacity.operatingPoint;
    expect(op.concurrency).toBe(8);
    expect(op.boundBy).toBe("slo");
    expect(op.requestsPerSecond).toBeCloseTo(1.2, 9);
    expect(plan!.router.upstreams[0]!.rpm).toBe(Math.floor(1.2 * 60));
    expect(h.measured?.curve?.shapeScaled).toBe(false);
    // The plan says which host uses measured figures, from when, and the estimate it replaced.
    const text = planSummary(plan!);
    expect(text).toContain("Measured capacity (takes precedence over the estimate)");
    const sameSlo = planWith(undefined, { router: { ...(validValues()["router"] as object), slo: { tpot_ms: 30 } } }).plan!;
    expect(text).toContain(`gpu-1: the latency-throughput curve at 4 levels (1, 8, 16, 64 requests in flight per replica), measured on 2026-11-30 (vllm bench serve (test)); router rpm 72 (estimate ${sameSlo.hosts[0]!.capacity.routerRpm})`);
    expect(text).toMatch(/^m\s+8\s+170\s+29\.0\s+360\s+1\.20$/m);
  });

  it("interpolate linearly between measured levels", () => {
    // tpot 20 ms at 1 and 50 ms at 16: the SLO of 30 ms is met up to 6 requests, (30 - 20) / (50 - 20) x 15 = 5 steps above 1.
    const m = measurement([point(1, 0.2, 150, 20), point(16, 2.0, 200, 50)]);
    const { report } = measuredCapacity(inputsOf(estimate), m, { tpotMs: 30 }, 0.5);
    const t = 5 / 15;
    expect(report.operatingPoint.concurrency).toBe(6);
    expect(report.operatingPoint.tpotMs).toBeCloseTo(20 + t * 30, 9);
    expect(report.operatingPoint.ttftMs).toBeCloseTo(150 + t * 50, 9);
    expect(report.operatingPoint.requestsPerSecond).toBeCloseTo(0.2 + t * 1.8, 9);
    expect(report.routerRpm).toBe(Math.floor((0.2 + t * 1.8) * 60));
  });

  it("outside the measured range, use the model scaled to agree with the nearest measured level", () => {
    const e = engineFor(inputsOf(estimate));
    const measuredAt4 = point(4, 0.5, 300, 25);
    const measuredAt16 = point(16, 1.5, 400, 35);
    const curve = effectiveCurve(e, e, [measuredAt4, measuredAt16]);
    const model = (c: number) => loadAt(e, c);
    // Below: one request is the model's value times measured(4) / model(4).
    expect(curve(1).tpotMs).toBeCloseTo(model(1).tpotSeconds * 1000 * (25 / (model(4).tpotSeconds * 1000)), 9);
    expect(curve(1).requestsPerSecond).toBeCloseTo(model(1).requestsPerSecond * (0.5 / model(4).requestsPerSecond), 9);
    // Above: 64 requests scale to measured(16).
    expect(curve(64).ttftMs).toBeCloseTo(model(64).ttftSeconds * 1000 * (400 / (model(16).ttftSeconds * 1000)), 9);
    // At the measured levels: the measurement itself.
    expect(curve(4)).toMatchObject({ ttftMs: 300, tpotMs: 25, requestsPerSecond: 0.5 });
    expect(curve(16)).toMatchObject({ ttftMs: 400, tpotMs: 35, requestsPerSecond: 1.5 });
  });

  it("hold the limit to the headroom below the saturated rate, as the model does", () => {
    // Latencies flat and low: the SLO allows every level, so 85% of the rate at 64 bounds the point.
    const m = measurement([point(1, 0.2, 100, 10), point(16, 2.0, 100, 10), point(64, 4.0, 100, 10)]);
    const { report } = measuredCapacity(inputsOf(estimate), m, undefined, 0.5);
    expect(report.operatingPoint.boundBy).toBe("headroom");
    expect(report.operatingPoint.requestsPerSecond).toBeCloseTo(SATURATION_HEADROOM * 4.0, 6);
  });

  it("divide a data-parallel engine's levels and rates by its replicas, and multiply the host back", () => {
    // An engine of 2 replicas benchmarked at 2, 16 and 32 requests: one replica saw 1, 8 and 16.
    const container = [point(2, 0.4, 150, 20), point(16, 2.4, 170, 29), point(32, 3.8, 190, 41)];
    const inputs = { ...inputsOf(estimate), replicas: 2 };
    const { report, basis } = measuredCapacity(inputs, measurement(container, { replicas: 2 }), { tpotMs: 30 }, 0.5);
    expect(basis.curve?.points.map((p) => p.concurrency)).toEqual([1, 8, 16]);
    expect(report.operatingPoint.concurrency).toBe(8);
    expect(report.operatingPoint.requestsPerSecond).toBeCloseTo(1.2, 9);
    expect(report.routerRpm).toBe(Math.floor(2.4 * 60));
  });

  it("are not used above the requests the engine runs at once, and the plan says so", () => {
    const { plan, issues } = planWith(entry({
      request_shape: { input_tokens: 1000, output_tokens: 300 },
      points: [{ concurrency: 4, requests_per_s: 0.6, output_tokens_per_s: 180, ttft_ms: 160, tpot_ms: 21 },
        { concurrency: 128, requests_per_s: 3.5, output_tokens_per_s: 1050, ttft_ms: 9000, tpot_ms: 60 }],
    }));
    expect(plan!.hosts[0]!.measured?.curve?.points.map((p) => p.concurrency)).toEqual([4]);
    expect(issues.find((i) => i.path === "hybrid-inference:measured.gpu-1")?.message)
      .toBe("(measured on 2026-11-30): measured level 128 (requests in flight per replica) is above the 64 requests one replica runs at once: not used");
  });

  it("scale by the model's ratio when the traffic's request shape is not the benchmark's, and warn when it is far", () => {
    const points = [{ concurrency: 1, requests_per_s: 0.2, output_tokens_per_s: 60, ttft_ms: 150, tpot_ms: 20 },
      { concurrency: 16, requests_per_s: 2.0, output_tokens_per_s: 600, ttft_ms: 200, tpot_ms: 30 }];
    const near = planWith(entry({ request_shape: { input_tokens: 1000, output_tokens: 300 }, points }));
    const far = planWith(entry({ request_shape: { input_tokens: 4000, output_tokens: 300 }, points }));
    expect(near.plan!.hosts[0]!.measured?.curve?.shapeScaled).toBe(false);
    expect(far.plan!.hosts[0]!.measured?.curve?.shapeScaled).toBe(true);
    // The benchmark's prompts were 4x longer: the stack's shorter prompts are served faster than measured.
    expect(far.plan!.router.upstreams[0]!.rpm).toBeGreaterThan(near.plan!.router.upstreams[0]!.rpm);
    expect(far.issues.find((i) => i.path === "hybrid-inference:measured.gpu-1.request_shape")?.message)
      .toBe("was measured with requests of 4000 in / 300 out tokens, but traffic is 1000 / 300: the router limit scales the measured curve by the model's ratio between the two");
  });

  it("with the host's card, count or weights changed, plan from the model again and say why", () => {
    const { plan, issues } = planWith(entry({ kv_tokens: 13_000, measured_with: { ...MEASURED_WITH, gpu: "rtx-3090", checkpoint: "Qwen/Qwen2.5-7B-Instruct-AWQ" } }));
    expect(plan!.hosts[0]!.replicaCapacity.routerRpm).toBe(estimate.hosts[0]!.replicaCapacity.routerRpm);
    expect(issues.find((i) => i.path === "hybrid-inference:measured.gpu-1")?.message).toBe(
      "(measured on 2026-11-30): nothing measured is used: the host changed the card (measured on rtx-3090, now rtx-4090) and the weights (measured serving Qwen/Qwen2.5-7B-Instruct-AWQ, now Qwen/Qwen2.5-7B-Instruct)");
    expect(planSummary(plan!)).toContain("gpu-1: the estimate (the entry measured on 2026-11-30 does not apply; see the warnings)");
  });
});

describe("the precedence rule, for all measured curves", () => {
  const inputs = inputsOf(estimate);
  const maxC = engineFor(inputs).maxConcurrency;

  /** Increasing rates and latencies at increasing levels up to the engine's limit. */
  const curves = fc.uniqueArray(fc.integer({ min: 1, max: maxC }), { minLength: 2, maxLength: 6 }).chain((levels) => {
    const sorted = [...levels].sort((a, b) => a - b);
    const n = sorted.length;
    return fc.record({
      levels: fc.constant(sorted),
      rps: fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
      tpot: fc.array(fc.double({ min: 0.1, max: 20, noNaN: true }), { minLength: n, maxLength: n }),
      ttft: fc.array(fc.double({ min: 1, max: 500, noNaN: true }), { minLength: n, maxLength: n }),
    }).map(({ levels: ls, rps, tpot, ttft }) => {
      let [r, t, f] = [0, 5, 50];
      return ls.map((c, i) => {
        r += rps[i]!;
        t += tpot[i]!;
        f += ttft[i]!;
        return point(c, r, f, t);
      });
    });
  });

  it("puts the router rpm at the measured operating point's rate: an SLO at a measured level's latency admits that level's rate", () => {
    fc.assert(fc.property(curves, fc.nat(), (points, pick) => {
      const j = pick % points.length;
      const at = points[j]!;
      // Below the headroom cap (the saturated rate is the last level's, scaled by the model to the engine's limit).
      const e = engineFor(inputs);
      const last = points[points.length - 1]!;
      const saturated = loadAt(e, maxC).requestsPerSecond * (last.requestsPerSecond / loadAt(e, last.concurrency).requestsPerSecond);
      fc.pre(at.requestsPerSecond <= SATURATION_HEADROOM * saturated * (1 - 1e-9));
      const { report } = measuredCapacity(inputs, measurement(points), { tpotMs: at.tpotMs, ttftMs: 600_000 }, 0.5);
      expect(report.operatingPoint.concurrency).toBe(at.concurrency);
      expect(report.routerRpm).toBe(Math.max(1, Math.floor(at.requestsPerSecond * 60)));
    }), { numRuns: 200 });
  });

  it("moves the limit with the measurement: a curve better than the model admits more, a worse one less, monotonically", () => {
    const model = engineFor(inputs);
    const levels = [1, 4, 16, 64];
    /** The model's own curve at the benchmark levels, k times faster (rates x k, latencies / k). */
    const scaled = (k: number) => measurement(levels.map((c) => {
      const p = loadAt(model, c);
      return point(c, p.requestsPerSecond * k, (p.ttftSeconds * 1000) / k, (p.tpotSeconds * 1000) / k);
    }));
    const slo = { ttftMs: 2000, tpotMs: 40 };
    const rpm = (k: number) => measuredCapacity(inputs, scaled(k), slo, 0.5).report.routerRpm;
    const base = replicaCapacity(estimate.model, { quantization: estimate.engine.quantization, tensorParallel: 1, memory: estimate.hosts[0]!.memory },
      estimate.hosts[0]!.gpu, estimate.engine.weightBytes, { kvCacheDtype: "auto", maxNumSeqs: estimate.engine.maxNumSeqs }, { avgInputTokens: 1000, avgOutputTokens: 300 }, 0.5, 1, slo).routerRpm;
    fc.assert(fc.property(fc.double({ min: 0.3, max: 3, noNaN: true }), fc.double({ min: 0.3, max: 3, noNaN: true }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      expect(rpm(lo)).toBeLessThanOrEqual(rpm(hi));
      if (hi >= 1.1) expect(rpm(hi)).toBeGreaterThan(base);
      if (lo <= 0.9) expect(rpm(lo)).toBeLessThan(base);
    }), { numRuns: 100 });
  });
});

describe("the measured key in the stack file", () => {
  it("refuses an entry for a host the stack does not have, naming the hosts it has", () => {
    const { issues } = planWith({ "gpu-9": entry({ kv_tokens: 13_000 })["gpu-1"] });
    const e = issues.find((i) => i.path === "hybrid-inference:measured.gpu-9");
    expect(e).toMatchObject({ severity: "error", message: 'names host "gpu-9", which is not in hosts', fix: "rename it to the measured host (gpu-1), or remove it" });
  });

  it("refuses points without the request shape they were measured at, and a date that is not one", () => {
    const { issues } = planWith(entry({ measured_on: "2026-02-30", points: [{ concurrency: 1, requests_per_s: 0.2, output_tokens_per_s: 60, ttft_ms: 150, tpot_ms: 20 }] }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath["hybrid-inference:measured.gpu-1.request_shape"]?.message).toBe("is required with points (the request shape they were measured at)");
    expect(byPath["hybrid-inference:measured.gpu-1.measured_on"]?.message).toBe("must be a real calendar date");
  });

  it("refuses benchmark.enabled where it cannot run", () => {
    const { issues } = planWith(undefined, { engine: { kind: "lorax" }, benchmark: { enabled: true } });
    expect(issues.find((i) => i.path === "hybrid-inference:benchmark.enabled")?.message)
      .toBe("is true, but it runs vLLM's own `vllm bench serve` from the engine image, which LoRAX's image does not have");
  });
});

describe("any measured entry the schema accepts", () => {
  const pointArb = fc.record({
    concurrency: fc.double({ min: 0.01, max: 300, noNaN: true }),
    requests_per_s: fc.double({ min: 0.001, max: 100, noNaN: true }),
    output_tokens_per_s: fc.double({ min: 0.1, max: 100_000, noNaN: true }),
    ttft_ms: fc.double({ min: 0.1, max: 3_600_000, noNaN: true }),
    tpot_ms: fc.double({ min: 0.01, max: 60_000, noNaN: true }),
  });
  const entryArb = fc.record({
    kv_tokens: fc.option(fc.integer({ min: 1, max: 2_000_000 }), { nil: undefined }),
    request_shape: fc.record({ input_tokens: fc.double({ min: 1, max: 100_000, noNaN: true }), output_tokens: fc.double({ min: 1, max: 10_000, noNaN: true }) }),
    points: fc.uniqueArray(pointArb, { minLength: 1, maxLength: 6, selector: (p) => p.concurrency }),
    replicas: fc.integer({ min: 1, max: 4 }),
  });

  it("plans, with a finite router limit of at least one request a minute and a finite curve", () => {
    fc.assert(fc.property(entryArb, (e) => {
      const { plan, issues } = planWith(entry({
        measured_with: { ...MEASURED_WITH, replicas: e.replicas },
        request_shape: e.request_shape, points: e.points, ...(e.kv_tokens !== undefined ? { kv_tokens: e.kv_tokens } : {}),
      }));
      expect(issues.filter((i) => i.severity === "error")).toEqual([]);
      const h = plan!.hosts[0]!;
      expect(Number.isInteger(h.capacity.routerRpm) && h.capacity.routerRpm >= 1).toBe(true);
      for (const p of [...h.replicaCapacity.curve, h.replicaCapacity.operatingPoint]) {
        for (const v of [p.concurrency, p.ttftMs, p.tpotMs, p.requestsPerSecond, p.outputTokensPerSecond]) expect(Number.isFinite(v)).toBe(true);
      }
      expect(h.replicaCapacity.operatingPoint.concurrency).toBeLessThanOrEqual(h.replicaCapacity.maxConcurrency);
      expect(plan!.router.upstreams[0]!.rpm).toBe(h.capacity.routerRpm);
    }), { numRuns: 150 });
  });
});
