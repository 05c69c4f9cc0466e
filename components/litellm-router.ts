import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerSpec } from "../core/render/containers";
import { type SecretResolver, specContainer } from "./container";

export interface LiteLlmRouterArgs {
  /** From `routerContainer(plan, renderLitellmConfig(plan))`: the proxy with its config uploaded. */
  readonly router: ContainerSpec;
  /** From `edgeContainer(plan, target)`: Caddy terminating TLS in front of the router; null for none. */
  readonly edge: ContainerSpec | null;
  /** The private Docker network the router reaches the engines (and the edge the router) on. */
  readonly network: pulumi.Input<string>;
  readonly secrets: SecretResolver;
  /** Where clients reach it (core/plan/docker.ts `dockerRouterUrl`); only for the `url` output. */
  readonly url: pulumi.Input<string>;
  /** This component's name before child names were prefixed (v0.1.0), for aliases. */
  readonly legacyName?: string;
}

/**
 * The LiteLLM proxy, and with `router.tls` the Caddy edge in front of it: together they hold the
 * stack's only published ports (the router's, or the edge's 80 and 443).
 */
export class LiteLlmRouter extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  public readonly edge: docker.Container | undefined;
  /** The router's URL, known once the containers serving it exist. */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: LiteLlmRouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:router:LiteLlmRouter", name, {}, opts);
    const legacy = args.legacyName === undefined ? undefined : `${args.legacyName}-container`;
    this.container = specContainer(`${name}-container`, { spec: args.router, network: args.network, secrets: args.secrets }, this, [], legacy);
    this.edge = args.edge
      ? specContainer(`${name}-edge`, { spec: args.edge, network: args.network, secrets: args.secrets }, this, [this.container])
      : undefined;
    const serving = this.edge ?? this.container;
    this.url = pulumi.all([serving.id, args.url]).apply(([, url]) => url);
    this.registerOutputs({ url: this.url });
  }
}
