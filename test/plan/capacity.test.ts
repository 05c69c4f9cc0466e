import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GPUS, MODELS, requireGpu, requireModel } from "../../core/catalog";
import type { GpuSpec, ModelSpec, Quantization } from "../../core/catalog/types";
import { type CapacityInputs, DEFAULT_SLO, capacityFor, engineFor, estimateCapacity } from "../../core/plan/capacity";
import { operatingPoint, SATURATION_HEADROOM, curveLevels, meetsSlo } from "../../core/plan/capacity/curve";
import { type Efficiency, FITTED_EFFICIENCY } from "../../core/plan/capacity/efficiency";
import { atRate, loadAt, saturation } from "../../core/plan/capacity/load";
import { allReduceSeconds, engineShape, pcieBytesPerSecond, peakTensorFlops, stepSeconds, tensorParallelSeconds } from "../../core/plan/capacity/step";
import { kvBytesPerToken, weightBytes } from "../../core/plan/memory";

/** Round constants so the hand computations below stay readable. */
const HAND: Efficiency = { ...FITTED_EFFICIENCY, collectiveLatencySeconds: 50e-6, pcieEfficiency: 0.5 };

function inputs(over: Partial<CapacityInputs> & { model?: ModelSpec; gpu?: GpuSpec; quantization?: Quantization } = {}): CapacityInputs {
  const model = over.model ?? requireModel("qwen2.5-7b-instruct");
  const quantization = over.quantization ?? "bf16";
  return {
    model,
    gpu: requireGpu("rtx-4090"),
    weightBytes: weightBytes(model, quantization, model.variants.find((v) => v.quantization === quantization)),
    kvBytesPerToken: kvBytesPerToken(model, 2),
    tensorParallel: 1,
    replicas: 1,
    avgInputTokens: 512,
    avgOutputTokens: 256,
    quantization,
    ...over,
  };
}

/** The step-time shape of Llama 3.3 70B AWQ on RTX 4090s at tensor parallel 2. */
function llama70bTp2() {
  const model = requireModel("llama-3.3-70b-instruct");
  return engineShape({ ...inputs({ model, quantization: "awq" }), quantization: "awq", tensorParallel: 2 });
}

describe("tensor parallel over PCIe (hand-computed)", () => {
  it("takes PCIe bandwidth per direction from generation and lanes", () => {
    // 16 GT/s x 128/130 / 8 bits = 1.969 GB/s per lane for 4.0; twice that for 5.0.
    expect(pcieBytesPerSecond({ gen: 4, lanes: 16 })).toBeCloseTo(31.504e9, -6);
    expect(pcieBytesPerSecond({ gen: 5, lanes: 8 })).toBeCloseTo(31.504e9, -6);
    expect(pcieBytesPerSecond({ gen: 5, lanes: 16 })).toBeCloseTo(63.008e9, -6);
  });

  it("times one ring all-reduce through host memory: latency + 2(tp-1)/tp x bytes / usable link", () => {
    const s = llama70bTp2();
    // 64 tokens x hidden 8192 x 2 bytes = 1,048,576 B; tp 2 moves 2(1)/2 = 1x the bytes
    // over 31.504 GB/s x 0.5 = 15.752 GB/s: 66.57 µs, plus 50 µs latency.
    expect(allReduceSeconds(s, 64 * 8192 * 2, HAND)).toBeCloseTo(50e-6 + 1_048_576 / 15.752e9, 9);
    // tp 4 moves 2(3)/4 = 1.5x the bytes.
    const s4 = { ...s, tensorParallel: 4 };
    expect(allReduceSeconds(s4, 1_048_576, HAND)).toBeCloseTo(50e-6 + (1.5 * 1_048_576) / 15.752e9, 9);
  });

  it("costs 2 all-reduces per layer plus a logits gather per step, and nothing on one GPU", () => {
    const s = llama70bTp2();
    const load = { decodeSeqs: 64, decodeContext: 1000, prefillTokens: 0, prefillContext: 0, sampledSeqs: 64 };
    const perAllReduce = 50e-6 + (64 * 8192 * 2) / 15.752e9; // 116.57 µs
    const gather = 50e-6 + (0.5 * 64 * 128256 * 2) / 15.752e9; // half of 64 rows of 128256 bf16 logits cross the link
    // 80 layers x 2 x 116.57 µs = 18.65 ms, + 0.57 ms gather.
    expect(tensorParallelSeconds(s, load, HAND)).toBeCloseTo(80 * 2 * perAllReduce + gather, 9);
    expect(tensorParallelSeconds({ ...s, tensorParallel: 1 }, load, HAND)).toBe(0);
  });

  it("grows with batch, hidden size and layers (the bytes), not only a flat factor", () => {
    const s = llama70bTp2();
    const at = (tokens: number, shape = s) => tensorParallelSeconds(shape, { decodeSeqs: tokens, decodeContext: 0, prefillTokens: 0, prefillContext: 0, sampledSeqs: 0 }, HAND);
    const bytesTerm = (tokens: number) => at(tokens) - at(0);
    expect(bytesTerm(256)).toBeCloseTo(4 * bytesTerm(64), 12);
    expect(bytesTerm(64)).toBeCloseTo(80 * 2 * (64 * 8192 * 2) / 15.752e9, 9);
    const halfHidden = { ...s, hiddenSize: 4096 };
    expect(at(64, halfHidden) - at(0, halfHidden)).toBeCloseTo(bytesTerm(64) / 2, 12);
    // With nothing sampled the gather is its latency alone; the rest is per layer.
    const halfLayers = { ...s, layers: 40 };
    expect(at(64, halfLayers) - 50e-6).toBeCloseTo((at(64) - 50e-6) / 2, 12);
  });
});

describe("FP8 and 4-bit weights", () => {
  it("runs FP8 weights on FP8 tensor cores on Ada and Blackwell, at the FP16 rate on Ampere", () => {
    expect(peakTensorFlops(requireGpu("rtx-4090"), "fp8")).toBe(330.3e12);
    expect(peakTensorFlops(requireGpu("rtx-5090"), "fp8")).toBe(419e12);
    expect(peakTensorFlops(requireGpu("rtx-a6000"), "fp8")).toBe(154.8e12);
    expect(peakTensorFlops(requireGpu("rtx-4090"), "awq")).toBe(165.2e12);
  });

  it("serves more with FP8 than bf16 on a 5090 at saturation, but less than twice (fitted to the published runs)", () => {
    const model = requireModel("qwen2.5-7b-instruct");
    const gpu = requireGpu("rtx-5090");
    const bf16 = saturation(engineFor(inputs({ model, gpu, quantization: "bf16" }))).outputTokensPerSecond;
    const fp8 = saturation(engineFor(inputs({ model, gpu, quantization: "fp8" }))).outputTokensPerSecond;
    expect(fp8 / bf16).toBeGreaterThan(1.2);
    expect(fp8 / bf16).toBeLessThan(2);
  });
});

describe("latency-throughput curve and operating point", () => {
  it("reports powers of two up to the engine's limit, and the limit", () => {
    expect(curveLevels(1)).toEqual([1]);
    expect(curveLevels(48)).toEqual([1, 2, 4, 8, 16, 32, 48]);
    expect(curveLevels(64)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    const report = capacityFor(inputs({ maxNumSeqs: 48 }));
    expect(report.curve.map((p) => p.concurrency)).toEqual([1, 2, 4, 8, 16, 32, 48]);
  });

  it("bounds concurrency by max_num_seqs, the KV cache at the request shape, and a caller's cap", () => {
    expect(capacityFor(inputs({ maxNumSeqs: 64 })).maxConcurrency).toBe(64);
    expect(capacityFor(inputs({ kvTokens: 10_000 })).maxConcurrency).toBe(13); // 10,000 / (512 + 256)
    expect(capacityFor(inputs({ maxConcurrency: 5 })).maxConcurrency).toBe(5);
    expect(capacityFor(inputs()).maxConcurrency).toBe(256); // vLLM's default max_num_seqs
  });

  it("uses DEFAULT_SLO (TTFT 2 s, 100 ms per token) when the stack sets none", () => {
    expect(DEFAULT_SLO).toEqual({ ttftMs: 2000, tpotMs: 100 });
    expect(capacityFor(inputs()).slo).toEqual(DEFAULT_SLO);
  });

  it("sets the router's limits from the operating point, not from saturation", () => {
    const model = requireModel("llama-3.3-70b-instruct");
    const i = inputs({ model, gpu: requireGpu("rtx-4090"), quantization: "awq", tensorParallel: 2, replicas: 1 });
    const strict = capacityFor(i, { tpotMs: 60 });
    const loose = capacityFor(i, { tpotMs: 1000, ttftMs: 60_000 });
    expect(strict.routerRpm).toBeLessThan(loose.routerRpm);
    expect(strict.operatingPoint.tpotMs).toBeLessThanOrEqual(60);
    expect(strict.routerRpm).toBe(Math.floor(strict.operatingPoint.requestsPerSecond * 60));
    expect(loose.operatingPoint.requestsPerSecond).toBeCloseTo(SATURATION_HEADROOM * loose.saturation.requestsPerSecond, 6);
    expect(loose.operatingPoint.boundBy).toBe("headroom");
  });

  it("says when even one request at a time misses the SLO", () => {
    const point = capacityFor(inputs(), { tpotMs: 1 }).operatingPoint;
    expect(point.sloMet).toBe(false);
    expect(point.concurrency).toBe(1);
  });

  it("keeps estimateCapacity as a wrapper: capacityFor capped at the caller's concurrency, default SLO", () => {
    const i = inputs({ replicas: 2 });
    const a = estimateCapacity(i, 40, 0.5);
    const b = capacityFor({ ...i, maxConcurrency: 40 }, undefined, 0.5);
    expect(a).toEqual(b);
    expect(a.tokensPerMonth).toBeCloseTo(a.requestsPerSecond * 768 * 30 * 24 * 3600 * 0.5, 0);
  });
});

// ---------------------------------------------------------------- properties

/** A plausible engine: a catalog model and card, a weight format vLLM runs there, a request shape and limits. */
const engineArb = fc
  .record({
    model: fc.constantFrom(...MODELS),
    gpu: fc.constantFrom(...GPUS.filter((g) => g.quantizations.vllm.length > 0)),
    tp: fc.constantFrom(1, 2, 4),
    qIndex: fc.nat(3),
    input: fc.integer({ min: 1, max: 8192 }),
    cachedShare: fc.double({ min: 0, max: 0.9, noNaN: true }),
    output: fc.integer({ min: 1, max: 2048 }),
    maxNumSeqs: fc.integer({ min: 1, max: 512 }),
    extraBudget: fc.integer({ min: 0, max: 8192 }),
    kvTokens: fc.option(fc.integer({ min: 1, max: 2_000_000 }), { nil: undefined }),
  })
  .map((r) => {
    const formats = r.gpu.quantizations.vllm.filter((q) => r.model.variants.some((v) => v.quantization === q));
    const quantization = formats[r.qIndex % formats.length] ?? "bf16";
    const tp = r.model.attentionHeads % r.tp === 0 ? r.tp : 1;
    return engineFor(
      inputs({
        model: r.model,
        gpu: r.gpu,
        quantization,
        tensorParallel: tp,
        avgInputTokens: r.input,
        avgOutputTokens: r.output,
        cachedInputTokens: Math.floor(r.input * r.cachedShare),
        maxNumSeqs: r.maxNumSeqs,
        maxNumBatchedTokens: r.maxNumSeqs + r.extraBudget,
        ...(r.kvTokens === undefined ? {} : { kvTokens: r.kvTokens }),
      }),
    );
  });

const sloArb = fc.record({ ttftMs: fc.option(fc.double({ min: 1, max: 120_000, noNaN: true }), { nil: undefined }), tpotMs: fc.option(fc.double({ min: 1, max: 2000, noNaN: true }), { nil: undefined }) });

const EPS = 1e-9;

describe("capacity model properties", () => {
  it("throughput never falls as concurrency rises, up to the engine's limit", () => {
    fc.assert(
      fc.property(engineArb, fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), (e, a, b) => {
        const [lo, hi] = [Math.min(a, b) * e.maxConcurrency, Math.max(a, b) * e.maxConcurrency];
        const x = loadAt(e, lo);
        const y = loadAt(e, hi);
        expect(y.requestsPerSecond).toBeGreaterThanOrEqual(x.requestsPerSecond * (1 - EPS));
        expect(y.outputTokensPerSecond).toBeGreaterThanOrEqual(x.outputTokensPerSecond * (1 - EPS));
      }),
      { numRuns: 300 },
    );
  });

  it("TTFT and time per output token never fall as concurrency rises", () => {
    fc.assert(
      fc.property(engineArb, fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), (e, a, b) => {
        const [lo, hi] = [Math.min(a, b) * e.maxConcurrency, Math.max(a, b) * e.maxConcurrency];
        const x = loadAt(e, lo);
        const y = loadAt(e, hi);
        expect(y.tpotSeconds).toBeGreaterThanOrEqual(x.tpotSeconds * (1 - EPS));
        expect(y.ttftSeconds).toBeGreaterThanOrEqual(x.ttftSeconds * (1 - EPS));
      }),
      { numRuns: 300 },
    );
  });

  it("the operating point never violates the SLO it was chosen for (when one request can meet it)", () => {
    fc.assert(
      fc.property(engineArb, sloArb, (e, slo) => {
        const p = operatingPoint(e, slo);
        if (!p.sloMet) {
          // One request at a time (less on average when held below saturation).
          expect(p.concurrency).toBeLessThanOrEqual(1);
          return;
        }
        if (slo.ttftMs !== undefined) expect(p.ttftMs).toBeLessThanOrEqual(slo.ttftMs * (1 + EPS));
        if (slo.tpotMs !== undefined) expect(p.tpotMs).toBeLessThanOrEqual(slo.tpotMs * (1 + EPS));
        expect(p.requestsPerSecond).toBeLessThanOrEqual(SATURATION_HEADROOM * saturation(e).requestsPerSecond * (1 + EPS));
      }),
      { numRuns: 300 },
    );
  });

  it("the operating point is monotone in the SLO: looser targets never lower the admitted rate", () => {
    fc.assert(
      fc.property(engineArb, sloArb, fc.double({ min: 1, max: 10, noNaN: true }), fc.double({ min: 1, max: 10, noNaN: true }), (e, slo, f, g) => {
        const looser = {
          ...(slo.ttftMs === undefined ? {} : { ttftMs: slo.ttftMs * f }),
          ...(slo.tpotMs === undefined ? {} : { tpotMs: slo.tpotMs * g }),
        };
        expect(operatingPoint(e, looser).requestsPerSecond).toBeGreaterThanOrEqual(operatingPoint(e, slo).requestsPerSecond * (1 - EPS));
      }),
      { numRuns: 200 },
    );
  });

  it("for an arrival rate below saturation, the steady state completes requests at that rate", () => {
    fc.assert(
      fc.property(engineArb, fc.double({ min: 0.01, max: 0.99, noNaN: true }), (e, share) => {
        const rate = share * saturation(e).requestsPerSecond;
        const p = atRate(e, rate);
        expect(p).toBeDefined();
        expect(p!.requestsPerSecond).toBeCloseTo(rate, 6);
        expect(meetsSlo(p!, { tpotMs: saturation(e).tpotSeconds * 1000 * (1 + EPS) })).toBe(true);
      }),
      { numRuns: 200 },
    );
    const e = engineFor(inputs());
    expect(atRate(e, saturation(e).requestsPerSecond)).toBeUndefined();
  });

  it("a step gets no faster with more work in it", () => {
    fc.assert(
      fc.property(engineArb, fc.nat(512), fc.nat(512), fc.nat(4096), fc.nat(4096), (e, d1, d2, p1, p2) => {
        const step = (d: number, p: number) => stepSeconds(e.shape, { decodeSeqs: d, decodeContext: 1000, prefillTokens: p, prefillContext: 500, sampledSeqs: d }, e.efficiency);
        expect(step(Math.max(d1, d2), Math.max(p1, p2))).toBeGreaterThanOrEqual(step(Math.min(d1, d2), Math.min(p1, p2)) * (1 - EPS));
      }),
      { numRuns: 200 },
    );
  });
});
