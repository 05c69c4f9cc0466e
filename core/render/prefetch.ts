/**
 * The prefetch step that runs before an engine container is (re)created: same model, same
 * image, same cache as the engine, so a changed model, quantization or engine version is
 * downloaded while the old engine still serves.
 *
 * "Same cache" means the engine container's own mount and hub-cache path, from
 * `modelCacheMount` (core/render/containers.ts): LoRAX's image sets
 * HUGGINGFACE_HUB_CACHE=/data, which wins over HF_HOME, so a prefetch that only set HF_HOME
 * downloaded into the throwaway container's /data and LoRAX fetched everything again.
 */
import * as path from "node:path";
import type { DeploymentPlan } from "../plan/types";
import { imageName, modelCacheMount } from "./containers";
import { type BootstrapStep, makeStep } from "./host-bootstrap";
import { renderScript } from "./script";

export const PREFETCH_STEP = "prefetch-weights";

export function prefetchStep(plan: DeploymentPlan): BootstrapStep {
  const script = renderScript(path.join("engine", `${PREFETCH_STEP}.sh`));
  const hubAdapters = (plan.engine.lora?.adapters ?? []).filter((a) => a.hostPath === undefined).map((a) => a.enginePath);
  const cache = modelCacheMount(plan.engine.kind, plan.spec.access.cache_dir);
  return makeStep(PREFETCH_STEP, script, {
    HI_ENGINE_IMAGE: imageName(plan.engine.image),
    HI_CACHE_DIR: plan.spec.access.cache_dir,
    HI_ENGINE_CACHE_DIR: cache.hostPath,
    HI_ENGINE_CACHE_MOUNT: cache.containerPath,
    HI_HUB_CACHE: cache.hubCache,
    HI_MODEL_REPO: plan.engine.hfRepo,
    ...(hubAdapters.length > 0 ? { HI_ADAPTER_REPOS: hubAdapters.join(",") } : {}),
  });
}

/**
 * The command that runs it: the step's own variables, plus `HF_TOKEN` when the stack has
 * one. The token is exported by name inside sudo's environment, never put in the step's
 * hash, and the script hands it to Docker by name only.
 */
export function prefetchCommand(step: BootstrapStep, hfToken: string | undefined, render: (s: BootstrapStep) => string): string {
  if (hfToken === undefined) return render(step);
  return render({ ...step, env: { ...step.env, HF_TOKEN: hfToken } });
}
