import { describe, expect, it } from "vitest";
import { GPUS, MODELS, findGpu } from "../../core/catalog";
import { CALIBRATION_MODELS, CALIBRATION_NOT_USED, CALIBRATION_POINTS } from "../../core/catalog/calibration";
import type { Source } from "../../core/catalog/types";
import { calibrationModel } from "../../core/plan/capacity/calibration";

/** The day the calibration set was read; nothing in it can have been read later. */
const READ_BY = "2026-11-30";

function isRealDay(d: string): boolean {
  const parsed = new Date(`${d}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === d;
}

function expectSource(where: string, s: Source): void {
  expect(s.url, `${where}: source url`).toMatch(/^https:\/\/\S+$/);
  expect(isRealDay(s.readOn), `${where}: readOn ${s.readOn} is a real day`).toBe(true);
  expect(s.readOn <= READ_BY, `${where}: readOn ${s.readOn} is after ${READ_BY}`).toBe(true);
}

describe("capacity calibration set", () => {
  it("has unique point ids, each with a source and a read date", () => {
    const ids = CALIBRATION_POINTS.map((p) => p.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    for (const p of CALIBRATION_POINTS) {
      expectSource(p.id, p.source);
      if (p.publishedOn !== undefined) {
        expect(isRealDay(p.publishedOn), `${p.id}: publishedOn`).toBe(true);
        expect(p.publishedOn <= p.source.readOn, `${p.id}: published after it was read`).toBe(true);
      }
      expect(p.vllmVersion.length, `${p.id}: vLLM version (or "unstated")`).toBeGreaterThan(0);
    }
  });

  it("names catalog cards and models it can describe, in formats vLLM runs on those cards", () => {
    for (const p of CALIBRATION_POINTS) {
      const gpu = findGpu(p.gpu);
      expect(gpu, `${p.id}: GPU ${p.gpu} is in the catalog`).toBeDefined();
      expect(calibrationModel(p.model), `${p.id}: model ${p.model}`).toBeDefined();
      expect(gpu!.quantizations.vllm, `${p.id}: vLLM runs ${p.quantization} on ${p.gpu}`).toContain(p.quantization);
    }
  });

  it("describes runnable engines and loads", () => {
    for (const p of CALIBRATION_POINTS) {
      const model = calibrationModel(p.model)!;
      expect(p.tensorParallel, p.id).toBeGreaterThanOrEqual(1);
      expect(p.gpuCount % p.tensorParallel, `${p.id}: whole replicas`).toBe(0);
      expect(model.attentionHeads % p.tensorParallel, `${p.id}: tensor parallel divides the heads`).toBe(0);
      expect(p.engine.maxNumBatchedTokens, `${p.id}: vLLM needs max_num_batched_tokens >= max_num_seqs`).toBeGreaterThanOrEqual(p.engine.maxNumSeqs);
      expect(p.engine.gpuMemoryUtilization, p.id).toBeGreaterThan(0);
      expect(p.engine.gpuMemoryUtilization, p.id).toBeLessThanOrEqual(1);
      expect(p.inputTokens, p.id).toBeGreaterThan(0);
      expect(p.cachedInputTokens, p.id).toBeGreaterThanOrEqual(0);
      expect(p.cachedInputTokens, `${p.id}: at least one prompt token is computed`).toBeLessThan(p.inputTokens);
      expect(p.outputTokens, p.id).toBeGreaterThanOrEqual(1);
      if (p.engine.maxModelLen !== undefined) expect(p.inputTokens + p.outputTokens, `${p.id}: fits max_model_len`).toBeLessThanOrEqual(p.engine.maxModelLen);
      if (p.load.kind === "closed") {
        expect(Number.isInteger(p.load.concurrency) && p.load.concurrency >= 1, `${p.id}: concurrency`).toBe(true);
      } else {
        expect(p.load.requestsPerSecond, `${p.id}: request rate`).toBeGreaterThan(0);
      }
      if (p.load.requests !== undefined) expect(Number.isInteger(p.load.requests) && p.load.requests >= 1, `${p.id}: requests`).toBe(true);
      expect(p.measured.outputTokensPerSecond, p.id).toBeGreaterThan(0);
      if (p.arrivalBound) expect(p.load.kind, `${p.id}: only an arrival rate can bound a run`).toBe("rate");
      if (p.excluded !== undefined) expect(p.excluded.length, `${p.id}: says why it is excluded`).toBeGreaterThan(40);
    }
  });

  it("covers what the issue asks: 20+ asserted points on 4+ cards; bf16, FP8 and AWQ; one and two cards", () => {
    const asserted = CALIBRATION_POINTS.filter((p) => p.excluded === undefined);
    expect(asserted.length).toBeGreaterThanOrEqual(20);
    expect(new Set(asserted.map((p) => p.gpu)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(asserted.map((p) => p.quantization))).toEqual(new Set(["bf16", "fp8", "awq"]));
    expect(asserted.some((p) => p.tensorParallel === 2)).toBe(true);
    expect(new Set(asserted.map((p) => p.load.kind))).toEqual(new Set(["closed", "rate"]));
  });

  it("gives calibration-only models consistent architectures and a source, and does not shadow catalog ids", () => {
    for (const m of CALIBRATION_MODELS) {
      expectSource(m.id, m.source);
      expect(MODELS.some((c) => c.id === m.id), `${m.id} shadows a catalog model`).toBe(false);
      expect(m.attentionHeads % m.kvHeads, `${m.id}: KV heads divide the heads`).toBe(0);
      expect(m.attentionHeads * m.headDim, `${m.id}: heads x head dim = hidden`).toBe(m.hiddenSize);
      expect(m.paramsB).toBeGreaterThan(0);
    }
  });

  it("lists the runs it could not use, each with its reason", () => {
    for (const n of CALIBRATION_NOT_USED) expect(n.why.length, n.what).toBeGreaterThan(30);
  });
});

describe("GPU catalog figures the capacity model reads", () => {
  it("gives FP8 tensor throughput to Ada and Blackwell at twice the FP16 rate, none to Ampere", () => {
    for (const g of GPUS) {
      if (g.architecture === "ampere") expect(g.fp8TensorTflops, g.id).toBeNull();
      else expect(g.fp8TensorTflops! / g.fp16TensorTflops, g.id).toBeCloseTo(2, 2);
    }
    expect(findGpu("rtx-4090")!.fp8TensorTflops).toBe(330.3); // Ada whitepaper, FP32 accumulate
  });

  it("puts Blackwell cards on PCIe 5.0 and the others on 4.0, with the x8 cards named", () => {
    for (const g of GPUS) expect(g.pcie.gen, g.id).toBe(g.architecture === "blackwell" ? 5 : 4);
    const x8 = GPUS.filter((g) => g.pcie.lanes === 8).map((g) => g.id).sort();
    expect(x8).toEqual(["rtx-3050-6gb", "rtx-3050-8gb", "rtx-4060", "rtx-4060-ti-16gb", "rtx-5060-ti-16gb"]);
  });
});
