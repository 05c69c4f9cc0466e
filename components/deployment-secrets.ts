import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SecretSource } from "../core/render/containers";

/**
 * The secrets a deployment makes for itself (the router's master key, the engine's API key)
 * and the resolver every container spec's `SecretSource` goes through, shared by the Docker
 * and Kubernetes targets. Every value it returns is a Pulumi secret.
 */
export class DeploymentSecrets {
  /** The router's master key, `sk-` + 48 random characters. */
  public readonly masterKey: pulumi.Output<string>;
  public readonly engineKey: pulumi.Output<string>;

  constructor(name: string, private readonly configSecret: (configKey: string) => pulumi.Output<string>, parent: pulumi.Resource) {
    const master = new random.RandomPassword(`${name}-master-key`, { length: 48, special: false }, { parent });
    const engine = new random.RandomPassword(`${name}-engine-key`, { length: 48, special: false }, { parent });
    this.masterKey = pulumi.secret(pulumi.interpolate`sk-${master.result}`);
    this.engineKey = pulumi.secret(engine.result);
  }

  readonly resolve = (source: SecretSource): pulumi.Output<string> => {
    switch (source.kind) {
      case "config":
        return pulumi.secret(this.configSecret(source.configKey));
      case "engine-api-key":
        return this.engineKey;
      case "router-master-key":
        return this.masterKey;
      default: {
        const unreachable: never = source;
        throw new Error(`unknown secret source ${JSON.stringify(unreachable)}`);
      }
    }
  };
}
