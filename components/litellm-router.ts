import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerSpec } from "../core/render/containers";
import { type SecretResolver, specContainer } from "./container";

export interface LiteLlmRouterArgs {
  /** From `routerContainer(plan, renderLitellmConfig(plan))`. */
  readonly spec: ContainerSpec;
  readonly network: pulumi.Input<string>;
  readonly secrets: SecretResolver;
  /** Address clients use; only for the `url` output. */
  readonly publicAddress: string;
  readonly publicPort: number;
}

/** The LiteLLM proxy: the stack's one published port, its config uploaded into the container. */
export class LiteLlmRouter extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: LiteLlmRouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:router:LiteLlmRouter", name, {}, opts);
    this.container = specContainer(`${name}-container`, args, this);
    const host = args.publicAddress.includes(":") ? `[${args.publicAddress}]` : args.publicAddress;
    this.url = this.container.id.apply(() => `http://${host}:${args.publicPort}`);
    this.registerOutputs({ url: this.url });
  }
}
