import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerPart, dockerRouterUrl } from "../core/plan/docker";
import { policyFacts } from "../core/plan/policy-facts";
import type { DeploymentPlan } from "../core/plan/types";
import type { SecretSource } from "../core/render/containers";
import { type DockerHostRendering, type DockerRendering, renderDockerTarget } from "../core/render/docker";
import type { BenchmarkFile } from "../core/render/benchmark";
import type { GpuInventory } from "../core/render/host-bootstrap";
import { EngineBenchmark } from "./benchmark";
import { DeploymentSecrets } from "./deployment-secrets";
import { LoraxServer, VllmServer } from "./engine-server";
import { GpuHost } from "./gpu-host";
import { LiteLlmRouter } from "./litellm-router";
import { withLegacyName } from "./remote-step";
import { sshKeyFile } from "./ssh-key-file";

export interface HybridInferenceArgs {
  /** The validated plan of a `target: docker` stack: `loadPlan(raw).plan`. */
  readonly plan: DeploymentPlan;
  /** Reads a secret config key (without the project prefix) as a Pulumi secret. */
  readonly secret: (configKey: string) => pulumi.Output<string>;
  /** The plan rendered for the docker target; default `renderDockerTarget(plan)` (the program passes `renderTarget(plan)`'s). */
  readonly rendering?: DockerRendering;
}

/**
 * The whole Docker-target deployment: every GPU host bootstrapped and verified, an engine
 * on each, and the LiteLLM router on the first host in front of them all. With the stack's
 * `workloads: false`, the hosts only. Children are named `<name>-<host>-…`, so two deployments
 * can share one program.
 */
export class HybridInference extends pulumi.ComponentResource {
  /** Where clients send requests; undefined when the stack deploys no workloads. */
  public readonly routerUrl: pulumi.Output<string | undefined>;
  public readonly modelNames: pulumi.Output<string[]>;
  public readonly inventory: pulumi.Output<Record<string, GpuInventory>>;
  /** The router's master key (`sk-...`): a Pulumi secret. */
  public readonly masterKey: pulumi.Output<string>;
  /** What the post-deploy benchmark measured, by host (`benchmark.enabled`); `npm run calibrate --from` reads it. */
  public readonly measuredCapacity: pulumi.Output<Record<string, BenchmarkFile>>;

  private readonly secrets: (source: SecretSource) => pulumi.Output<string>;
  private readonly engineKey: pulumi.Output<string>;
  private readonly measured: Record<string, pulumi.Output<BenchmarkFile | undefined>> = {};

  constructor(name: string, private readonly args: HybridInferenceArgs, opts?: pulumi.ComponentResourceOptions) {
    // Plain facts for policy packs (UK residency, prod resilience).
    const facts = policyFacts(args.plan);
    super("hybrid:index:HybridInference", name, facts, opts);
    const { plan } = args;
    const rendering = args.rendering ?? renderDockerTarget(plan);

    const deploymentSecrets = new DeploymentSecrets(name, args.secret, this);
    this.masterKey = deploymentSecrets.masterKey;
    this.secrets = deploymentSecrets.resolve;
    this.engineKey = deploymentSecrets.engineKey;

    const privateKey = args.secret(plan.spec.access.ssh_private_key_secret);
    const keyFile = sshKeyFile(plan.spec.stack, privateKey);
    const inventories: Record<string, pulumi.Output<GpuInventory>> = {};
    let url: pulumi.Output<string> | undefined;
    for (const h of rendering.hosts) {
      const address = h.host.address;
      const gpuHost = new GpuHost(`${name}-${h.host.name}`, {
        address, sshPort: h.host.sshPort, sshUser: h.host.sshUser, privateKey, privateKeyFile: keyFile,
        steps: h.steps, rebootWait: h.rebootWait, legacyName: h.host.name,
      }, withLegacyName({ parent: this }, h.host.name));
      inventories[h.host.name] = gpuHost.inventory;
      if (plan.spec.workloads) url = this.workloadsOn(name, rendering, h, gpuHost, keyFile) ?? url;
    }

    this.routerUrl = url ?? pulumi.output(undefined);
    this.modelNames = pulumi.output(plan.spec.workloads ? [...plan.router.modelNames] : []);
    this.inventory = pulumi.all(inventories);
    this.measuredCapacity = pulumi.all(this.measured).apply((byHost) =>
      Object.fromEntries(Object.entries(byHost).flatMap(([host, file]) => (file ? [[host, file]] : []))));
    this.registerOutputs({
      ...facts, routerUrl: this.routerUrl, modelNames: this.modelNames, inventory: this.inventory, masterKey: this.masterKey, measuredCapacity: this.measuredCapacity,
    });
  }

  /** The engine on a verified host, and on the router's host the router (and TLS edge); returns the router's URL there. */
  private workloadsOn(name: string, rendering: DockerRendering, h: DockerHostRendering, gpuHost: GpuHost, keyFile: pulumi.Output<string>): pulumi.Output<string> | undefined {
    const { plan } = this.args;
    const host = h.host.name;
    const prefix = `${name}-${host}`;
    const provider = new docker.Provider(`${prefix}-docker`, {
      host: gpuHost.dockerHost,
      sshOpts: keyFile.apply((file) => ["-i", file, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=accept-new"]),
    }, withLegacyName({ parent: this }, `${host}-docker`));
    const onHost = { parent: this, providers: { docker: provider } };
    const network = new docker.Network(`${prefix}-network`, { name: dockerPart(plan).networkName, driver: "bridge" },
      withLegacyName({ parent: this, provider }, `${host}-network`));
    const hfTokenKey = plan.spec.access.hf_token_secret;
    const engineArgs = {
      spec: h.engine,
      network: network.name,
      secrets: this.secrets,
      prefetch: {
        step: rendering.prefetch,
        connection: gpuHost.connection,
        ...(hfTokenKey ? { hfToken: this.args.secret(hfTokenKey) } : {}),
      },
      legacyName: `${host}-engine`,
    };
    // The prefetch runs over SSH once the host is verified, before the engine is replaced.
    const engineOpts = withLegacyName({ ...onHost, dependsOn: [gpuHost] }, `${host}-engine`);
    const engine = plan.engine.kind === "vllm"
      ? new VllmServer(`${prefix}-engine`, engineArgs, engineOpts)
      : new LoraxServer(`${prefix}-engine`, engineArgs, engineOpts);
    if (h.benchmark) {
      this.measured[host] = new EngineBenchmark(`${prefix}-benchmark`, { benchmark: h.benchmark, connection: gpuHost.connection, engineKey: this.engineKey },
        { parent: this, dependsOn: [engine] }).result;
    }
    if (!h.target.runsRouter) return undefined;

    const router = new LiteLlmRouter(`${name}-router`, {
      router: rendering.router,
      edge: rendering.edge,
      network: network.name,
      secrets: this.secrets,
      url: dockerRouterUrl(plan.router, h.host.address),
    }, { ...onHost, dependsOn: [engine] });
    return router.url;
  }
}
