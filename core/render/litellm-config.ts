/**
 * The LiteLLM proxy config, from the plan. Keys as documented at
 * https://docs.litellm.ai/docs/proxy/configs and checked against the pinned version's
 * source (litellm 1.108.7: litellm/router.py, litellm/router_strategy/tag_based_routing.py,
 * litellm/router_strategy/simple_shuffle.py, litellm/router_utils/cooldown_handlers.py,
 * litellm/proxy/proxy_server.py). test/router/*.test.ts runs the real proxy on this config
 * for the shipped stacks and proves each rule below.
 *
 * Routing design:
 *  - `<served model>`: the group clients call. It holds
 *      - one deployment per host's engine (`hosted_vllm/`), tagged `default`, `order: 1`,
 *        with the capacity planner's rpm. LiteLLM enforces `rpm` only through
 *        `enable_pre_call_checks` (Router._pre_call_checks compares it with a count of the
 *        requests sent to the deployment in the last 60 s, Router._update_usage), and each
 *        worker process keeps its own count, so the rendered rpm is the upstream's planned
 *        rpm divided among the router's processes (`--num_workers` x router instances:
 *        EngineUpstream.rpmPerProcess). `tpm` is rendered the same way but only weighs the
 *        shuffle: simple-shuffle does not enforce it;
 *      - the managed provider serving the same open weights, tagged `default`, `order: 2`.
 *        LiteLLM picks the lowest `order` among the deployments left after cooldown, rpm
 *        and context checks (utils.get_order_filtered_deployments), so traffic above the
 *        engines' rpm, and traffic while every engine is cooling down, goes straight to
 *        the managed tier; a request an engine failed (after its retries) goes there next
 *        (order-based fallback, Router.async_function_with_fallbacks);
 *      - the first frontier API tagged with the hard tag, so a request tagged `hard`
 *        (`"tags": ["hard"]` or header `x-litellm-tags: hard`) goes straight there
 *        (`enable_tag_filtering`), and on to the other frontier APIs if it fails.
 *    Why the managed tier sits inside the group and not only behind `fallbacks`: LiteLLM
 *    filters out cooled-down, full (rpm) and too-small (context) deployments before it
 *    filters by tag, and an untagged request then gets every deployment left when no
 *    `default` one is (tag_based_routing.get_deployments_for_tag). With only engines and
 *    the hard deployment in the group, a full or cooling engine sent all untagged traffic
 *    to the hard frontier deployment, skipping the managed tier. Now an untagged request
 *    reaches the hard deployment only when engines and managed tier are all unavailable,
 *    and then it is the next tier anyway (as it is when the stack has no managed tier).
 *  - context: the engines and the managed tier in a self-hosted group declare the
 *    engine's context as `max_input_tokens`, so the pre-call check refuses them a longer
 *    prompt before any call. In the served model's group the hard frontier deployment is
 *    then the only one left and takes it (the rule above); in an adapter's group nothing
 *    is left, so ContextWindowExceededError takes `context_window_fallbacks` to frontier.
 *    Without a frontier tier such a prompt is refused (400, context window exceeded).
 *    The hard deployment declares no cap: LiteLLM also writes a deployment's
 *    `max_input_tokens` under its backend model's shared cost-map key
 *    (Router._register_deployment_in_model_cost), so a cap there would cap the `frontier`
 *    group's deployment of the same model too, and long prompts would skip it. For the
 *    same reason the `-managed` group's deployment declares the model's own context.
 *  - `<served model>-managed`: the managed provider alone; the adapters fall back to it.
 *  - `frontier`, `frontier-2`, ...: frontier APIs in the stack's order.
 *  - each adapter: its own name, served by the engines (`order`, rpm and context as
 *    above), falling back to the managed tier's base model, then frontier. Adapters are
 *    not hard-tag routed: a fine-tune's callers asked for the fine-tune.
 *  - `fallbacks` run after a group's retries: served model -> frontier (the managed tier
 *    already ran as `order: 2`), adapters -> managed -> frontier, managed -> frontier,
 *    frontier -> frontier-2 -> ...
 *  - cooldown: `allowed_fails_policy` applies the plan's `allowed_fails` to every
 *    server-side error type: a deployment that fails more often than that within
 *    `cooldown_time` leaves the rotation for `cooldown_time`. Without a policy, an
 *    `allowed_fails` equal to LiteLLM's default (3, also ours) is ignored in favour of a
 *    failure-rate rule under which a group's only deployment (an adapter on one host)
 *    never cools down, so every request paid for the dead engine again
 *    (cooldown_handlers._should_cooldown_deployment, _is_allowed_fails_set_on_router).
 * Credentials are only ever `os.environ/NAME` references: the file holds no secret.
 */
import { stringify } from "yaml";
import { FRONTIER_MODEL_NAME, ROUTER_ENGINE_KEY_ENV, ROUTER_MASTER_KEY_ENV } from "../plan/env";
import type { ApiTierPlan, DeploymentPlan, EngineUpstream } from "../plan/types";
import { routerMetricsSettings } from "./monitoring/router-metrics";
import { loraxDeploymentParams } from "./lorax";

export interface LiteLlmDeployment {
  model_name: string;
  litellm_params: Record<string, unknown> & { model: string; api_base?: string; api_key?: string };
  model_info: Record<string, unknown> & { id: string };
}

export interface LiteLlmConfig {
  model_list: LiteLlmDeployment[];
  router_settings: Record<string, unknown>;
  litellm_settings: Record<string, unknown>;
  general_settings: Record<string, unknown>;
}

/** Optional redirection of each upstream, used by the tests to aim the real proxy at stubs. */
export interface UpstreamOverrides {
  /** upstream name (host or engine group) -> api_base for that engine. */
  readonly engines?: Readonly<Record<string, string>>;
  readonly managed?: string;
  /** index in plan.router.frontier -> api_base. */
  readonly frontier?: readonly string[];
}

export const DEFAULT_TAG = "default";
/** `order` of the engines in a self-hosted group; the managed tier comes next. */
export const ENGINE_ORDER = 1;
export const MANAGED_ORDER = 2;

export function managedGroupName(servedModelName: string): string {
  return `${servedModelName}-managed`;
}

export function frontierGroupName(index: number): string {
  return index === 0 ? FRONTIER_MODEL_NAME : `${FRONTIER_MODEL_NAME}-${index + 1}`;
}

/** `model_info.id` of each deployment: what the proxy returns as `x-litellm-model-id`. */
export const deploymentIds = {
  engine: (modelName: string, hostName: string): string => `${modelName}@${hostName}`,
  /** The managed tier inside the served model's group (`order: 2`). */
  overflow: (servedModelName: string, provider: string): string => `${servedModelName}@${provider}`,
  hard: (servedModelName: string, hardTag: string): string => `${servedModelName}@${hardTag}`,
  managed: (servedModelName: string, provider: string): string => `${managedGroupName(servedModelName)}@${provider}`,
  frontier: (index: number, provider: string): string => `${frontierGroupName(index)}@${provider}`,
} as const;

/** The error types (litellm exceptions) a deployment is cooled down for after `allowed_fails`. */
const SERVER_SIDE_FAILURES = [
  "TimeoutErrorAllowedFails",
  "RateLimitErrorAllowedFails",
  "InternalServerErrorAllowedFails",
  "ServiceUnavailableErrorAllowedFails",
  "BadGatewayErrorAllowedFails",
] as const;

const env = (name: string): string => `os.environ/${name}`;

/** LiteLLM's own part of the router config; the router ships it with the extension applied (router-config.ts). */
export function litellmConfig(plan: DeploymentPlan, overrides: UpstreamOverrides = {}): LiteLlmConfig {
  const { engine, router } = plan;
  const served = engine.servedModelName;
  const timeouts = { timeout: router.requestTimeoutS, stream_timeout: router.requestTimeoutS };
  /** Only prompts the engine can take stay in a self-hosted group. */
  const engineContext = { max_input_tokens: engine.maxModelLen };

  const engineDeployment = (upstream: EngineUpstream, modelName: string, engineModel: string): LiteLlmDeployment => ({
    model_name: modelName,
    litellm_params: {
      // LoRAX takes the base model's repo id, or an adapter's id and source (core/render/lorax.ts).
      ...(engine.kind === "lorax" ? loraxDeploymentParams(engine, modelName) : { model: `hosted_vllm/${engineModel}` }),
      api_base: overrides.engines?.[upstream.name] ?? upstream.apiBase,
      api_key: env(ROUTER_ENGINE_KEY_ENV),
      // Each router process enforces its share (core/plan/router.ts, perProcess).
      rpm: upstream.rpmPerProcess,
      tpm: upstream.tpmPerProcess,
      order: ENGINE_ORDER,
      tags: [DEFAULT_TAG],
      ...timeouts,
    },
    model_info: { id: deploymentIds.engine(modelName, upstream.name), ...engineContext },
  });

  const apiDeployment = (
    modelName: string,
    tier: ApiTierPlan,
    apiBase: string | undefined,
    routing: { tags: string[]; order?: number },
    modelInfo: { id: string; max_input_tokens?: number },
  ): LiteLlmDeployment => ({
    model_name: modelName,
    litellm_params: {
      model: tier.litellmModel,
      api_key: env(tier.apiKeyEnv),
      ...(apiBase ? { api_base: apiBase } : {}),
      ...(routing.order !== undefined ? { order: routing.order } : {}),
      tags: routing.tags,
      ...timeouts,
    },
    model_info: modelInfo,
  });

  const managed = router.managed;
  const hard = router.frontier[0];
  const modelList: LiteLlmDeployment[] = [];
  for (const upstream of router.upstreams) modelList.push(engineDeployment(upstream, served, served));
  if (managed) {
    modelList.push(apiDeployment(served, managed, overrides.managed, { tags: [DEFAULT_TAG], order: MANAGED_ORDER },
      { id: deploymentIds.overflow(served, managed.provider), ...engineContext }));
  }
  if (hard) {
    modelList.push(apiDeployment(served, hard, overrides.frontier?.[0], { tags: [router.hardTag] },
      { id: deploymentIds.hard(served, router.hardTag) }));
  }
  const adapters = engine.lora?.adapters.map((a) => a.name) ?? [];
  for (const adapter of adapters) {
    for (const upstream of router.upstreams) modelList.push(engineDeployment(upstream, adapter, adapter));
  }
  if (managed) {
    modelList.push(apiDeployment(managedGroupName(served), managed, overrides.managed, { tags: [DEFAULT_TAG] },
      { id: deploymentIds.managed(served, managed.provider), max_input_tokens: plan.model.maxContext }));
  }
  router.frontier.forEach((tier, i) => {
    modelList.push(apiDeployment(frontierGroupName(i), tier, overrides.frontier?.[i], { tags: [DEFAULT_TAG] },
      { id: deploymentIds.frontier(i, tier.provider) }));
  });

  const frontierGroups = router.frontier.map((_, i) => frontierGroupName(i));
  const fallbacks: Record<string, string[]>[] = [];
  if (frontierGroups.length > 0) fallbacks.push({ [served]: frontierGroups });
  const adapterChain = [...(managed ? [managedGroupName(served)] : []), ...frontierGroups];
  if (adapterChain.length > 0) for (const adapter of adapters) fallbacks.push({ [adapter]: adapterChain });
  if (managed && frontierGroups.length > 0) fallbacks.push({ [managedGroupName(served)]: frontierGroups });
  if (frontierGroups.length > 1) fallbacks.push({ [frontierGroups[0]!]: frontierGroups.slice(1) });
  const selfHostedGroups = [served, ...adapters];

  return {
    model_list: modelList,
    router_settings: {
      // Picks among the lowest-order deployments left, weighted by rpm: hosts share
      // traffic by planned capacity.
      routing_strategy: "simple-shuffle",
      enable_tag_filtering: true,
      // Enforces rpm and max_input_tokens before each call (Router._pre_call_checks).
      enable_pre_call_checks: true,
      num_retries: router.numRetries,
      timeout: router.requestTimeoutS,
      allowed_fails: router.allowedFails,
      allowed_fails_policy: Object.fromEntries(SERVER_SIDE_FAILURES.map((k) => [k, router.allowedFails])),
      cooldown_time: router.cooldownTimeS,
      fallbacks,
      context_window_fallbacks: frontierGroups.length > 0 ? selfHostedGroups.map((g) => ({ [g]: frontierGroups })) : [],
    },
    litellm_settings: {
      // Drop OpenAI parameters a provider does not take instead of failing the request.
      drop_params: true,
      // Prompts and completions stay out of the router's logs and callbacks.
      turn_off_message_logging: true,
      ...routerMetricsSettings(plan),
    },
    general_settings: {
      master_key: env(ROUTER_MASTER_KEY_ENV),
    },
  };
}

/** A config as the router's file. The shipped config is router-config.ts's `renderRouter`: this one with the router extension applied. */
export function litellmConfigYaml(plan: DeploymentPlan, config: LiteLlmConfig): string {
  return `# Rendered by hybrid-inference for stack "${plan.spec.stack}". Do not edit: change the stack file.\n${stringify(config, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
