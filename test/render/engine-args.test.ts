import { describe, expect, it } from "vitest";
import vllmFlags from "../../core/render/vllm-flags-v0.33.0.json";
import versions from "../../core/versions.json";
import { engineArgs, loraxArgs, vllmArgs } from "../../core/render/engine-args";
import { readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import type { EnginePlan } from "../../core/plan/types";
import * as path from "node:path";

const planOf = (stack: string) => {
  const { plan } = loadPlan(readStackFile(path.join(__dirname, "..", "..", "stacks", `Pulumi.${stack}.yaml`), stack));
  if (!plan) throw new Error(`stack ${stack} does not plan`);
  return plan;
};

const engine: EnginePlan = {
  ...planOf("dev").engine,
  lora: {
    maxLoras: 2, maxLoraRank: 64, maxCpuLoras: 3,
    adapters: [
      { name: "support-bot", enginePath: "/srv/adapters/support-bot", hostPath: "/srv/adapters/support-bot", rank: 16 },
      { name: "legal", enginePath: "acme/legal-lora", rank: 64 },
    ],
  },
};

describe("engine argv", () => {
  it("uses only flags that vLLM's pinned version defines", () => {
    expect(vllmFlags.version).toBe(versions.vllm.tag);
    const known = new Set(vllmFlags.flags);
    const argvs = [
      ...["dev", "staging", "prod"].flatMap((s) => planOf(s).hosts.map((h) => engineArgs(planOf(s).engine, { tensorParallel: h.tensorParallel, dataParallel: h.replicas }))),
      vllmArgs(engine, { tensorParallel: 2, dataParallel: 2 }),
      vllmArgs({ ...engine, enablePrefixCaching: false }, { tensorParallel: 1, dataParallel: 1 }),
    ];
    const unknown = argvs.flat().filter((a) => a.startsWith("--") && !known.has(a));
    expect(unknown).toEqual([]);
  });

  it("declares every adapter to vLLM as a LoRA module on the served base model", () => {
    const argv = vllmArgs(engine, { tensorParallel: 1, dataParallel: 1 });
    const at = argv.indexOf("--lora-modules");
    expect(argv.slice(at + 1).map((a) => JSON.parse(a) as unknown)).toEqual([
      { name: "support-bot", path: "/srv/adapters/support-bot", base_model_name: "qwen2.5-7b-instruct" },
      { name: "legal", path: "acme/legal-lora", base_model_name: "qwen2.5-7b-instruct" },
    ]);
    expect(argv.slice(argv.indexOf("--max-lora-rank"), argv.indexOf("--max-lora-rank") + 2)).toEqual(["--max-lora-rank", "64"]);
  });

  it("runs replicas as vLLM data parallel, and guards PCIe tensor parallel", () => {
    const argv = vllmArgs(engine, { tensorParallel: 2, dataParallel: 2 });
    expect(argv).toEqual(expect.arrayContaining(["--data-parallel-size", "--disable-custom-all-reduce"]));
    expect(vllmArgs(engine, { tensorParallel: 1, dataParallel: 1 })).not.toContain("--data-parallel-size");
  });

  it("gives LoRAX its launcher flags: model, quantize, lengths, shards, preloaded hub adapters (test/lorax checks them against the launcher)", () => {
    const argv = loraxArgs({ ...engine, kind: "lorax", quantization: "awq", maxModelLen: 8192 }, { tensorParallel: 2 });
    expect(argv).toEqual([
      "--model-id", engine.hfRepo, "--hostname", "0.0.0.0", "--port", "8000", "--quantize", "awq",
      "--max-input-length", "8191", "--max-total-tokens", "8192", "--max-batch-prefill-tokens", "8192",
      "--max-concurrent-requests", "128", "--num-shard", "2", "--sharded", "true",
      "--max-active-adapters", "2", "--preloaded-adapter-ids", "acme/legal-lora", "--preloaded-adapter-source", "hub",
    ]);
  });
});
