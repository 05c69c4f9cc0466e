/**
 * Everything the docker target deploys, rendered from the plan: per host the bootstrap steps,
 * the reboot wait and the engine container; the router's config and container, the TLS edge,
 * the weight prefetch; and every file of it for review under `out/<stack>/`.
 */
import { dockerPart } from "../plan/docker";
import { type HostRollout, type ReadinessPlan, planRollout, readinessPlan, rolloutSummary } from "../plan/rollout";
import type { DeploymentPlan, DockerHostTarget, HostPlan, TunnelPlan } from "../plan/types";
import { type ContainerSpec, dockerEngineInstance, edgeContainer, engineContainer, imageName, routerContainer } from "./containers";
import { argvForDisplay } from "./engine-args";
import { type BootstrapStep, type HostStep, type RebootWait, TUNNEL_PEER_KEYS_ENV, TUNNEL_PRIVATE_KEY_ENV, TUNNEL_STEP, hostSteps, rebootWait, renderCloudInit, renderStepCommand } from "./host-bootstrap";
import { renderSecretStepCommand } from "./kubernetes/k3s-bootstrap";
import { engineReadinessStep, routerReadinessStep } from "./readiness";
import { renderRouter } from "./router-config";
import { renderDockerMonitoring } from "./monitoring/docker";
import { type HostBenchmark, benchmarkCommand, benchmarkSteps } from "./benchmark";
import { prefetchStep } from "./prefetch";

export interface DockerHostRendering {
  readonly host: HostPlan;
  readonly target: DockerHostTarget;
  readonly steps: readonly HostStep[];
  readonly rebootWait: RebootWait;
  readonly engine: ContainerSpec;
  /** The readiness gate after the engine container (templates/engine/readiness.sh). */
  readonly readiness: BootstrapStep;
  /** Where the host stands in the rollout: whose readiness it waits for. */
  readonly rollout: HostRollout;
  /** vLLM's own benchmark after the engine is up (`benchmark.enabled`); null when the stack does not run it. */
  readonly benchmark: HostBenchmark | null;
}

export interface DockerRendering {
  readonly kind: "docker";
  readonly hosts: readonly DockerHostRendering[];
  readonly routerConfig: string;
  readonly router: ContainerSpec;
  readonly edge: ContainerSpec | null;
  /** The readiness gate after the router: its own, then every engine as it reaches them. */
  readonly routerReadiness: BootstrapStep;
  /** The deadlines of the gates, and where they come from. */
  readonly readinessPlan: ReadinessPlan;
  /** The engine tunnel between hosts without a private network; null when none is needed. */
  readonly tunnel: TunnelPlan | null;
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
  const order = planRollout(plan);
  if (order.map((o) => o.host).join() !== target.hosts.map((t) => t.name).join()) throw new Error("the rollout order and the docker target's hosts differ");
  const hosts = target.hosts.map((t, i): DockerHostRendering => {
    const host = plan.hosts.find((h) => h.name === t.name)!;
    const engine = engineContainer(plan, dockerEngineInstance(host, t));
    return {
      host, target: t, steps: hostSteps(t.bootstrap), rebootWait: rebootWait(t.bootstrap), engine,
      readiness: engineReadinessStep(plan, engine, order[i]!.settleS), rollout: order[i]!,
      benchmark: benchmarks.find((b) => b.host === t.name) ?? null,
    };
  });
  const routerReadiness = routerReadinessStep(plan, router);

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
      files[`${prefix}.command.txt`] = `${step.name === TUNNEL_STEP ? tunnelCommandForReview(step) : renderStepCommand(step)}\n`;
    });
    if (plan.spec.workloads) {
      files[`${dir}/readiness.sh`] = h.readiness.script;
      files[`${dir}/readiness.command.txt`] = `${renderStepCommand(h.readiness)}\n`;
    }
    files[`${dir}/cloud-init.yaml`] = renderCloudInit(h.target.bootstrap);
    if (h.benchmark) {
      files[`${dir}/benchmark.sh`] = h.benchmark.step.script;
      files[`${dir}/benchmark.command.txt`] = `${benchmarkCommand(h.benchmark.step)}\n`;
    }
  }
  if (plan.spec.workloads) files["router/readiness.command.txt"] = `${renderStepCommand(routerReadiness)}\n`;
  Object.assign(files, renderDockerMonitoring(plan)?.files ?? {});
  files["rollout.txt"] = `${rolloutSummary(plan).join("\n")}\n`;
  return {
    kind: "docker", hosts, routerConfig, router, edge, routerReadiness, readinessPlan: readinessPlan(plan), tunnel: target.tunnel,
    prefetch: prefetchStep(plan), files,
  };
}

/** The tunnel step's command as it runs, the peers' public keys (made at deploy time) shown as a placeholder. */
function tunnelCommandForReview(step: BootstrapStep): string {
  return renderSecretStepCommand({ ...step, env: { ...step.env, [TUNNEL_PEER_KEYS_ENV]: "<peer>=<public key, made at deploy time>,..." } }, [TUNNEL_PRIVATE_KEY_ENV]);
}
