/**
 * The router's config on Kubernetes, from the same `litellmConfig` the docker target uses.
 *
 * On Kubernetes the router does not reach hosts but engine groups: one ClusterIP Service per
 * group (core/plan/placement.ts), which spreads requests over that group's pods. So the
 * router's upstreams are the groups, each seen as one "host" of the plan whose endpoint is the
 * group's Service DNS name and whose capacity is the sum over the group's replicas. Everything
 * else (tiers, tags, fallbacks, cooldowns) is litellmConfig's, unchanged.
 *
 * Rate limits: LiteLLM counts requests in each worker process of each router pod (no shared
 * store here), and litellmConfig already divides by `--num_workers`. The router pods divide the
 * traffic again, so each pod's share of a group's limits is the group's limits divided by
 * `kubernetes.router_replicas`. When the autoscaler adds pods above that, the admitted total
 * rises with them: the engines then queue a little more before spilling to the managed tier.
 */
import type { Placement } from "../../plan/placement";
import type { DeploymentPlan, HostPlan } from "../../plan/types";
import { type LiteLlmConfig, litellmConfig, renderLitellmConfig } from "../litellm-config";

/**
 * DNS name of a Service in its namespace, `<service>.<namespace>.svc`: resolvable from every
 * pod through the cluster DNS search path whatever the cluster domain is
 * (https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/).
 */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc`;
}

/** The plan's placement; throws for a plan made for the docker target. */
export function requirePlacement(plan: DeploymentPlan): Placement {
  if (!plan.placement) throw new Error(`stack ${plan.spec.stack}: the plan has no placement (target is ${plan.spec.target}, not kubernetes)`);
  return plan.placement;
}

/**
 * Each engine group as the plan's `HostPlan` shape, for the renderers written against hosts
 * (engine argv and container spec, router config): a host of `tensorParallel` cards running one
 * replica, reached at the group's Service, with the group's capacity per router pod.
 */
export function groupHosts(plan: DeploymentPlan): HostPlan[] {
  const placement = requirePlacement(plan);
  const { namespace, router_replicas: routerReplicas } = plan.spec.kubernetes;
  return placement.groups.map((group) => {
    const base = plan.hosts.find((h) => h.name === group.nodes[0]);
    if (!base) throw new Error(`engine group ${group.name} names node ${String(group.nodes[0])}, which is not a host of the plan`);
    const share = (limit: number): number => Math.max(1, Math.floor(limit / routerReplicas));
    return {
      ...base,
      name: group.name,
      gpuCount: group.tensorParallel,
      tensorParallel: group.tensorParallel,
      replicas: 1,
      memory: group.memory,
      runsRouter: false,
      engineContainerName: group.name,
      endpoint: { apiBase: `http://${serviceHost(group.name, namespace)}:${plan.engine.port}/v1` },
      capacity: { ...group.perReplica, routerRpm: share(group.routerRpm), routerTpm: share(group.routerTpm) },
    };
  });
}

/** The plan as the router on Kubernetes sees it: its hosts are the engine groups. */
export function kubernetesRouterPlan(plan: DeploymentPlan): DeploymentPlan {
  return { ...plan, hosts: groupHosts(plan) };
}

export function kubernetesLitellmConfig(plan: DeploymentPlan): LiteLlmConfig {
  return litellmConfig(kubernetesRouterPlan(plan));
}

export function renderKubernetesLitellmConfig(plan: DeploymentPlan): string {
  return renderLitellmConfig(kubernetesRouterPlan(plan));
}
