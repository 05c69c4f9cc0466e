import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerSpec } from "../core/render/containers";
import { type BootstrapStep, renderStepCommand } from "../core/render/host-bootstrap";
import { prefetchCommand } from "../core/render/prefetch";
import { type SecretResolver, specContainer } from "./container";
import { type Connection, remoteStep, withLegacyName } from "./remote-step";

/** Download the weights into the host cache before the container is replaced. */
export interface PrefetchArgs {
  /** From `prefetchStep(plan)` (core/render/prefetch.ts). */
  readonly step: BootstrapStep;
  /** The host's SSH connection (`GpuHost.connection`). */
  readonly connection: Connection;
  /** Hugging Face token for gated models, a Pulumi secret. */
  readonly hfToken?: pulumi.Output<string>;
}

export interface EngineServerArgs {
  /** From `engineContainer(plan, instance)`: image, argv, GPUs, mounts, health check. */
  readonly spec: ContainerSpec;
  /** Private Docker network the router reaches the engine on. */
  readonly network: pulumi.Input<string>;
  readonly secrets: SecretResolver;
  /** Prefetch the weights over SSH first; default: none (the engine downloads them at start). */
  readonly prefetch?: PrefetchArgs;
  /** This component's name before child names were prefixed (v0.1.0), for aliases. */
  readonly legacyName?: string;
}

/** Shared body of the two engine components; the type token tells them apart in state. */
abstract class EngineServer extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  public readonly containerName: pulumi.Output<string>;

  protected constructor(type: string, name: string, args: EngineServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    const legacy = (suffix: string): string | undefined => (args.legacyName === undefined ? undefined : `${args.legacyName}-${suffix}`);
    const prefetch = args.prefetch ? this.prefetch(name, args.prefetch, legacy("prefetch-weights")) : undefined;
    this.container = specContainer(`${name}-container`, args, this, prefetch ? [prefetch] : [], legacy("container"));
    this.containerName = this.container.name;
    this.registerOutputs({ containerName: this.containerName });
  }

  private prefetch(name: string, p: PrefetchArgs, legacyName: string | undefined): command.remote.Command {
    // The token is exported inside sudo's environment, never hashed into the trigger (core/render/prefetch.ts).
    const create = p.hfToken
      ? pulumi.secret(p.hfToken.apply((token) => prefetchCommand(p.step, token, renderStepCommand)))
      : prefetchCommand(p.step, undefined, renderStepCommand);
    // A new model, quantization, adapter list or engine image downloads again; nothing else does.
    return remoteStep(`${name}-prefetch-weights`, { step: p.step, connection: p.connection, create }, withLegacyName({ parent: this }, legacyName));
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
