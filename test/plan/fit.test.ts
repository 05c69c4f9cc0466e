import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GPUS, MODELS, QUANTIZATIONS, requireGpu, requireModel } from "../../core/catalog";
import type { GpuSpec } from "../../core/catalog/types";
import { type FitRequest, fitOnHost } from "../../core/plan/fit";
import { GiB, bytesNeededFor, kvBytesPerToken, loraBytes } from "../../core/plan/memory";

describe("KV cache bytes per token (hand-computed from each config.json)", () => {
  it.each([
    // 2 (K and V) x layers x kv_heads x head_dim x 2 bytes (bf16)
    ["llama-3.3-70b-instruct", 2 * 80 * 8 * 128 * 2, 327_680], // 320 KiB
    ["qwen2.5-7b-instruct", 2 * 28 * 4 * 128 * 2, 57_344], // 56 KiB
    ["mistral-small-24b-instruct", 2 * 40 * 8 * 128 * 2, 163_840], // 160 KiB
  ])("%s: %i bytes", (id, formula, expected) => {
    expect(formula).toBe(expected);
    expect(kvBytesPerToken(requireModel(id), 2)).toBe(expected);
    expect(kvBytesPerToken(requireModel(id), 1)).toBe(expected / 2);
  });

  it("sizes a LoRA slot like vLLM: about 80 MiB at rank 16 for an 8B Llama-shaped model", () => {
    // Llama 3.1 8B's shape (hidden 4096, 32 heads, 8 KV heads, MLP 14336, 32 layers) on the 70B's record.
    const llama8b = { ...requireModel("llama-3.3-70b-instruct"), hiddenSize: 4096, attentionHeads: 32, kvHeads: 8, intermediateSize: 14336, layers: 32 };
    expect(loraBytes(llama8b, 1, 16, 1) / 2 ** 20).toBeCloseTo(80, 0);
  });
});

const base = (over: Partial<FitRequest> = {}): FitRequest => ({
  model: requireModel("qwen2.5-7b-instruct"),
  gpu: requireGpu("rtx-4090"),
  gpuCount: 1,
  engine: "vllm",
  quantization: "bf16",
  gpuMemoryUtilization: 0.9,
  kvCacheDtype: "auto",
  maxNumSeqs: 64,
  maxLoras: 0,
  maxLoraRank: 0,
  requiredContext: 8192,
  ...over,
});

describe("fit planner", () => {
  it("fits Qwen 2.5 7B in bf16 on one RTX 4090 at its full 32k context", () => {
    const o = fitOnHost(base());
    expect(o.fits).toBe(true);
    if (o.fits) {
      expect(o.fit.tensorParallel).toBe(1);
      expect(o.fit.longestContext).toBe(32768);
      // By hand: budget 24 GiB x 0.9 = 23,192,823,398 B; weights 15.23 GB (safetensors total);
      // activations (2048 tokens x (2 x 18944 + 4 x 3584) x 2 B + 64 seqs x 152064 x 4 B) x 1.5
      //   = (213,909,504 + 38,928,384) x 1.5 = 379,256,832 B; runtime 0.5 GiB = 536,870,912 B.
      // KV = 23,192,823,398 - 15,230,000,000 - 379,256,832 - 536,870,912 = 7,046,695,654 B
      //   / 57,344 B per token = 122,884 tokens.
      expect(o.fit.memory.kvTokens).toBe(122_884);
    }
  });

  it("refuses Llama 3.3 70B on one 24 GB card, with the GiB it needs and the GiB there are", () => {
    const o = fitOnHost(base({ model: requireModel("llama-3.3-70b-instruct"), quantization: "awq" }));
    expect(o.fits).toBe(false);
    if (!o.fits) expect(o.reason).toMatch(/needs 4\d\.\d GiB on one rtx-4090 at tensor-parallel 1 \(weights 3\d\.\d .* but a card gives 21\.6 GiB/);
  });

  it("splits Llama 3.3 70B AWQ over two RTX 5090s with tensor parallel 2", () => {
    const o = fitOnHost(base({ model: requireModel("llama-3.3-70b-instruct"), gpu: requireGpu("rtx-5090"), gpuCount: 2, quantization: "awq", requiredContext: 32768 }));
    expect(o.fits && o.fit.tensorParallel).toBe(2);
  });

  it("runs a small model as one replica per card instead of tensor parallel", () => {
    const o = fitOnHost(base({ gpuCount: 2 }));
    expect(o.fits && [o.fit.tensorParallel, o.fit.replicas]).toEqual([1, 2]);
  });

  it("refuses LoRAX on Blackwell with the reason", () => {
    const o = fitOnHost(base({ engine: "lorax", gpu: requireGpu("rtx-5090") }));
    expect(o.fits).toBe(false);
    if (!o.fits) expect(o.reason).toMatch(/^lorax cannot run on rtx-5090 \(blackwell\)/);
  });
});

/** Random fit requests over the whole catalog. */
const requests = fc.record({
  model: fc.constantFrom(...MODELS),
  gpu: fc.constantFrom(...GPUS),
  gpuCount: fc.constantFrom(1, 2, 4, 8),
  engine: fc.constant("vllm" as const),
  quantization: fc.constantFrom(...QUANTIZATIONS),
  gpuMemoryUtilization: fc.double({ min: 0.6, max: 0.95, noNaN: true }),
  kvCacheDtype: fc.constantFrom("auto" as const, "fp8" as const),
  maxNumSeqs: fc.integer({ min: 1, max: 256 }),
  maxLoras: fc.integer({ min: 0, max: 4 }),
  maxLoraRank: fc.constantFrom(8, 16, 64),
  requiredContext: fc.integer({ min: 256, max: 131_072 }),
});

function withMoreVram(gpu: GpuSpec, extraGiB: number): GpuSpec {
  return { ...gpu, vramGiB: gpu.vramGiB + extraGiB };
}

describe("fit planner properties", () => {
  it("a plan that says it fits never exceeds the usable VRAM of a card", () => {
    fc.assert(fc.property(requests, (r) => {
      const o = fitOnHost(r);
      if (!o.fits) return;
      const usable = r.gpu.vramGiB * GiB * r.gpuMemoryUtilization;
      expect(bytesNeededFor(o.fit.memory, r.requiredContext)).toBeLessThanOrEqual(usable);
      expect(bytesNeededFor(o.fit.memory, o.fit.longestContext)).toBeLessThanOrEqual(usable);
      expect(o.fit.longestContext).toBeLessThanOrEqual(r.model.maxContext);
      expect(o.fit.tensorParallel * o.fit.replicas).toBeLessThanOrEqual(r.gpuCount);
    }), { numRuns: 2000 });
  });

  it("more VRAM never turns a fitting plan into a refusal", () => {
    fc.assert(fc.property(requests, fc.integer({ min: 1, max: 64 }), (r, extra) => {
      if (!fitOnHost(r).fits) return;
      expect(fitOnHost({ ...r, gpu: withMoreVram(r.gpu, extra) }).fits).toBe(true);
    }), { numRuns: 1000 });
  });

  it("more cards never turn a fitting plan into a refusal", () => {
    fc.assert(fc.property(requests, (r) => {
      if (!fitOnHost(r).fits || r.gpuCount === 8) return;
      expect(fitOnHost({ ...r, gpuCount: r.gpuCount * 2 }).fits).toBe(true);
    }), { numRuns: 1000 });
  });

  it("a longer context never needs less memory, and a shorter one still fits", () => {
    fc.assert(fc.property(requests, fc.integer({ min: 0, max: 65_536 }), (r, more) => {
      const o = fitOnHost(r);
      if (!o.fits) return;
      expect(bytesNeededFor(o.fit.memory, r.requiredContext + more)).toBeGreaterThanOrEqual(bytesNeededFor(o.fit.memory, r.requiredContext));
      expect(fitOnHost({ ...r, requiredContext: Math.max(256, r.requiredContext - more) }).fits).toBe(true);
    }), { numRuns: 1000 });
  });
});
