/**
 * The router as it ships: LiteLLM's config (litellm-config.ts) with the router extension's
 * changes applied (router-extension.ts), and the extension that the router container
 * carries beside it. Computed once here; both targets (core/render/docker.ts,
 * core/render/kubernetes/workloads.ts) and the router tests render the router from it.
 */
import type { DeploymentPlan } from "../plan/types";
import { type LiteLlmConfig, type UpstreamOverrides, litellmConfig, litellmConfigYaml } from "./litellm-config";
import { type RouterExtension, routerExtension, routerExtensionInput } from "./router-extension";

export interface RouterRendering {
  /** The LiteLLM config the proxy runs, extension applied. */
  readonly config: LiteLlmConfig;
  /** `config` as the file the container gets. */
  readonly yaml: string;
  /** The extension's package, settings, env, arguments and state volume. */
  readonly extension: RouterExtension;
}

/** `overrides` aim the upstreams elsewhere (tests: stubs on 127.0.0.1); deployed: none. */
export function renderRouter(plan: DeploymentPlan, overrides: UpstreamOverrides = {}): RouterRendering {
  const extension = routerExtension(routerExtensionInput(plan, {}, overrides));
  const config = extension.apply(litellmConfig(plan, overrides));
  return { config, yaml: litellmConfigYaml(plan, config), extension };
}

/** The router's config file as deployed. */
export function renderLitellmConfig(plan: DeploymentPlan): string {
  return renderRouter(plan).yaml;
}
