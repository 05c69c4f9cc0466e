/**
 * The engine image's CUDA requirement against the installed driver: verify-gpus checks the
 * plan's copy (before the image is pulled), prefetch-weights the pulled image's own
 * NVIDIA_REQUIRE_CUDA. Both name the two versions when the driver is too old.
 */
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { dockerPart } from "../../core/plan/docker";
import { renderHostBootstrap } from "../../core/render/host-bootstrap";
import { renderScript } from "../../core/render/script";
import versions from "../../core/versions.json";
import { Sandbox } from "./harness";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => {
  sb.cleanup();
});

const RTX5090 = "NVIDIA GeForce RTX 5090";
/** The head of NVIDIA's 13.0 base image's NVIDIA_REQUIRE_CUDA (data-centre brand alternatives after the first term). */
const REQUIRE_13 = "cuda>=13.0 brand=unknown,driver>=535,driver<536 brand=grid,driver>=535,driver<536 brand=tesla,driver>=535,driver<536";

function driver(version: string, cuda: string | null): void {
  sb.set("nvidia-smi-query", `${RTX5090}, 32607, ${version}\n`);
  sb.set("nvidia-smi-table", `| NVIDIA-SMI ${version}     Driver Version: ${version}     ${cuda ? `CUDA Version: ${cuda}` : ""}     |\n`);
}

describe("verify-gpus: the engine image's CUDA requirement", () => {
  const env = { HI_GPU_COUNT: "1", HI_GPU_NAME: RTX5090, HI_DRIVER_BRANCH: "575", HI_ENGINE_IMAGE: "vllm/vllm-openai:v0.33.0", HI_CUDA_REQUIREMENT: "cuda>=13.0" };

  it("fails naming the image's CUDA version and the driver's when the driver is too old", () => {
    driver("575.57.08", "12.9");
    const r = sb.runStep("verify-gpus", env);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain("HI_GPU_INVENTORY");
    expect(r.stderr).toContain(
      "[hybrid-inference:verify-gpus] CUDA: the engine image vllm/vllm-openai:v0.33.0 requires CUDA >= 13.0 (NVIDIA_REQUIRE_CUDA=cuda>=13.0), but the installed NVIDIA driver 575.57.08 supports CUDA 12.9 at most");
    expect(r.stderr).toContain("Raise driver.branch in the stack");
  });

  it("passes when the driver supports the image's CUDA, and says so", () => {
    driver("580.95.05", "13.0");
    const r = sb.runStep("verify-gpus", env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("CUDA 13.0 (the engine image needs cuda>=13.0)");
  });

  it("compares versions as numbers (13.10 is newer than 13.9)", () => {
    driver("590.10.01", "13.10");
    expect(sb.runStep("verify-gpus", { ...env, HI_CUDA_REQUIREMENT: "cuda>=13.9" }).status).toBe(0);
    driver("590.10.01", "13.1");
    expect(sb.runStep("verify-gpus", { ...env, HI_CUDA_REQUIREMENT: "cuda>=13.10" }).stderr).toContain("requires CUDA >= 13.10");
  });

  it("reads the cuda>= term of a full NVIDIA_REQUIRE_CUDA and ignores the data-centre alternatives", () => {
    driver("575.57.08", "12.9");
    const r = sb.runStep("verify-gpus", { ...env, HI_CUDA_REQUIREMENT: REQUIRE_13 });
    expect(r.stderr).toContain("requires CUDA >= 13.0 (NVIDIA_REQUIRE_CUDA=cuda>=13.0)");
  });

  it("skips the check without a requirement (another image tag: the prefetch step checks the pulled image)", () => {
    driver("575.57.08", "12.9");
    const { HI_CUDA_REQUIREMENT: _, ...withoutRequirement } = env;
    expect(sb.runStep("verify-gpus", withoutRequirement).status).toBe(0);
  });

  it("says it cannot check when nvidia-smi prints no CUDA version, without failing", () => {
    driver("580.95.05", null);
    const r = sb.runStep("verify-gpus", env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("cannot check the engine image's CUDA requirement (cuda>=13.0): nvidia-smi prints no CUDA version");
  });

  it("refuses a requirement it cannot read", () => {
    driver("580.95.05", "13.0");
    expect(sb.runStep("verify-gpus", { ...env, HI_CUDA_REQUIREMENT: "13.0" }).stderr).toContain("HI_CUDA_REQUIREMENT must contain a term like cuda>=13.0, got '13.0'");
  });

  it("explains a driver/library version mismatch as a pending reboot", () => {
    sb.set("nvidia-smi-query", "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.105\n");
    sb.set("nvidia-smi-rc", "18");
    const r = sb.runStep("verify-gpus", env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Driver/library version mismatch");
    expect(r.stderr).toContain("The loaded NVIDIA kernel module is older than the installed driver libraries");
    expect(r.stderr).toContain("reboot-if-required");
  });

  it("gets the pinned image's requirement from the plan (core/versions.json) for every shipped docker stack", () => {
    expect(versions.vllm.cudaRequirement).toBe("cuda>=13.0");
    for (const stack of ["dev", "staging", "prod"]) {
      const { plan } = loadPlan(readStackFile(path.join(__dirname, "..", "..", "stacks", `Pulumi.${stack}.yaml`), stack));
      for (const h of dockerPart(plan!).hosts) {
        const verify = renderHostBootstrap(h.bootstrap).find((s) => s.name === "verify-gpus");
        expect(verify?.env, stack).toMatchObject({ HI_ENGINE_IMAGE: "vllm/vllm-openai:v0.33.0", HI_CUDA_REQUIREMENT: "cuda>=13.0" });
      }
    }
  });
});

describe("prefetch-weights: the pulled image's own NVIDIA_REQUIRE_CUDA", () => {
  const SCRIPT = renderScript(path.join("engine", "prefetch-weights.sh"));
  const env = {
    HI_ENGINE_IMAGE: "vllm/vllm-openai:v0.34.0", HI_CACHE_DIR: "/var/lib/hybrid-inference/models", HI_MODEL_REPO: "Qwen/Qwen2.5-7B-Instruct",
    // vLLM's cache layout (core/render/lorax.ts modelCacheMount): the whole cache at the Hugging Face home.
    HI_ENGINE_CACHE_DIR: "/var/lib/hybrid-inference/models", HI_ENGINE_CACHE_MOUNT: "/root/.cache/huggingface", HI_HUB_CACHE: "/root/.cache/huggingface/hub",
  };
  beforeEach(() => {
    sb.file("var/lib/hybrid-inference/models/.keep", "");
    sb.set("docker-image-env", `PATH=/usr/local/bin:/usr/bin\nNVIDIA_REQUIRE_CUDA=${REQUIRE_13}\nCUDA_VERSION=13.0.2\n`);
  });

  it("pulls the image, and refuses it before downloading when the driver's CUDA is older, naming both", () => {
    sb.set("docker-image-missing", "");
    driver("575.57.08", "12.9");
    const r = sb.runText(SCRIPT, env);
    expect(r.status).not.toBe(0);
    expect(sb.callLines("docker")).toContain("docker pull --quiet vllm/vllm-openai:v0.34.0");
    expect(r.stderr).toContain("CUDA: the engine image vllm/vllm-openai:v0.34.0 requires CUDA >= 13.0 (NVIDIA_REQUIRE_CUDA=cuda>=13.0), but the installed NVIDIA driver 575.57.08 supports CUDA 12.9 at most");
    expect(sb.calls("docker").filter((c) => c[1] === "run")).toEqual([]);
  });

  it("downloads when the driver is new enough", () => {
    driver("580.95.05", "13.0");
    const r = sb.runText(SCRIPT, env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("vllm/vllm-openai:v0.34.0 needs cuda>=13.0; the driver supports CUDA 13.0");
    expect(sb.calls("docker").filter((c) => c[1] === "pull")).toEqual([]);
    expect(sb.calls("docker").filter((c) => c[1] === "run")).toHaveLength(1);
  });

  it("goes on when the image states no requirement", () => {
    sb.set("docker-image-env", "PATH=/usr/bin\n");
    driver("575.57.08", "12.9");
    const r = sb.runText(SCRIPT, env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("states no CUDA requirement");
  });
});
