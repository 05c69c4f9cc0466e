import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DeploymentPlan, HostPlan } from "../core/plan/types";
import { weightBytes } from "../core/plan/memory";
import { type SecretSource, edgeContainer, engineContainer, routerContainer } from "../core/render/containers";
import { renderLitellmConfig } from "../core/render/litellm-config";
import { prefetchStep } from "../core/render/prefetch";
import { policyFacts } from "../core/plan/policy-facts";
import type { GpuInventory } from "../core/render/host-bootstrap";
import { GpuHost } from "./gpu-host";
import { LiteLlmRouter } from "./litellm-router";
import { LoraxServer, VllmServer } from "./engine-server";
import { DeploymentSecrets } from "./deployment-secrets";
import { sshKeyFile } from "./ssh-key-file";
import { TlsEdge } from "./tls-edge";

export interface HybridInferenceArgs {
  /** The validated plan: `plan(validateStackConfig(raw).spec)`. */
  readonly plan: DeploymentPlan;
  /** Reads a secret config key (without the project prefix) as a Pulumi secret. */
  readonly secret: (configKey: string) => pulumi.Output<string>;
}

/**
 * The whole Docker-target deployment: every GPU host bootstrapped and verified, an engine
 * on each, and the LiteLLM router on the first host in front of them all. With the stack's
 * `workloads: false`, the hosts only.
 */
export class HybridInference extends pulumi.ComponentResource {
  /** Where clients send requests; undefined when the stack deploys no workloads. */
  public readonly routerUrl: pulumi.Output<string | undefined>;
  public readonly modelNames: pulumi.Output<string[]>;
  public readonly inventory: pulumi.Output<Record<string, GpuInventory>>;
  /** The router's master key (`sk-...`): a Pulumi secret. */
  public readonly masterKey: pulumi.Output<string>;

  private readonly secrets: (source: SecretSource) => pulumi.Output<string>;

  constructor(name: string, private readonly args: HybridInferenceArgs, opts?: pulumi.ComponentResourceOptions) {
    // Plain facts for policy packs (UK residency, prod resilience).
    const facts = policyFacts(args.plan);
    super("hybrid:index:HybridInference", name, facts, opts);
    const { plan } = args;

    const deploymentSecrets = new DeploymentSecrets(name, args.secret, this);
    this.masterKey = deploymentSecrets.masterKey;
    this.secrets = deploymentSecrets.resolve;

    const privateKey = args.secret(plan.spec.access.ssh_private_key_secret);
    const keyFile = sshKeyFile(plan.spec.stack, privateKey);
    const inventories: Record<string, pulumi.Output<GpuInventory>> = {};
    let url: pulumi.Output<string> | undefined;
    for (const host of plan.hosts) {
      const gpuHost = new GpuHost(host.name, { host, privateKey, privateKeyFile: keyFile }, { parent: this });
      inventories[host.name] = gpuHost.inventory;
      if (plan.spec.workloads) url = this.workloadsOn(name, host, gpuHost, keyFile) ?? url;
    }

    this.routerUrl = url ?? pulumi.output(undefined);
    this.modelNames = pulumi.output(plan.spec.workloads ? [...plan.router.modelNames] : []);
    this.inventory = pulumi.all(inventories);
    this.registerOutputs({ ...facts, routerUrl: this.routerUrl, modelNames: this.modelNames, inventory: this.inventory, masterKey: this.masterKey });
  }

  /** The engine on a verified host, and on the router's host the router (and TLS edge); returns the router's URL there. */
  private workloadsOn(name: string, host: HostPlan, gpuHost: GpuHost, keyFile: pulumi.Output<string>): pulumi.Output<string> | undefined {
    const { plan } = this.args;
    const provider = new docker.Provider(`${host.name}-docker`, {
      host: gpuHost.dockerHost,
      sshOpts: keyFile.apply((file) => ["-i", file, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=accept-new"]),
    }, { parent: this });
    const onHost = { parent: this, providers: { docker: provider } };
    const network = new docker.Network(`${host.name}-network`, { name: plan.networkName, driver: "bridge" }, { parent: this, provider });
    const hfTokenKey = plan.spec.access.hf_token_secret;
    const weightsGB = weightBytes(plan.model, plan.engine.quantization, plan.variant) / 1e9;
    const engineArgs = {
      spec: engineContainer(plan, host, weightsGB),
      network: network.name,
      secrets: this.secrets,
      prefetch: {
        step: prefetchStep(plan),
        connection: gpuHost.connection,
        ...(hfTokenKey ? { hfToken: this.args.secret(hfTokenKey) } : {}),
      },
    };
    // The prefetch runs over SSH once the host is verified, before the engine is replaced.
    const engineOpts = { ...onHost, dependsOn: [gpuHost] };
    const engine = plan.engine.kind === "vllm"
      ? new VllmServer(`${host.name}-engine`, engineArgs, engineOpts)
      : new LoraxServer(`${host.name}-engine`, engineArgs, engineOpts);
    if (!host.runsRouter) return undefined;

    const router = new LiteLlmRouter(`${name}-router`, {
      spec: routerContainer(plan, renderLitellmConfig(plan)),
      network: network.name,
      secrets: this.secrets,
      publicAddress: host.address,
      publicPort: plan.router.port,
    }, { ...onHost, dependsOn: [engine] });
    const edgeSpec = edgeContainer(plan);
    if (!edgeSpec || !plan.router.tls) return router.url;
    const edge = new TlsEdge(`${name}-edge`, { spec: edgeSpec, network: network.name, secrets: this.secrets, domain: plan.router.tls.domain },
      { ...onHost, dependsOn: [router] });
    return edge.url;
  }
}
