import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerSpec } from "../core/render/containers";
import { type SecretResolver, specContainer } from "./container";

export interface TlsEdgeArgs {
  /** From `edgeContainer(plan)`: Caddy with the rendered Caddyfile, ports 80 and 443. */
  readonly spec: ContainerSpec;
  readonly network: pulumi.Input<string>;
  readonly secrets: SecretResolver;
  readonly domain: string;
}

/** HTTPS in front of the router: when present, it holds the stack's only published ports. */
export class TlsEdge extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: TlsEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:router:TlsEdge", name, {}, opts);
    this.container = specContainer(`${name}-container`, args, this);
    this.url = this.container.id.apply(() => `https://${args.domain}`);
    this.registerOutputs({ url: this.url });
  }
}
