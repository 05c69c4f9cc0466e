/**
 * Day-2 operations as the plan renders them: the engine's watchdog labels and compile-cache
 * volumes (docker and kubernetes), and the `driver` stack key down to the host bootstrap.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateStackConfig } from "../../core/config/validate";
import { loadPlan } from "../../core/load";
import { engineCudaRequirement, stackDriverBranch } from "../../core/plan/bootstrap";
import type { DeploymentPlan } from "../../core/plan/types";
import {
  ENGINE_HEALTH, VLLM_COMPILE_CACHES, WATCHDOG_MARGIN_S, dockerEngineInstance, engineContainer, engineWatchdog, routerContainer,
} from "../../core/render/containers";
import { dockerPart } from "../../core/plan/docker";
import { durationSeconds, renderKubernetesWorkloads } from "../../core/render/kubernetes/workloads";
import { renderHostBootstrap } from "../../core/render/host-bootstrap";
import { renderRouter } from "../../core/render/router-config";
import versions from "../../core/versions.json";
import { rawConfig, withValues } from "../fixtures";
import { k8sValues, planOf, shippedPlan } from "../kubernetes/fixtures";

function dockerEngine(plan: DeploymentPlan): ReturnType<typeof engineContainer> {
  return engineContainer(plan, dockerEngineInstance(plan.hosts[0]!, dockerPart(plan).hosts[0]!));
}

describe("compile caches on a host volume", () => {
  it("mounts vLLM's and FlashInfer's caches read-write from directories under the model cache", () => {
    const plan = shippedPlan("dev");
    const spec = dockerEngine(plan);
    const cache = plan.spec.access.cache_dir;
    expect(spec.volumes.filter((v) => v.cache === "compile")).toEqual([
      { hostPath: `${cache}/compile-cache/vllm`, containerPath: "/root/.cache/vllm", readOnly: false, cache: "compile" },
      { hostPath: `${cache}/compile-cache/flashinfer`, containerPath: "/root/.cache/flashinfer", readOnly: false, cache: "compile" },
    ]);
    // the cache-dir step creates exactly these directories
    const cacheDir = renderHostBootstrap(dockerPart(plan).hosts[0]!.bootstrap).find((s) => s.name === "cache-dir")!;
    expect(cacheDir.env.HI_COMPILE_CACHE_DIRS?.split(",").map((d) => `${cache}/${d}`)).toEqual(spec.volumes.filter((v) => v.cache === "compile").map((v) => v.hostPath));
  });

  it("adds none for LoRAX, whose image keeps no such caches", () => {
    const plan = planOf(withValues({ engine: { kind: "lorax" } }));
    expect(dockerEngine(plan).volumes.filter((v) => v.cache === "compile")).toEqual([]);
  });

  it("keeps the adapters' volumes where they were (the kubernetes adapter volumes are named by position)", () => {
    const plan = planOf(withValues({
      adapters: [{ name: "legal", source: "/srv/adapters/legal", rank: 8, base_model: "qwen2.5-7b-instruct" }],
    }));
    expect(dockerEngine(plan).volumes.map((v) => v.containerPath)).toEqual(["/root/.cache/huggingface", "/srv/adapters/legal", ...VLLM_COMPILE_CACHES.map((c) => c.containerPath)]);
  });

  it("kubernetes: hostPath volumes next to the model cache (DirectoryOrCreate, writable), or per-pod with empty_dir", () => {
    const hostPathPlan = shippedPlan("prod-k8s");
    const pod = renderKubernetesWorkloads(hostPathPlan).engines[0]!.deployment.spec.template.spec;
    const cache = hostPathPlan.spec.access.cache_dir;
    expect(pod.volumes?.filter((v) => v.name.startsWith("compile-cache"))).toEqual([
      { name: "compile-cache-0", hostPath: { path: `${cache}/compile-cache/vllm`, type: "DirectoryOrCreate" } },
      { name: "compile-cache-1", hostPath: { path: `${cache}/compile-cache/flashinfer`, type: "DirectoryOrCreate" } },
    ]);
    expect(pod.containers[0]!.volumeMounts?.filter((m) => m.name.startsWith("compile-cache"))).toEqual([
      { name: "compile-cache-0", mountPath: "/root/.cache/vllm" },
      { name: "compile-cache-1", mountPath: "/root/.cache/flashinfer" },
    ]);
    expect(pod.volumes?.some((v) => v.name.startsWith("adapter-"))).toBe(false);

    const emptyDirPlan = planOf(k8sValues({ kubernetes: { model_cache: { type: "empty_dir" } } }));
    const perPod = renderKubernetesWorkloads(emptyDirPlan).engines[0]!.deployment.spec.template.spec;
    expect(perPod.volumes?.filter((v) => v.name.startsWith("compile-cache"))).toEqual([
      { name: "compile-cache-0", emptyDir: {} },
      { name: "compile-cache-1", emptyDir: {} },
    ]);
  });
});

describe("engine watchdog labels", () => {
  it("label the engine container with its stack, role and restart policy; the router carries none", () => {
    const plan = shippedPlan("staging");
    const spec = dockerEngine(plan);
    expect(spec.labels).toMatchObject({ "hybrid-inference.stack": "staging", "hybrid-inference.role": "engine", "hybrid-inference.watchdog": "restart" });
    expect(routerContainer(plan, renderRouter(plan)).labels).toEqual({});
  });

  it("derive the policy from the health check for every start-up time (property)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 48 * 3600 }), (startupSeconds) => {
      const policy = engineWatchdog(startupSeconds);
      // Docker calls the engine unhealthy after interval x retries; the watchdog waits a margin more
      expect(policy.restartAfterS).toBe(ENGINE_HEALTH.intervalS * ENGINE_HEALTH.retries + WATCHDOG_MARGIN_S);
      expect(policy.restartAfterS).toBeGreaterThan(ENGINE_HEALTH.intervalS * ENGINE_HEALTH.retries);
      // never within the planned start-up time, and the same period Docker's health check grants
      expect(policy.startPeriodS).toBeGreaterThanOrEqual(startupSeconds);
      expect(policy.startPeriodS - startupSeconds).toBeLessThan(60);
    }));
  });

  it("match the container's own health check (start period, interval, retries) in every shipped docker stack", () => {
    for (const stack of ["dev", "staging", "prod"]) {
      const plan = shippedPlan(stack);
      const spec = dockerEngine(plan);
      const hc = spec.healthcheck;
      expect(Number(spec.labels["hybrid-inference.watchdog.start-period-s"]), stack).toBe(durationSeconds(hc.startPeriod));
      expect(Number(spec.labels["hybrid-inference.watchdog.restart-after-s"]), stack).toBe(durationSeconds(hc.interval) * hc.retries + WATCHDOG_MARGIN_S);
      expect(Number(spec.labels["hybrid-inference.watchdog.start-period-s"]), stack).toBeGreaterThanOrEqual(plan.engine.startupSeconds);
    }
  });
});

describe("the driver key", () => {
  it("defaults to the catalog's branch for the stack's cards and reaches every host's bootstrap", () => {
    for (const stack of ["dev", "staging", "prod", "prod-k8s"]) {
      const plan = shippedPlan(stack);
      expect(stackDriverBranch(plan.spec), stack).toBe(Math.max(...plan.hosts.map((h) => h.gpu.minDriverBranch)));
      expect(stackDriverBranch(plan.spec), stack).toBe(580);
    }
    const plan = planOf(withValues({ driver: { branch: 590, refresh: "2026-12-01" } }));
    const driverStep = renderHostBootstrap(dockerPart(plan).hosts[0]!.bootstrap).find((s) => s.name === "nvidia-driver")!;
    expect(driverStep.env).toEqual({ HI_DRIVER_BRANCH: "590", HI_OPEN_KERNEL_MODULES: "false", HI_DRIVER_REFRESH: "2026-12-01" });
  });

  it("refuses a branch below a card's minimum, saying which host and what to use", () => {
    const { issues } = validateStackConfig(rawConfig(withValues({ driver: { branch: 575 } })));
    expect(issues).toContainEqual(expect.objectContaining({
      path: "hybrid-inference:driver.branch",
      message: "575 is below the oldest driver branch that runs the cards with the pinned engine image's CUDA version: hosts[0] (rtx-4090, at least 580)",
      fix: "use 580 or newer, or leave driver.branch out to get 580",
    }));
  });

  it("refuses unknown keys and a refresh label with spaces; accepts a numeric refresh", () => {
    const issues = validateStackConfig(rawConfig(withValues({ driver: { branch: 580, version: "580.95", refresh: "next week" } }))).issues;
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(["hybrid-inference:driver.version", "hybrid-inference:driver.refresh"]));
    const { spec } = validateStackConfig(rawConfig(withValues({ driver: { refresh: 3 } })));
    expect(spec?.driver.refresh).toBe("3");
  });
});

describe("the engine image's CUDA requirement in the plan", () => {
  it("is core/versions.json's for the pinned tag, unknown (null) for another tag", () => {
    const pinned = planOf(withValues({}));
    expect(engineCudaRequirement(pinned.spec)).toBe(versions.vllm.cudaRequirement);
    expect(dockerPart(pinned).hosts[0]!.bootstrap.engineImage?.cudaRequirement).toBe("cuda>=13.0");
    const other = loadPlan(rawConfig(withValues({ engine: { version: "v0.34.0" } }))).plan!;
    expect(engineCudaRequirement(other.spec)).toBeNull();
    const verify = renderHostBootstrap(dockerPart(other).hosts[0]!.bootstrap).find((s) => s.name === "verify-gpus")!;
    expect(verify.env).not.toHaveProperty("HI_CUDA_REQUIREMENT");
    expect(verify.env.HI_ENGINE_IMAGE).toBe("vllm/vllm-openai:v0.34.0");
  });
});
