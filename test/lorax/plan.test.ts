/**
 * The planner only gives LoRAX what LoRAX 0.12.1 can run and load (core/catalog/lorax.ts), and
 * says why, with the fix, when it cannot: RTX 50xx cards, compressed-tensors checkpoints,
 * Qwen2.5 models with tied embeddings.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { GPUS, MODELS, requireGpu, requireModel } from "../../core/catalog";
import type { RawStackConfig } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { QUANTIZATION_PREFERENCE, fitBest } from "../../core/plan/fit";
import { loraxStack, planOrThrow } from "./fixtures";

const ROOT = path.join(__dirname, "..", "..");

/**
 * The LoRAX test stack on other cards, another model, another format. It gets a Hugging Face
 * token (gated models) and no managed tier (which does not serve every model), so that only
 * the fit can fail.
 */
function variantOf(raw: RawStackConfig, patch: { gpu?: string; gpuCount?: number; model?: string; quantization?: string; kind?: string }): RawStackConfig {
  const hosts = (raw.values["hosts"] as Record<string, unknown>[]).map((h) => ({ ...h, ...(patch.gpu ? { gpu: patch.gpu } : {}), ...(patch.gpuCount ? { gpu_count: patch.gpuCount } : {}) }));
  const model = { ...(raw.values["model"] as Record<string, unknown>), ...(patch.model ? { id: patch.model } : {}), ...(patch.quantization ? { quantization: patch.quantization } : {}) };
  const engine = { ...(raw.values["engine"] as Record<string, unknown>), ...(patch.kind ? { kind: patch.kind } : {}) };
  const { managed: _managed, ...router } = raw.values["router"] as Record<string, unknown>;
  const access = { ...(raw.values["access"] as Record<string, unknown>), hf_token_secret: "hfToken" };
  return {
    ...raw,
    values: { ...raw.values, hosts, model, engine, router, access, adapters: [], hfToken: { secure: "v1:PLACEHOLDER" } },
    secretKeys: new Set([...raw.secretKeys, "hfToken"]),
  };
}

const lorax = loraxStack([]);
const errors = (raw: RawStackConfig) => loadPlan(raw).issues.filter((i) => i.severity === "error");

describe("LoRAX on RTX 50xx", () => {
  const blackwell = GPUS.filter((g) => g.architecture === "blackwell");

  it("is refused on every Blackwell card with the reason and engine.kind: vllm as the fix", () => {
    expect(blackwell.length).toBeGreaterThan(0);
    for (const gpu of blackwell) {
      const issues = errors(variantOf(lorax, { gpu: gpu.id }));
      expect(issues, gpu.id).toHaveLength(1);
      const [issue] = issues;
      expect(issue!.path).toBe("hybrid-inference:engine.kind");
      expect(issue!.message).toContain(`lorax cannot run on ${gpu.id} (blackwell)`);
      expect(issue!.message).toMatch(/last release \(0\.12\.1, 2024-11\) is built on CUDA 12\.4 and PyTorch 2\.4.*sm_120/);
      expect(issue!.fix).toMatch(/^set engine\.kind: vllm/);
      // The fix works: the same stack on vLLM plans.
      expect(loadPlan(variantOf(lorax, { gpu: gpu.id, kind: "vllm" })).plan, gpu.id).toBeDefined();
    }
  });

  it("is refused by `npm run plan`, exit code 1, with the reason and the fix", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hi-lorax-plan-"));
    try {
      const file = path.join(dir, "Pulumi.lorax5090.yaml");
      const raw = variantOf(lorax, { gpu: "rtx-5090" });
      const config: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw.values)) config[`hybrid-inference:${k}`] = raw.secretKeys.has(k) ? { secure: "v1:PLACEHOLDER" } : v;
      writeFileSync(file, stringify({ config }));
      const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "tsx"), [path.join(ROOT, "cli", "plan.ts"), "--file", file, "--out", path.join(dir, "out")], { cwd: ROOT, encoding: "utf8" });
      expect(r.status).toBe(1);
      const printed = r.stdout + r.stderr;
      expect(printed).toContain("error: hybrid-inference:engine.kind: host \"dev-gpu-1\": lorax cannot run on rtx-5090 (blackwell)");
      expect(printed).toContain("fix: set engine.kind: vllm");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("checkpoints LoRAX can load", () => {
  const loraxCards = GPUS.filter((g) => g.quantizations.lorax.length > 0);

  it("auto picks only formats and repos LoRAX 0.12.1 reads, on every card and model", () => {
    fc.assert(fc.property(fc.constantFrom(...MODELS), fc.constantFrom(...loraxCards), fc.constantFrom(1, 2, 4), (model, gpu, gpuCount) => {
      const o = fitBest({
        model, gpu, gpuCount, engine: "lorax", gpuMemoryUtilization: 0.9, kvCacheDtype: "auto", maxNumSeqs: 16, maxLoras: 1, maxLoraRank: 16, requiredContext: 4096,
      }, QUANTIZATION_PREFERENCE);
      if (!o.fits) return;
      expect(gpu.quantizations.lorax).toContain(o.fit.quantization);
      expect(o.fit.quantization).not.toBe("fp8");
      expect(o.fit.variant.unsupportedBy?.lorax).toBeUndefined();
      expect(o.fit.variant.hfRepo).not.toMatch(/w4a16/);
    }), { numRuns: 200 });
  });

  it("marks every compressed-tensors checkpoint and every tied-embedding Qwen2.5 as not for LoRAX", () => {
    for (const model of MODELS) {
      for (const v of model.variants) {
        const expected = /quantized\.w4a16$/.test(v.hfRepo) || (model.family === "qwen2.5" && model.tiedEmbeddings);
        expect(v.unsupportedBy?.lorax !== undefined, v.hfRepo).toBe(expected);
        expect(v.unsupportedBy?.vllm, v.hfRepo).toBeUndefined();
      }
    }
  });

  it("refuses a compressed-tensors GPTQ repo asked for by name, and points at a format that fits", () => {
    const issues = errors(variantOf(lorax, { gpu: "rtx-3090", model: "mistral-small-24b-instruct", quantization: "gptq" }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toContain("lorax cannot load RedHatAI/Mistral-Small-24B-Instruct-2501-quantized.w4a16");
    expect(issues[0]!.message).toContain("compressed-tensors checkpoint");
    expect(issues[0]!.fix).toContain("quantization: awq");
    // vLLM loads that very checkpoint.
    expect(planOrThrow(variantOf(lorax, { gpu: "rtx-3090", model: "mistral-small-24b-instruct", quantization: "gptq", kind: "vllm" })).engine.hfRepo)
      .toBe("RedHatAI/Mistral-Small-24B-Instruct-2501-quantized.w4a16");
  });

  it("says why no fp8 on LoRAX", () => {
    const issues = errors(variantOf(lorax, { quantization: "fp8" }));
    expect(issues[0]!.message).toMatch(/lorax does not run fp8 weights on rtx-4090 \(ada\) \(LoRAX 0\.12\.1 runs FP8 only/);
  });

  it("refuses the tied-embedding Qwen2.5 models with the reason, vLLM or a larger Qwen as the fix", () => {
    for (const id of ["qwen2.5-0.5b-instruct", "qwen2.5-1.5b-instruct", "qwen2.5-3b-instruct"]) {
      expect(requireModel(id).tiedEmbeddings).toBe(true);
      const issues = errors(variantOf(lorax, { model: id }));
      expect(issues, id).toHaveLength(1);
      expect(issues[0]!.message).toContain(`lorax cannot load any checkpoint of ${id}: tied embeddings`);
      expect(issues[0]!.fix).toBe("set engine.kind: vllm, or serve a model lorax loads, such as qwen2.5-7b-instruct");
    }
  });

  it("still plans the LoRAX stacks it can: Qwen 7B bf16 on an RTX 4090, Qwen 7B AWQ on an RTX 3060", () => {
    expect(planOrThrow(lorax).engine).toMatchObject({ kind: "lorax", quantization: "bf16", hfRepo: "Qwen/Qwen2.5-7B-Instruct" });
    expect(requireGpu("rtx-3060-12gb").quantizations.lorax).toEqual(["bf16", "awq", "gptq"]);
    expect(planOrThrow(variantOf(lorax, { gpu: "rtx-3060-12gb" })).engine).toMatchObject({ quantization: "awq", hfRepo: "Qwen/Qwen2.5-7B-Instruct-AWQ" });
  });
});

describe("LoRAX on a host of several cards", () => {
  it("plans one copy of the model (LoRAX has no data parallelism) and says the other cards idle, with the fix", () => {
    const raw = variantOf(lorax, { gpu: "rtx-4090", gpuCount: 2 });
    const { plan, issues } = loadPlan(raw);
    expect(plan?.hosts[0]).toMatchObject({ gpuCount: 2, replicas: 1 });
    const idle = issues.find((i) => i.path.endsWith(".gpu_count"));
    expect(idle?.message).toMatch(/^1 of 2 cards on "[^"]+" stay idle: LoRAX runs one copy of the model per host \(no data parallelism\), on 1 card$/);
    expect(idle?.fix).toBe("set engine.kind: vllm to run a replica on every card, or rent a host with 1 card");
    // The router is not told the host serves twice what one copy serves.
    const vllm = loadPlan(variantOf(lorax, { gpu: "rtx-4090", gpuCount: 2, kind: "vllm" })).plan!;
    expect(plan!.router.upstreams[0]!.rpm).toBeLessThan(vllm.router.upstreams[0]!.rpm);
  });
});
