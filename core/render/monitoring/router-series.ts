/**
 * Which LiteLLM deployment ids belong to which tier, read off the router config the plan renders
 * (core/render/litellm-config.ts), so the router's per-deployment series can be summed per tier
 * and the spill-over share computed without guessing from provider names (LoRAX engines and the
 * OpenAI frontier tier both use the `openai/` prefix).
 */
import type { DeploymentPlan } from "../../plan/types";
import { deploymentIds, frontierGroupName, litellmConfig, managedGroupName } from "../litellm-config";

export interface RouterTiers {
  /** Deployments on our engines (every host or engine group, for the served model and each adapter). */
  readonly selfHosted: readonly string[];
  /** The managed tier inside the served model's group (`order: 2`): spill-over by rate limit or failure. */
  readonly overflow: readonly string[];
  /** Other managed deployments (the adapters' fallback group). */
  readonly managed: readonly string[];
  /** Frontier deployments: the hard-tag route and every frontier group. */
  readonly frontier: readonly string[];
  /** The hard-tag route: a choice of the client, not spill-over. */
  readonly hard: string | null;
  /** Model groups clients send self-hosted traffic to: the served model and each adapter. */
  readonly selfHostedGroups: readonly string[];
  /** Groups a self-hosted request falls back into: the managed group and the frontier groups. */
  readonly fallbackGroups: readonly string[];
}

export function routerTiers(plan: DeploymentPlan): RouterTiers {
  const served = plan.engine.servedModelName;
  const ids = litellmConfig(plan).model_list.map((d) => ({ id: d.model_info.id, model: d.litellm_params.model, group: d.model_name }));
  const managed = plan.router.managed;
  const overflowId = managed ? deploymentIds.overflow(served, managed.provider) : null;
  const hardId = plan.router.frontier[0] ? deploymentIds.hard(served, plan.router.hardTag) : null;
  const frontierGroups = plan.router.frontier.map((_, i) => frontierGroupName(i));
  const managedGroup = managed ? managedGroupName(served) : null;
  const adapters = plan.engine.lora?.adapters.map((a) => a.name) ?? [];
  const selfHostedGroups = [served, ...adapters];
  const engineIds = new Set(plan.router.upstreams.flatMap((u) => selfHostedGroups.map((g) => deploymentIds.engine(g, u.name))));
  return {
    selfHosted: ids.filter((d) => engineIds.has(d.id)).map((d) => d.id),
    overflow: overflowId ? [overflowId] : [],
    managed: ids.filter((d) => managedGroup !== null && d.group === managedGroup).map((d) => d.id),
    frontier: ids.filter((d) => d.id === hardId || frontierGroups.includes(d.group)).map((d) => d.id),
    hard: hardId,
    selfHostedGroups,
    fallbackGroups: [...(managedGroup ? [managedGroup] : []), ...frontierGroups],
  };
}

/** A PromQL regex matching exactly these label values (escaped, anchored by PromQL itself). */
export function exactly(values: readonly string[]): string {
  return values.map((v) => v.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\\\${c}`)).join("|");
}
