import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerSpec } from "../core/render/containers";
import { type BootstrapStep, renderStepCommand } from "../core/render/host-bootstrap";
import { prefetchCommand } from "../core/render/prefetch";
import { type SecretResolver, specContainer } from "./container";

/** Download the weights into the host cache before the container is replaced. */
export interface PrefetchArgs {
  readonly step: BootstrapStep;
  readonly connection: command.types.input.remote.ConnectionArgs;
  readonly hfToken?: pulumi.Output<string>;
}

export interface EngineServerArgs {
  /** From `engineContainer(plan, host, weightsGB)`: image, argv, GPUs, mounts, health check. */
  readonly spec: ContainerSpec;
  /** Private Docker network the router reaches the engine on. */
  readonly network: pulumi.Input<string>;
  readonly secrets: SecretResolver;
  readonly prefetch?: PrefetchArgs;
}

/** Shared body of the two engine components; the type token tells them apart in state. */
abstract class EngineServer extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  public readonly containerName: pulumi.Output<string>;

  protected constructor(type: string, name: string, args: EngineServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    const prefetch = args.prefetch ? this.prefetch(name, args.prefetch) : undefined;
    this.container = specContainer(`${name}-container`, args, this, prefetch ? [prefetch] : []);
    this.containerName = this.container.name;
    this.registerOutputs({ containerName: this.containerName });
  }

  private prefetch(name: string, p: PrefetchArgs): command.remote.Command {
    const create = p.hfToken
      ? pulumi.secret(p.hfToken.apply((token) => prefetchCommand(p.step, token, renderStepCommand)))
      : prefetchCommand(p.step, undefined, renderStepCommand);
    return new command.remote.Command(`${name}-prefetch-weights`, {
      connection: p.connection,
      create,
      stdin: p.step.script,
      // A new model, quantization, adapter list or engine image downloads again; nothing else does.
      triggers: [p.step.sha256],
      logging: "stdoutAndStderr",
    }, { parent: this });
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
