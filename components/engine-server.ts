import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerSpec } from "../core/render/containers";
import { type SecretResolver, specContainer } from "./container";

export interface EngineServerArgs {
  /** From `engineContainer(plan, host, weightsGB)`: image, argv, GPUs, mounts, health check. */
  readonly spec: ContainerSpec;
  /** Private Docker network the router reaches the engine on. */
  readonly network: pulumi.Input<string>;
  readonly secrets: SecretResolver;
}

/** Shared body of the two engine components; the type token tells them apart in state. */
abstract class EngineServer extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  public readonly containerName: pulumi.Output<string>;

  protected constructor(type: string, name: string, args: EngineServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    this.container = specContainer(`${name}-container`, args, this);
    this.containerName = this.container.name;
    this.registerOutputs({ containerName: this.containerName });
  }
}

/** vLLM's OpenAI-compatible server on a GPU host's Docker, with no public port. */
export class VllmServer extends EngineServer {
  constructor(name: string, args: EngineServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:engine:VllmServer", name, args, opts);
  }
}

/** LoRAX on a GPU host's Docker (Ampere and Ada only; the planner refuses other cards). */
export class LoraxServer extends EngineServer {
  constructor(name: string, args: EngineServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:engine:LoraxServer", name, args, opts);
  }
}
