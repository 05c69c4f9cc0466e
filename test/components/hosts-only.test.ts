import { beforeAll, describe, expect, it } from "vitest";
import { type MockRunResult, runProgramUnderMocks } from "../../cli/mock-run";
import { loadPlan } from "../../core/load";
import { rawConfig, validValues } from "../fixtures";

const raw = rawConfig({ ...validValues(), workloads: false }, undefined, "hosts");

describe("workloads: false", () => {
  let run: MockRunResult;
  beforeAll(async () => {
    const { plan, issues } = loadPlan(raw);
    if (!plan) throw new Error(JSON.stringify(issues));
    run = await runProgramUnderMocks(raw, plan);
  });

  it("bootstraps and verifies the hosts and deploys nothing on Docker", () => {
    const types = new Set(run.resources.map((r) => r.type));
    expect(types.has("hybrid:host:GpuHost")).toBe(true);
    expect(run.resources.some((r) => r.name === "hosts-gpu-1-verify-gpus")).toBe(true);
    expect([...types].filter((t) => t.startsWith("docker:") || t.startsWith("pulumi:providers:docker"))).toEqual([]);
    expect(run.outputs["routerUrl"]).toBeUndefined();
    expect(run.outputs["modelNames"]).toEqual([]);
    expect(Object.keys(run.outputs["gpuInventory"] as object)).toEqual(["gpu-1"]);
  });
});
