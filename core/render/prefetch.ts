/**
 * The prefetch step that runs before an engine container is (re)created: same model, same
 * image, same cache as the engine, so a changed model, quantization or engine version is
 * downloaded while the old engine still serves.
 */
import * as path from "node:path";
import type { DeploymentPlan } from "../plan/types";
import { imageName } from "./containers";
import { type BootstrapStep, makeStep } from "./host-bootstrap";
import { renderScript } from "./script";

export const PREFETCH_STEP = "prefetch-weights";

export function prefetchStep(plan: DeploymentPlan): BootstrapStep {
  const script = renderScript(path.join("engine", `${PREFETCH_STEP}.sh`));
  const hubAdapters = (plan.engine.lora?.adapters ?? []).filter((a) => a.hostPath === undefined).map((a) => a.enginePath);
  return makeStep(PREFETCH_STEP, script, {
    HI_ENGINE_IMAGE: imageName(plan.engine.image),
    HI_CACHE_DIR: plan.spec.access.cache_dir,
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
