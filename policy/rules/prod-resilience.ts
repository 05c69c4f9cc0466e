/**
 * A production stack survives one failure: its router has a frontier fallback (a `frontier`
 * model group that some fallback list names, in the LiteLLM config uploaded to
 * /app/config.yaml, or held by a ConfigMap on kubernetes), and it runs at least two engines
 * (docker: engine containers, one per host; kubernetes: engine replicas) or two router
 * replicas (router containers; a router Deployment's replicas, or its autoscaler's minimum).
 *
 * Which stacks are production: the HybridInference component's `environment` when it
 * exposes one (see residency.ts for the shape), else the stack name from the URNs; either
 * is compared with `prodEnvironments` (policy config, default ["prod", "production"]), a
 * name also matching with a suffix after `-` or `_` (`prod-k8s`, `prod_eu`).
 * LiteLLM fallbacks: `router_settings.fallbacks` (or `litellm_settings.fallbacks`), a list
 * of `{ <model group>: [<fallback groups>] }` (docs.litellm.ai, "Fallbacks").
 */
import { parse } from "yaml";
import { K8S_CONFIGMAP_TYPE, autoscalerFloor, configMapFiles, isK8sEngine, isK8sRouter, isWorkload, k8sName, replicasOf } from "../kubernetes";
import {
  type ResourceView, type RuleResult, type Violation, asArray, asRecord, asString,
  containerName, isEngineContainer, isHybridComponent, isRecord, isRouterContainer, routerConfigs, stackOf,
} from "../view";

export interface ProdResilienceConfig {
  /** Environment (or stack) names that count as production. */
  readonly prodEnvironments: readonly string[];
  /** The fewest engine hosts, or router replicas, a production stack may run. */
  readonly minHostsOrReplicas: number;
}

export const DEFAULT_PROD_RESILIENCE: ProdResilienceConfig = { prodEnvironments: ["prod", "production"], minHostsOrReplicas: 2 };

export const FRONTIER_GROUP = "frontier";

/** The stack's environment: the component's `environment` input, else the stack name. */
export function environmentOf(resources: readonly ResourceView[]): string | undefined {
  for (const r of resources) {
    if (!isHybridComponent(r.type)) continue;
    const env = asString(r.props["environment"]);
    if (env !== undefined) return env;
  }
  for (const r of resources) {
    const stack = stackOf(r.urn);
    if (stack !== undefined) return stack;
  }
  return undefined;
}

/** Whether a LiteLLM config has a `frontier` model group that a fallback list names. */
export function hasFrontierFallback(configYaml: string): boolean {
  let doc: unknown;
  try {
    doc = parse(configYaml);
  } catch {
    return false;
  }
  const config = asRecord(doc);
  const groups = (asArray(config?.["model_list"]) ?? []).map((m) => asString(asRecord(m)?.["model_name"]));
  if (!groups.includes(FRONTIER_GROUP)) return false;
  const fallbackLists = ["router_settings", "litellm_settings"].flatMap((section) => asArray(asRecord(config?.[section])?.["fallbacks"]) ?? []);
  return fallbackLists.some((entry) => isRecord(entry) && Object.values(entry).some((targets) => (asArray(targets) ?? []).includes(FRONTIER_GROUP)));
}

interface RouterConfig {
  readonly owner: ResourceView;
  readonly content: string;
}

/** LiteLLM configs: uploaded into a router container, or carried by a ConfigMap (a YAML file with a model_list). */
export function routerConfigsOf(resources: readonly ResourceView[]): RouterConfig[] {
  return resources.flatMap((r) => [
    ...routerConfigs(r).map((content) => ({ owner: r, content })),
    ...configMapFiles(r)
      .filter(({ key, content }) => /\.ya?ml$/.test(key) && /^model_list:/m.test(content))
      .map(({ content }) => ({ owner: r, content })),
  ]);
}

/** Router replicas: router containers, plus each router workload's replicas raised to its autoscaler's floor. */
export function routerReplicas(resources: readonly ResourceView[]): number {
  const floors = new Map(resources.flatMap((r) => {
    const f = autoscalerFloor(r);
    return f ? [[f.target, f.minReplicas] as const] : [];
  }));
  const k8s = resources.filter((r) => isWorkload(r) && isK8sRouter(r))
    .reduce((n, r) => n + Math.max(replicasOf(r) ?? 0, floors.get(k8sName(r)) ?? 0), 0);
  return resources.filter(isRouterContainer).length + k8s;
}

/** Engines: engine containers (one per host), plus the replicas of each engine workload. */
export function engineCount(resources: readonly ResourceView[]): number {
  const k8s = resources.filter((r) => isWorkload(r) && isK8sEngine(r)).reduce((n, r) => n + (replicasOf(r) ?? 0), 0);
  return resources.filter(isEngineContainer).length + k8s;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function isProduction(environment: string, prodEnvironments: readonly string[]): boolean {
  return prodEnvironments.some((p) => environment === p || environment.startsWith(`${p}-`) || environment.startsWith(`${p}_`));
}

export function checkProdResilience(resources: readonly ResourceView[], config: ProdResilienceConfig = DEFAULT_PROD_RESILIENCE): RuleResult {
  const environment = environmentOf(resources);
  if (environment === undefined || !isProduction(environment, config.prodEnvironments)) {
    return { notApplicable: `stack environment ${JSON.stringify(environment ?? "(unknown)")} is not production (${config.prodEnvironments.join(", ")})` };
  }
  const violations: Violation[] = [];
  const configs = routerConfigsOf(resources);
  const routers = routerReplicas(resources);
  const hasRouter = routers > 0 || resources.some((r) => isWorkload(r) && isK8sRouter(r));
  if (!hasRouter && configs.length === 0) {
    violations.push({ message: `${environment} has no LiteLLM router (a container with /app/config.yaml, or a router workload), so it has no frontier fallback` });
  }
  const byOwner = new Map<ResourceView, string[]>();
  for (const c of configs) byOwner.set(c.owner, [...(byOwner.get(c.owner) ?? []), c.content]);
  for (const [owner, contents] of byOwner) {
    if (contents.some(hasFrontierFallback)) continue;
    const what = owner.type === K8S_CONFIGMAP_TYPE ? `router config "${k8sName(owner)}"` : `router "${containerName(owner)}"`;
    violations.push({
      message: `${environment} ${what} has no frontier fallback: its LiteLLM config has no "${FRONTIER_GROUP}" model group in its fallbacks, ` +
        "so nothing answers when the hosts and the managed tier are down: add router.frontier to the stack file",
      urn: owner.urn,
    });
  }
  // An upload whose content is unknown (preview) is checked at update time; a router with no config at all is not.
  if (hasRouter && configs.length === 0 && !resources.some((r) => isRouterContainer(r))) {
    violations.push({ message: `${environment} has a router but no LiteLLM config to show a frontier fallback` });
  }
  const engines = engineCount(resources);
  if (engines < config.minHostsOrReplicas && routers < config.minHostsOrReplicas) {
    violations.push({
      message: `${environment} runs ${plural(engines, "engine")} and ${plural(routers, "router replica")}: ` +
        `it needs at least ${config.minHostsOrReplicas} of either, so that one failure does not take it down`,
    });
  }
  return violations;
}
