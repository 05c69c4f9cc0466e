/**
 * The LiteLLM proxy config, from the plan. Keys as documented at
 * https://docs.litellm.ai/docs/proxy/configs and checked against the pinned version's
 * source (litellm/router.py, litellm/proxy/proxy_server.py).
 *
 * Routing design:
 *  - `<served model>`: one deployment per host's engine (`hosted_vllm/`), tagged
 *    `default`, with rpm/tpm from the capacity planner: LiteLLM stops sending a
 *    deployment traffic above its limits, and when every engine is at its limit or
 *    failing the request falls back to the managed tier, then to frontier.
 *    The same group holds the first frontier deployment tagged with the hard tag, so a
 *    request tagged `hard` goes straight there (`enable_tag_filtering`).
 *  - `<served model>-managed`: the managed provider serving the same open weights.
 *  - `frontier`, `frontier-2`, ...: frontier APIs in the stack's order.
 *  - each adapter: its own name, served by the engines, falling back like the base model.
 *  - `context_window_fallbacks`: prompts longer than the engine's context go to frontier
 *    (enforced before the call with `enable_pre_call_checks` and `max_input_tokens`).
 * Credentials are only ever `os.environ/NAME` references: the file holds no secret.
 */
import { stringify } from "yaml";
import { FRONTIER_MODEL_NAME, ROUTER_ENGINE_KEY_ENV, ROUTER_MASTER_KEY_ENV } from "../plan/plan";
import type { ApiTierPlan, DeploymentPlan, HostPlan } from "../plan/types";

export interface LiteLlmDeployment {
  model_name: string;
  litellm_params: Record<string, unknown>;
  model_info: Record<string, unknown>;
}

export interface LiteLlmConfig {
  model_list: LiteLlmDeployment[];
  router_settings: Record<string, unknown>;
  litellm_settings: Record<string, unknown>;
  general_settings: Record<string, unknown>;
}

/** Optional redirection of each upstream, used by the tests to aim the real proxy at stubs. */
export interface UpstreamOverrides {
  /** host name -> api_base for that host's engine. */
  readonly engines?: Readonly<Record<string, string>>;
  readonly managed?: string;
  /** index in plan.router.frontier -> api_base. */
  readonly frontier?: readonly string[];
}

export const DEFAULT_TAG = "default";

export function managedGroupName(servedModelName: string): string {
  return `${servedModelName}-managed`;
}

export function frontierGroupName(index: number): string {
  return index === 0 ? FRONTIER_MODEL_NAME : `${FRONTIER_MODEL_NAME}-${index + 1}`;
}

const env = (name: string): string => `os.environ/${name}`;

export function litellmConfig(plan: DeploymentPlan, overrides: UpstreamOverrides = {}): LiteLlmConfig {
  const { engine, router } = plan;
  const served = engine.servedModelName;
  const timeouts = { timeout: router.requestTimeoutS, stream_timeout: router.requestTimeoutS };

  const engineDeployment = (host: HostPlan, modelName: string, engineModel: string): LiteLlmDeployment => ({
    model_name: modelName,
    litellm_params: {
      model: `hosted_vllm/${engineModel}`,
      api_base: overrides.engines?.[host.name] ?? host.endpoint.apiBase,
      api_key: env(ROUTER_ENGINE_KEY_ENV),
      rpm: host.capacity.routerRpm,
      tpm: host.capacity.routerTpm,
      tags: [DEFAULT_TAG],
      ...timeouts,
    },
    model_info: { id: `${modelName}@${host.name}`, max_input_tokens: engine.maxModelLen },
  });

  const apiDeployment = (modelName: string, tier: ApiTierPlan, apiBase: string | undefined, tags: string[], id: string): LiteLlmDeployment => ({
    model_name: modelName,
    litellm_params: {
      model: tier.litellmModel,
      api_key: env(tier.apiKeyEnv),
      ...(apiBase ? { api_base: apiBase } : {}),
      tags,
      ...timeouts,
    },
    model_info: { id },
  });

  const modelList: LiteLlmDeployment[] = [];
  for (const host of plan.hosts) modelList.push(engineDeployment(host, served, served));
  const hard = router.frontier[0];
  if (hard) {
    modelList.push(apiDeployment(served, hard, overrides.frontier?.[0], [router.hardTag], `${served}@${router.hardTag}`));
  }
  for (const adapter of engine.lora?.adapters ?? []) {
    for (const host of plan.hosts) modelList.push(engineDeployment(host, adapter.name, adapter.name));
  }
  const managed = router.managed;
  if (managed) {
    modelList.push(apiDeployment(managedGroupName(served), managed, overrides.managed, [DEFAULT_TAG], `${managedGroupName(served)}@${managed.provider}`));
  }
  router.frontier.forEach((tier, i) => {
    modelList.push(apiDeployment(frontierGroupName(i), tier, overrides.frontier?.[i], [DEFAULT_TAG], `${frontierGroupName(i)}@${tier.provider}`));
  });

  const frontierGroups = router.frontier.map((_, i) => frontierGroupName(i));
  const chain = [...(managed ? [managedGroupName(served)] : []), ...frontierGroups];
  const fallbacks: Record<string, string[]>[] = [];
  const selfHostedGroups = [served, ...(engine.lora?.adapters.map((a) => a.name) ?? [])];
  if (chain.length > 0) for (const group of selfHostedGroups) fallbacks.push({ [group]: chain });
  if (managed && frontierGroups.length > 0) fallbacks.push({ [managedGroupName(served)]: frontierGroups });
  if (frontierGroups.length > 1) fallbacks.push({ [frontierGroups[0]!]: frontierGroups.slice(1) });

  return {
    model_list: modelList,
    router_settings: {
      // Weighted by each deployment's rpm: hosts share traffic by planned capacity.
      routing_strategy: "simple-shuffle",
      enable_tag_filtering: true,
      enable_pre_call_checks: true,
      num_retries: router.numRetries,
      timeout: router.requestTimeoutS,
      allowed_fails: router.allowedFails,
      cooldown_time: router.cooldownTimeS,
      fallbacks,
      context_window_fallbacks: frontierGroups.length > 0 ? selfHostedGroups.map((g) => ({ [g]: frontierGroups })) : [],
    },
    litellm_settings: {
      // Drop OpenAI parameters a provider does not take instead of failing the request.
      drop_params: true,
      // Prompts and completions stay out of the router's logs and callbacks.
      turn_off_message_logging: true,
    },
    general_settings: {
      master_key: env(ROUTER_MASTER_KEY_ENV),
    },
  };
}

export function renderLitellmConfig(plan: DeploymentPlan, overrides: UpstreamOverrides = {}): string {
  return `# Rendered by hybrid-inference for stack "${plan.spec.stack}". Do not edit: change the stack file.\n${stringify(litellmConfig(plan, overrides), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
