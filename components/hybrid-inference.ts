import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DeploymentPlan } from "../core/plan/types";
import { weightBytes } from "../core/plan/memory";
import { edgeContainer, engineContainer, routerContainer } from "../core/render/containers";
import { renderLitellmConfig } from "../core/render/litellm-config";
import { prefetchStep } from "../core/render/prefetch";
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
 * The whole single-target deployment: every GPU host bootstrapped and verified, an engine
 * on each, and the LiteLLM router on the first host in front of them all.
 */
export class HybridInference extends pulumi.ComponentResource {
  public readonly routerUrl: pulumi.Output<string>;
  public readonly modelNames: pulumi.Output<string[]>;
  public readonly inventory: pulumi.Output<Record<string, GpuInventory>>;
  /** The router's master key (`sk-...`): a Pulumi secret. */
  public readonly masterKey: pulumi.Output<string>;

  constructor(name: string, args: HybridInferenceArgs, opts?: pulumi.ComponentResourceOptions) {
    // What policy packs need to see of the stack (e.g. the UK-residency rule): the
    // component's inputs and outputs, plain and non-secret.
    const facts = {
      environment: args.plan.spec.environment,
      residency: args.plan.spec.residency,
      hosts: args.plan.hosts.map((h) => ({ name: h.name, address: h.address, datacenter: h.datacenter })),
    };
    super("hybrid:index:HybridInference", name, facts, opts);
    const { plan } = args;

    const deploymentSecrets = new DeploymentSecrets(name, args.secret, this);
    this.masterKey = deploymentSecrets.masterKey;
    const secrets = deploymentSecrets.resolve;

    const privateKey = args.secret(plan.spec.access.ssh_private_key_secret);
    const keyFile = sshKeyFile(plan.spec.stack, privateKey);
    const weightsGB = weightBytes(plan.model, plan.engine.quantization, plan.variant) / 1e9;
    const inventories: Record<string, pulumi.Output<GpuInventory>> = {};
    let router: LiteLlmRouter | undefined;
    let edge: TlsEdge | undefined;

    for (const host of plan.hosts) {
      const gpuHost = new GpuHost(host.name, { host, privateKey, privateKeyFile: keyFile }, { parent: this });
      inventories[host.name] = gpuHost.inventory;
      const provider = new docker.Provider(`${host.name}-docker`, {
        host: gpuHost.dockerHost,
        sshOpts: keyFile.apply((file) => ["-i", file, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=accept-new"]),
      }, { parent: this });
      const network = new docker.Network(`${host.name}-network`, { name: plan.networkName, driver: "bridge" }, { parent: this, provider });
      const hfTokenKey = plan.spec.access.hf_token_secret;
      const engineArgs = {
        spec: engineContainer(plan, host, weightsGB),
        network: network.name,
        secrets,
        prefetch: {
          step: prefetchStep(plan),
          connection: gpuHost.connection,
          ...(hfTokenKey ? { hfToken: args.secret(hfTokenKey) } : {}),
        },
      };
      // The prefetch runs over SSH once the host is verified, before the engine is replaced.
      const engineOpts = { parent: this, providers: { docker: provider }, dependsOn: [gpuHost] };
      const engine = plan.engine.kind === "vllm"
        ? new VllmServer(`${host.name}-engine`, engineArgs, engineOpts)
        : new LoraxServer(`${host.name}-engine`, engineArgs, engineOpts);
      if (host.runsRouter) {
        router = new LiteLlmRouter(`${name}-router`, {
          spec: routerContainer(plan, renderLitellmConfig(plan)),
          network: network.name,
          secrets,
          publicAddress: host.address,
          publicPort: plan.router.port,
        }, { parent: this, providers: { docker: provider }, dependsOn: [engine] });
        const edgeSpec = edgeContainer(plan);
        if (edgeSpec && plan.router.tls) {
          edge = new TlsEdge(`${name}-edge`, { spec: edgeSpec, network: network.name, secrets, domain: plan.router.tls.domain },
            { parent: this, providers: { docker: provider }, dependsOn: [router] });
        }
      }
    }
    if (!router) throw new pulumi.ResourceError("the plan has no host that runs the router", this);

    this.routerUrl = edge ? edge.url : router.url;
    this.modelNames = pulumi.output([...plan.router.modelNames]);
    this.inventory = pulumi.all(inventories);
    this.registerOutputs({ ...facts, routerUrl: this.routerUrl, modelNames: this.modelNames, inventory: this.inventory, masterKey: this.masterKey });
  }
}
