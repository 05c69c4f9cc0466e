import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DeploymentPlan } from "../core/plan/types";
import { type DockerMonitoring, renderDockerMonitoring } from "../core/render/monitoring/docker";
import { type SecretResolver, specContainer } from "./container";

export interface MonitoringArgs {
  /** The plan of a `target: docker` stack. */
  readonly plan: DeploymentPlan;
  /** The stack host whose monitoring containers this component runs. */
  readonly host: string;
  /** The private Docker network on that host (the router's and engine's). */
  readonly network: pulumi.Input<string>;
  readonly secrets: SecretResolver;
  /** Default `renderDockerMonitoring(plan)`; null when the stack's monitoring is off. */
  readonly rendering?: DockerMonitoring | null;
}

/**
 * One host's part of the monitoring (core/render/monitoring/docker.ts): its node and GPU
 * exporters, and on the router host Prometheus (with Grafana, Alertmanager and the edge's
 * certificate probe when the stack has them). Creates nothing when the stack's monitoring is off.
 * Runs on the Docker provider of its parent's host (pass `providers: { docker }`).
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly containers: readonly docker.Container[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:monitoring:Monitoring", name, {}, opts);
    const rendering = args.rendering === undefined ? renderDockerMonitoring(args.plan) : args.rendering;
    const specs = rendering?.hosts.find((h) => h.host === args.host)?.containers ?? [];
    this.containers = specs.map((spec) => specContainer(`${name}-${spec.name}`, { spec, network: args.network, secrets: args.secrets }, this));
    this.registerOutputs({});
  }
}
