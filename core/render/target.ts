/**
 * The one place the target is chosen for rendering: the Pulumi program deploys what this
 * returns, and the offline `plan` command writes its files.
 */
import type { DeploymentPlan } from "../plan/types";
import { type DockerRendering, renderDockerTarget } from "./docker";
import { type KubernetesRendering, renderKubernetesTarget } from "./kubernetes/target";

export type TargetRendering = DockerRendering | KubernetesRendering;

export function renderTarget(plan: DeploymentPlan): TargetRendering {
  switch (plan.target.kind) {
    case "docker":
      return renderDockerTarget(plan);
    case "kubernetes":
      return renderKubernetesTarget(plan);
    default: {
      const unreachable: never = plan.target;
      throw new Error(`unknown target ${JSON.stringify(unreachable)}`);
    }
  }
}
