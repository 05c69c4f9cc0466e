import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { dockerPart, dockerRouterUrl } from "../core/plan/docker";
import { policyFacts } from "../core/plan/policy-facts";
import type { DeploymentPlan, TunnelPlan } from "../core/plan/types";
import type { SecretSource } from "../core/render/containers";
import { type DockerHostRendering, type DockerRendering, renderDockerTarget } from "../core/render/docker";
import type { BenchmarkFile } from "../core/render/benchmark";
import type { GpuInventory } from "../core/render/host-bootstrap";
import { dockerSshOptions } from "../core/render/ssh-access";
import { wireguardKeyPair } from "../core/render/wireguard";
import { deploymentBastion } from "./bastion";
import { EngineBenchmark } from "./benchmark";
import { DeploymentSecrets } from "./deployment-secrets";
import { LoraxServer, VllmServer } from "./engine-server";
import { GpuHost, type GpuHostBastion, type GpuHostTunnelKeys } from "./gpu-host";
import { LiteLlmRouter } from "./litellm-router";
import { Monitoring } from "./monitoring";
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

/** What the router, created after every host, needs from its own host. */
interface RouterHost {
  readonly h: DockerHostRendering;
  readonly gpuHost: GpuHost;
  readonly provider: docker.Provider;
  readonly network: docker.Network;
}

/**
 * The whole Docker-target deployment: every GPU host bootstrapped and verified, an engine
 * on each, and the LiteLLM router on the first host in front of them all. With the stack's
 * `workloads: false`, the hosts only. Children are named `<name>-<host>-…`, so two deployments
 * can share one program.
 *
 * Hosts change one at a time (core/plan/rollout.ts): each host's engine replacement and its
 * bootstrap steps that interrupt serving wait for the previous host's readiness gate, so the
 * router always has a serving engine; the update ends when every engine and the router pass
 * their gates.
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
    const bastion = deploymentBastion(plan.spec, keyFile);
    const tunnelKeys = rendering.tunnel ? this.tunnelKeys(name, rendering.tunnel) : {};
    const inventories: Record<string, pulumi.Output<GpuInventory>> = {};
    // Per host, the resource that says "this host serves again": its engine's readiness gate, or
    // (hosts only) its card check. The next host of the rollout waits for it.
    const serving: Record<string, pulumi.Resource> = {};
    const engineGates: pulumi.Resource[] = [];
    let routerHost: RouterHost | undefined;
    for (const h of rendering.hosts) {
      const waitsFor = h.rollout.waitsFor;
      const previous = waitsFor === null ? [] : [serving[waitsFor] ?? this.missing(waitsFor, h.host.name)];
      const gpuHost = new GpuHost(`${name}-${h.host.name}`, {
        address: h.host.address, sshPort: h.host.sshPort, sshUser: h.host.sshUser, privateKey, privateKeyFile: keyFile,
        steps: h.steps, rebootWait: h.rebootWait, legacyName: h.host.name,
        disruptiveAfter: previous,
        ...(bastion ? { bastion } : {}),
        ...(tunnelKeys[h.host.name] ? { tunnelKeys: tunnelKeys[h.host.name] } : {}),
      }, withLegacyName({ parent: this }, h.host.name));
      inventories[h.host.name] = gpuHost.inventory;
      serving[h.host.name] = gpuHost.verify;
      if (!plan.spec.workloads) continue;
      const on = this.engineOn(name, rendering, h, gpuHost, keyFile, bastion, previous);
      serving[h.host.name] = on.ready;
      engineGates.push(on.ready);
      if (h.target.runsRouter) routerHost = { h, gpuHost, provider: on.provider, network: on.network };
    }

    let url: pulumi.Output<string> | undefined;
    if (plan.spec.workloads) {
      if (!routerHost) throw new pulumi.ResourceError("no host of the docker target runs the router", this);
      const router = new LiteLlmRouter(`${name}-router`, {
        router: rendering.router,
        edge: rendering.edge,
        network: routerHost.network.name,
        secrets: this.secrets,
        url: dockerRouterUrl(plan.router, routerHost.h.host.address),
        readiness: { step: rendering.routerReadiness, connection: routerHost.gpuHost.connection },
        // The router's gate checks every engine as the router reaches it: after their own gates.
        readinessAfter: engineGates,
      }, { parent: this, providers: { docker: routerHost.provider }, dependsOn: [serving[routerHost.h.host.name]!] });
      url = router.url;
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

  private missing(waitsFor: string, host: string): never {
    throw new pulumi.ResourceError(`host ${host} waits for ${waitsFor}, which comes later in the rollout: the host order and the rollout order differ`, this);
  }

  /**
   * Each tunnel member's WireGuard key pair: 32 random bytes kept as a Pulumi secret (encrypted
   * in state), clamped into a private key; the public keys are plain. Replace a host's
   * `<name>-<host>-tunnel-key` resource (`pulumi up --replace`) to rotate its key.
   */
  private tunnelKeys(name: string, tunnel: TunnelPlan): Record<string, GpuHostTunnelKeys> {
    const pairs = Object.fromEntries(tunnel.members.map((m) => {
      const bytes = new random.RandomBytes(`${name}-${m.host}-tunnel-key`, { length: 32 }, { parent: this });
      return [m.host, pulumi.secret(bytes.base64.apply(wireguardKeyPair))];
    }));
    const publicKeys = pulumi.unsecret(pulumi.all(Object.fromEntries(Object.entries(pairs).map(([host, pair]) => [host, pair.apply((p) => p.publicKey)]))));
    return Object.fromEntries(Object.entries(pairs).map(([host, pair]) => [host, { privateKey: pulumi.secret(pair.apply((p) => p.privateKey)), publicKeys }]));
  }

  /** The engine on a verified host, after `after` (the previous host of the rollout) serves, and its readiness gate. */
  private engineOn(name: string, rendering: DockerRendering, h: DockerHostRendering, gpuHost: GpuHost, keyFile: pulumi.Output<string>,
    bastion: GpuHostBastion | undefined, after: readonly pulumi.Resource[]): { ready: pulumi.Resource; provider: docker.Provider; network: docker.Network } {
    const { plan } = this.args;
    const host = h.host.name;
    const prefix = `${name}-${host}`;
    const provider = new docker.Provider(`${prefix}-docker`, {
      host: gpuHost.dockerHost,
      sshOpts: pulumi.all([keyFile, bastion?.proxyCommand ?? ""]).apply(([file, proxyCommand]) => dockerSshOptions(file, proxyCommand ? { proxyCommand } : null)),
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
      // Re-checked after a new container and after any bootstrap change on the host (a reboot, a Docker restart).
      readiness: { step: h.readiness, connection: gpuHost.connection, triggers: [gpuHost.verify.id] },
      replaceAfter: after,
      legacyName: `${host}-engine`,
    };
    // The prefetch runs over SSH once the host is verified, before the engine is replaced.
    const engineOpts = withLegacyName({ ...onHost, dependsOn: [gpuHost] }, `${host}-engine`);
    const engine = plan.engine.kind === "vllm"
      ? new VllmServer(`${prefix}-engine`, engineArgs, engineOpts)
      : new LoraxServer(`${prefix}-engine`, engineArgs, engineOpts);
    const ready = engine.ready;
    if (!ready) throw new pulumi.ResourceError(`the engine on ${host} has no readiness gate`, this);
    new Monitoring(`${prefix}-monitoring`, { plan, host, network: network.name, secrets: this.secrets }, { ...onHost, dependsOn: [engine] });
    if (h.benchmark) {
      this.measured[host] = new EngineBenchmark(`${prefix}-benchmark`, { benchmark: h.benchmark, connection: gpuHost.connection, engineKey: this.engineKey },
        { parent: this, dependsOn: [ready] }).result;
    }
    return { ready, provider, network };
  }
}
