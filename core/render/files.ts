/**
 * Every file a deployment renders, keyed by its path under `out/<stack>/`, so that a
 * pull request shows exactly what the engines, router and hosts will be given.
 */
import type { DeploymentPlan } from "../plan/types";
import { weightBytes } from "../plan/memory";
import { edgeContainer, engineContainer, imageName, routerContainer } from "./containers";
import { argvForDisplay } from "./engine-args";
import { renderCloudInit, renderHostBootstrap, renderStepCommand } from "./host-bootstrap";
import { renderLitellmConfig } from "./litellm-config";

export function renderFiles(plan: DeploymentPlan): Record<string, string> {
  const files: Record<string, string> = {};
  const config = renderLitellmConfig(plan);
  files["router/litellm-config.yaml"] = config;
  const router = routerContainer(plan, config);
  files["router/command.txt"] = `${imageName(router.image)} ${argvForDisplay(router.command)}\n`;
  const edge = edgeContainer(plan);
  if (edge) files["router/Caddyfile"] = edge.files[0]!.content;
  const weightsGB = weightBytes(plan.model, plan.engine.quantization, plan.variant) / 1e9;
  for (const host of plan.hosts) {
    const engine = engineContainer(plan, host, weightsGB);
    files[`hosts/${host.name}/engine-command.txt`] = `${imageName(engine.image)} ${argvForDisplay(engine.command)}\n`;
    files[`hosts/${host.name}/engine-argv.json`] = `${JSON.stringify(engine.command, null, 2)}\n`;
    renderHostBootstrap(host.bootstrap).forEach((step, i) => {
      const prefix = `hosts/${host.name}/bootstrap/${String(i + 1).padStart(2, "0")}-${step.name}`;
      files[`${prefix}.sh`] = step.script;
      files[`${prefix}.command.txt`] = `${renderStepCommand(step)}\n`;
    });
    files[`hosts/${host.name}/cloud-init.yaml`] = renderCloudInit(host.bootstrap);
  }
  return files;
}
