import { describe, expect, it } from "vitest";

import versions from "../../core/versions.json";
import {
  COMPUTE_CAPABILITY,
  DRIVER_FLOOR_ASSUMES_VLLM_TAG,
  GPUS,
  VLLM_IMAGE_MIN_DRIVER_BRANCH,
} from "../../core/catalog/gpus";
import { MODELS } from "../../core/catalog/models";
import { ENGINES, QUANTIZATIONS, type ModelSpec, type Source } from "../../core/catalog/types";

/** The day the catalog was written; no figure can have been read after it. */
const TODAY = "2026-11-26";

function expectSource(where: string, source: Source): void {
  expect(source.url, `${where}: source url`).toMatch(/^https:\/\/\S+$/);
  expect(source.readOn, `${where}: readOn is an ISO date`).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  const parsed = new Date(`${source.readOn}T00:00:00Z`);
  expect(Number.isNaN(parsed.getTime()), `${where}: readOn parses`).toBe(false);
  // Round-trip guards against dates like 2026-02-31.
  expect(parsed.toISOString().slice(0, 10), `${where}: readOn is a real day`).toBe(source.readOn);
  expect(source.readOn <= TODAY, `${where}: readOn ${source.readOn} is in the future`).toBe(true);
}

function duplicates(values: readonly string[]): string[] {
  return values.filter((v, i) => values.indexOf(v) !== i);
}

function model(id: string): ModelSpec {
  const found = MODELS.find((m) => m.id === id);
  if (found === undefined) throw new Error(`model ${id} missing from catalog`);
  return found;
}

/** KV cache bytes per token at 16-bit: K and V, per layer, per KV head, per head dim, 2 bytes. */
function kvBytesPerToken16(m: ModelSpec): number {
  return 2 * m.layers * m.kvHeads * m.headDim * 2;
}

describe("GPU catalog", () => {
  it("lists the 22 cards the stack files may name, once each", () => {
    expect(GPUS).toHaveLength(22);
    expect(duplicates(GPUS.map((g) => g.id))).toEqual([]);
  });

  it("has a source and read date on every card", () => {
    for (const g of GPUS) expectSource(g.id, g.source);
  });

  it("distinguishes cards that print the same nvidia-smi name by their memory", () => {
    const keys = GPUS.map((g) => `${g.smiName}|${g.vramGiB}`);
    expect(duplicates(keys)).toEqual([]);
    for (const g of GPUS) expect(g.smiName, g.id).toMatch(/^NVIDIA /);
  });

  it("keeps figures in sane ranges", () => {
    for (const g of GPUS) {
      expect(g.vramGiB, `${g.id} VRAM`).toBeGreaterThanOrEqual(4);
      expect(g.vramGiB, `${g.id} VRAM`).toBeLessThanOrEqual(96);
      expect(g.memoryBandwidthGBs, `${g.id} bandwidth`).toBeGreaterThanOrEqual(100);
      expect(g.memoryBandwidthGBs, `${g.id} bandwidth`).toBeLessThanOrEqual(2000);
      expect(g.fp16TensorTflops, `${g.id} TFLOPS`).toBeGreaterThan(5);
      expect(g.fp16TensorTflops, `${g.id} TFLOPS`).toBeLessThan(1000);
      expect(g.tdpWatts, `${g.id} TDP`).toBeGreaterThanOrEqual(50);
      expect(g.tdpWatts, `${g.id} TDP`).toBeLessThanOrEqual(600);
    }
  });

  it("gives each card the compute capability of its architecture", () => {
    expect(COMPUTE_CAPABILITY).toEqual({ ampere: "8.6", ada: "8.9", blackwell: "12.0" });
    for (const g of GPUS) expect(g.computeCapability, g.id).toBe(COMPUTE_CAPABILITY[g.architecture]);
  });

  it("marks RTX A / Ada workstation cards and only those", () => {
    const workstation = GPUS.filter((g) => g.workstation).map((g) => g.id).sort();
    expect(workstation).toEqual(["rtx-4000-ada", "rtx-6000-ada", "rtx-a4000", "rtx-a5000", "rtx-a6000"]);
    for (const g of GPUS) expect(g.smiName.includes("GeForce"), g.id).toBe(!g.workstation);
  });

  it("requires open kernel modules and R570+ on Blackwell, and only there", () => {
    for (const g of GPUS) {
      expect(g.requiresOpenKernelModules, g.id).toBe(g.architecture === "blackwell");
      if (g.architecture === "blackwell") expect(g.minDriverBranch, g.id).toBeGreaterThanOrEqual(570);
    }
  });

  it("sets every driver floor at or above what the pinned vLLM image's CUDA needs", () => {
    // The R580 floor was worked out for this image tag (CUDA 13.0 build); a new tag means
    // re-checking the reasoning at the top of core/catalog/gpus.ts.
    expect(versions.vllm.tag).toBe(DRIVER_FLOOR_ASSUMES_VLLM_TAG);
    expect(VLLM_IMAGE_MIN_DRIVER_BRANCH).toBe(580);
    for (const g of GPUS) expect(g.minDriverBranch, g.id).toBeGreaterThanOrEqual(VLLM_IMAGE_MIN_DRIVER_BRANCH);
  });

  it("lists known weight formats per engine, bf16 always on vLLM, nothing for LoRAX on Blackwell", () => {
    for (const g of GPUS) {
      for (const engine of ENGINES) {
        const formats = g.quantizations[engine];
        expect(duplicates([...formats]), `${g.id} ${engine}`).toEqual([]);
        for (const q of formats) expect(QUANTIZATIONS, `${g.id} ${engine}`).toContain(q);
      }
      expect(g.quantizations.vllm, g.id).toContain("bf16");
      if (g.architecture === "blackwell") expect(g.quantizations.lorax, g.id).toEqual([]);
      else expect(g.quantizations.lorax, g.id).toContain("bf16");
    }
  });
});

describe("model catalog", () => {
  it("lists the 11 supported models, once each", () => {
    expect(MODELS.map((m) => m.id)).toEqual([
      "llama-3.3-70b-instruct",
      "qwen2.5-0.5b-instruct",
      "qwen2.5-1.5b-instruct",
      "qwen2.5-3b-instruct",
      "qwen2.5-7b-instruct",
      "qwen2.5-14b-instruct",
      "qwen2.5-32b-instruct",
      "qwen2.5-72b-instruct",
      "mistral-7b-instruct-v0.3",
      "mistral-nemo-12b-instruct",
      "mistral-small-24b-instruct",
    ]);
    expect(duplicates(MODELS.map((m) => m.id))).toEqual([]);
  });

  it("has a source and read date on every model and every checkpoint", () => {
    for (const m of MODELS) {
      expectSource(m.id, m.source);
      for (const v of m.variants) expectSource(`${m.id} ${v.quantization}`, v.source);
    }
  });

  it("offers a bf16 checkpoint and at most one checkpoint per format", () => {
    for (const m of MODELS) {
      const formats = m.variants.map((v) => v.quantization);
      expect(formats, m.id).toContain("bf16");
      expect(duplicates(formats), m.id).toEqual([]);
      for (const v of m.variants) {
        expect(v.hfRepo, `${m.id} ${v.quantization}`).toMatch(/^[\w.-]+\/[\w.-]+$/);
        if (v.weightsGB !== undefined) {
          expect(v.weightsGB, `${m.id} ${v.quantization}`).toBeGreaterThan(0);
          // No checkpoint can be bigger than its parameters at 16 bits (plus 2% for headers).
          expect(v.weightsGB, `${m.id} ${v.quantization}`).toBeLessThanOrEqual(m.paramsB * 2 * 1.02);
        }
      }
    }
  });

  it("gives quantized checkpoints smaller sizes than the bf16 one when both are known", () => {
    for (const m of MODELS) {
      const bf16 = m.variants.find((v) => v.quantization === "bf16")?.weightsGB;
      if (bf16 === undefined) continue;
      for (const v of m.variants) {
        if (v.quantization !== "bf16" && v.weightsGB !== undefined) expect(v.weightsGB, m.id).toBeLessThan(bf16);
      }
    }
  });

  it("keeps architecture figures consistent", () => {
    for (const m of MODELS) {
      for (const n of [m.layers, m.hiddenSize, m.intermediateSize, m.attentionHeads, m.kvHeads, m.headDim, m.maxContext, m.vocabSize]) {
        expect(Number.isInteger(n) && n > 0, m.id).toBe(true);
      }
      expect(m.attentionHeads % m.kvHeads, `${m.id}: heads divisible by KV heads`).toBe(0);
      expect(m.paramsB, m.id).toBeGreaterThan(0.1);
      expect(m.paramsB, m.id).toBeLessThan(100);
      expect(m.maxContext, m.id).toBeGreaterThanOrEqual(32768);
    }
  });

  it("has hidden = heads x head_dim except where config.json sets head_dim explicitly", () => {
    // Mistral Nemo and Mistral Small: 32 heads x 128 = 4096, hidden size 5120.
    const explicitHeadDim = new Set(["mistral-nemo-12b-instruct", "mistral-small-24b-instruct"]);
    for (const m of MODELS) {
      if (explicitHeadDim.has(m.id)) {
        expect(m.attentionHeads * m.headDim, m.id).toBe(4096);
        expect(m.hiddenSize, m.id).toBe(5120);
      } else {
        expect(m.attentionHeads * m.headDim, m.id).toBe(m.hiddenSize);
      }
    }
  });

  it("serves Qwen 2.5 at 32768 tokens and ties embeddings only on the small Qwens", () => {
    for (const m of MODELS.filter((x) => x.family === "qwen2.5")) expect(m.maxContext, m.id).toBe(32768);
    const tied = MODELS.filter((m) => m.tiedEmbeddings).map((m) => m.id);
    expect(tied).toEqual(["qwen2.5-0.5b-instruct", "qwen2.5-1.5b-instruct", "qwen2.5-3b-instruct"]);
  });

  it("marks Llama and the Mistral repos gated, Qwen not", () => {
    for (const m of MODELS) expect(m.gated, m.id).toBe(m.family !== "qwen2.5");
  });

  it("names managed ids in each provider's own format", () => {
    for (const m of MODELS) {
      const { together_ai, fireworks_ai, deepinfra, replicate } = m.managedIds;
      if (fireworks_ai !== undefined) expect(fireworks_ai, m.id).toMatch(/^accounts\/fireworks\/models\/[a-z0-9-]+$/);
      if (together_ai !== undefined) expect(together_ai, m.id).toMatch(/^[\w.-]+\/[\w.-]+$/);
      if (deepinfra !== undefined) expect(deepinfra, m.id).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(replicate, m.id).toBeUndefined();
    }
  });

  describe("KV cache bytes per token at 16-bit, worked by hand", () => {
    // 2 (K and V) x layers x kv_heads x head_dim x 2 bytes
    it("Llama 3.3 70B: 2 x 80 x 8 x 128 x 2 = 327,680 B = 320 KiB", () => {
      // 2 x 80 = 160; 160 x 8 = 1,280; 1,280 x 128 = 163,840; 163,840 x 2 = 327,680
      expect(kvBytesPerToken16(model("llama-3.3-70b-instruct"))).toBe(327_680);
      expect(327_680 / 1024).toBe(320);
    });

    it("Qwen2.5 7B: 2 x 28 x 4 x 128 x 2 = 57,344 B = 56 KiB", () => {
      // 2 x 28 = 56; 56 x 4 = 224; 224 x 128 = 28,672; 28,672 x 2 = 57,344
      expect(kvBytesPerToken16(model("qwen2.5-7b-instruct"))).toBe(57_344);
      expect(57_344 / 1024).toBe(56);
    });

    it("Mistral Nemo 12B: 2 x 40 x 8 x 128 x 2 = 163,840 B = 160 KiB (head_dim 128, not 5120/32)", () => {
      // 2 x 40 = 80; 80 x 8 = 640; 640 x 128 = 81,920; 81,920 x 2 = 163,840
      // With head_dim wrongly taken as hidden/heads = 160 it would be 204,800.
      expect(kvBytesPerToken16(model("mistral-nemo-12b-instruct"))).toBe(163_840);
      expect(163_840 / 1024).toBe(160);
    });
  });
});
