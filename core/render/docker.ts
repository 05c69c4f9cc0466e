/**
 * Everything the docker target deploys, rendered from the plan: per host the bootstrap steps,
 * the reboot wait and the engine container; the router's config and container, the TLS edge,
 * the weight prefetch; and every file of it for review under `out/<stack>/`.
 */
import { dockerPart } from "../plan/docker";
import type { DeploymentPlan, DockerHostTarget, HostPlan } from "../plan/types";
import { type ContainerSpec, dockerEngineInstance, edgeContainer, engineContainer, imageName, routerContainer } from "./containers";
import { argvForDisplay } from "./engine-args";
import { type BootstrapStep, type HostStep, type RebootWait, hostSteps, rebootWait, renderCloudInit, renderStepCommand } from "./host-bootstrap";
import { renderRouter } from "./router-config";
import { type HostBenchmark, benchmarkCommand, benchmarkSteps } from "./benchmark";
import { prefetchStep } from "./prefetch";

export interface DockerHostRendering {
  readonly host: HostPlan;
  readonly target: DockerHostTarget;
  readonly steps: readonly HostStep[];
  readonly rebootWait: RebootWait;
  readonly engine: ContainerSpec;
  /** vLLM's own benchmark after the engine is up (`benchmark.enabled`); null when the stack does not run it. */
  readonly benchmark: HostBenchmark | null;
}

export interface DockerRendering {
  readonly kind: "docker";
  readonly hosts: readonly DockerHostRendering[];
  readonly routerConfig: string;
  readonly router: ContainerSpec;
  readonly edge: ContainerSpec | null;
  /** Downloads the weights into each host's cache before its engine is replaced. */
  readonly prefetch: BootstrapStep;
  /** Every rendered file, keyed by its path under `out/<stack>/`. */
  readonly files: Readonly<Record<string, string>>;
}

export function renderDockerTarget(plan: DeploymentPlan): DockerRendering {
  const target = dockerPart(plan);
  const rendered = renderRouter(plan);
  const routerConfig = rendered.yaml;
  const router = routerContainer(plan, rendered);
  const edge = edgeContainer(plan, target);
  const benchmarks = benchmarkSteps(plan);
  const hosts = target.hosts.map((t): DockerHostRendering => {
    const host = plan.hosts.find((h) => h.name === t.name)!;
    return {
      host, target: t, steps: hostSteps(t.bootstrap), rebootWait: rebootWait(t.bootstrap), engine: engineContainer(plan, dockerEngineInstance(host, t)),
      benchmark: benchmarks.find((b) => b.host === t.name) ?? null,
    };
  });

  const files: Record<string, string> = {};
  files["router/litellm-config.yaml"] = routerConfig;
  files["router/command.txt"] = `${imageName(router.image)} ${argvForDisplay(router.command)}\n`;
  // The router extension's package and settings, as the container gets them beside the config.
  for (const f of rendered.extension.files) files[`router/${f.path}`] = f.content;
  if (edge) files["router/Caddyfile"] = edge.files[0]!.content;
  for (const h of hosts) {
    const dir = `hosts/${h.host.name}`;
    files[`${dir}/engine-command.txt`] = `${imageName(h.engine.image)} ${argvForDisplay(h.engine.command)}\n`;
    files[`${dir}/engine-argv.json`] = `${JSON.stringify(h.engine.command, null, 2)}\n`;
    h.steps.forEach((step, i) => {
      const prefix = `${dir}/bootstrap/${String(i + 1).padStart(2, "0")}-${step.name}`;
      files[`${prefix}.sh`] = step.script;
      files[`${prefix}.command.txt`] = `${renderStepCommand(step)}\n`;
    });
    files[`${dir}/cloud-init.yaml`] = renderCloudInit(h.target.bootstrap);
    if (h.benchmark) {
      files[`${dir}/benchmark.sh`] = h.benchmark.step.script;
      files[`${dir}/benchmark.command.txt`] = `${benchmarkCommand(h.benchmark.step)}\n`;
    }
  }
  return { kind: "docker", hosts, routerConfig, router, edge, prefetch: prefetchStep(plan), files };
}
