import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { DeploymentPlan } from "../../core/plan/types";
import type { SecretSource } from "../../core/render/containers";
import { policyFacts } from "../../core/plan/policy-facts";
import type { GpuInventory } from "../../core/render/host-bootstrap";
import { resolveSecrets } from "../../core/render/kubernetes/files";
import { type KubernetesRendering, renderKubernetesTarget } from "../../core/render/kubernetes/target";
import type { Manifest } from "../../core/render/kubernetes/types";
import { ROUTER_NAME, clusterOwnedFields, kubernetesRouterUrl, loadBalancerRouterUrl } from "../../core/render/kubernetes/workloads";
import { DeploymentSecrets } from "../deployment-secrets";
import { sshKeyFile } from "../ssh-key-file";
import { K3sCluster } from "./k3s-cluster";

export interface HybridInferenceK8sArgs {
  /** The validated plan of a `target: kubernetes` stack (it carries the placement). */
  readonly plan: DeploymentPlan;
  /** Reads a secret config key (without the project prefix) as a Pulumi secret. */
  readonly secret: (configKey: string) => pulumi.Output<string>;
  /** The plan rendered for the kubernetes target; default `renderKubernetesTarget(plan)`. */
  readonly rendering?: KubernetesRendering;
}

type Secretive = pulumi.Output<string>;

/**
 * The deployment on Kubernetes: a k3s cluster bootstrapped on the stack's hosts (or an existing
 * cluster reached through its kubeconfig), then the engine groups and the router as workloads
 * rendered by core/render/kubernetes/workloads.ts, all through one explicit Kubernetes provider.
 */
export class HybridInferenceK8s extends pulumi.ComponentResource {
  public readonly routerUrl: pulumi.Output<string | undefined>;
  public readonly modelNames: pulumi.Output<string[]>;
  public readonly inventory: pulumi.Output<Record<string, GpuInventory>>;
  /** The router's master key (`sk-...`): a Pulumi secret. */
  public readonly masterKey: pulumi.Output<string>;
  /** The kubeconfig the deployment used: a Pulumi secret. */
  public readonly kubeconfig: pulumi.Output<string>;

  constructor(name: string, args: HybridInferenceK8sArgs, opts?: pulumi.ComponentResourceOptions) {
    // Plain facts for policy packs (UK residency, prod resilience).
    const facts = policyFacts(args.plan);
    super("hybrid:k8s:HybridInference", name, facts, opts);
    const { plan } = args;
    const k = plan.spec.kubernetes;
    const rendering = args.rendering ?? renderKubernetesTarget(plan);

    const deploymentSecrets = new DeploymentSecrets(name, args.secret, this);
    this.masterKey = deploymentSecrets.masterKey;
    const secrets = deploymentSecrets.resolve;

    let provider: k8s.Provider;
    switch (k.cluster) {
      case "k3s": {
        const privateKey = args.secret(plan.spec.access.ssh_private_key_secret);
        if (!rendering.k3s || !rendering.devicePlugin) throw new pulumi.ResourceError("a k3s stack's rendering has no k3s cluster", this);
        const cluster = new K3sCluster(`${name}-k3s`, {
          cluster: rendering.k3s, devicePlugin: rendering.devicePlugin, privateKey, privateKeyFile: sshKeyFile(plan.spec.stack, privateKey),
        }, { parent: this });
        provider = cluster.provider;
        this.kubeconfig = cluster.kubeconfig;
        this.inventory = cluster.inventory;
        break;
      }
      case "existing": {
        if (!k.kubeconfig_secret) throw new pulumi.ResourceError("kubernetes.kubeconfig_secret is required with cluster: existing", this);
        this.kubeconfig = pulumi.secret(args.secret(k.kubeconfig_secret));
        // Only this kubeconfig: the provider never falls back to ~/.kube/config or $KUBECONFIG.
        provider = new k8s.Provider(`${name}-provider`, { kubeconfig: this.kubeconfig, deleteUnreachable: false }, { parent: this });
        this.inventory = pulumi.output<Record<string, GpuInventory>>({});
        break;
      }
      default: {
        const unreachable: never = k.cluster;
        throw new pulumi.ResourceError(`unknown cluster kind ${String(unreachable)}`, this);
      }
    }

    this.routerUrl = plan.spec.workloads ? this.deployWorkloads(name, plan, rendering, provider, secrets) : pulumi.output(undefined);
    this.modelNames = pulumi.output(plan.spec.workloads ? [...plan.router.modelNames] : []);
    this.registerOutputs({
      ...facts,
      routerUrl: this.routerUrl, modelNames: this.modelNames, inventory: this.inventory, masterKey: this.masterKey, kubeconfig: this.kubeconfig,
    });
  }

  /** Namespace, secrets, config, engines, router and policies on the cluster; returns the router's URL. */
  private deployWorkloads(name: string, plan: DeploymentPlan, rendering: KubernetesRendering, provider: k8s.Provider, secrets: (s: SecretSource) => Secretive): pulumi.Output<string> {
    const [namespaceManifest, ...rest] = rendering.manifests;
    const namespace = this.create(name, resolveSecrets(namespaceManifest!, secrets), provider, []);
    let routerService: k8s.core.v1.Service | undefined;
    for (const m of rest) {
      const r = this.create(name, resolveSecrets(m, secrets), provider, [namespace]);
      if (m.kind === "Service" && m.metadata.name === ROUTER_NAME && r instanceof k8s.core.v1.Service) routerService = r;
    }
    if (!routerService) throw new pulumi.ResourceError("the workloads have no router Service", this);

    const known = kubernetesRouterUrl(plan);
    return known !== null
      ? pulumi.output(known)
      // A LoadBalancer on an existing cluster: its address is in the Service's status.
      : routerService.status.apply((s) => loadBalancerRouterUrl(plan, s?.loadBalancer?.ingress?.[0]));
  }

  /** One rendered manifest as its `@pulumi/kubernetes` resource, named after its kind and name. */
  private create(name: string, m: Manifest<Secretive>, provider: k8s.Provider, dependsOn: pulumi.Resource[]): pulumi.CustomResource {
    const resourceName = m.kind === "Namespace" ? `${name}-namespace` : `${name}-${m.kind.toLowerCase()}-${m.metadata.name}`;
    // Names are fixed (Services are reached by name), so a replacement must delete first.
    const owned = clusterOwnedFields(m);
    const opts: pulumi.CustomResourceOptions = { parent: this, provider, dependsOn, deleteBeforeReplace: true, ...(owned.length > 0 ? { ignoreChanges: owned } : {}) };
    switch (m.kind) {
      case "Namespace":
        return new k8s.core.v1.Namespace(resourceName, m, opts);
      case "Secret":
        return new k8s.core.v1.Secret(resourceName, m, opts);
      case "ConfigMap":
        return new k8s.core.v1.ConfigMap(resourceName, m, opts);
      case "Deployment":
        return new k8s.apps.v1.Deployment(resourceName, m, opts);
      case "DaemonSet":
        return new k8s.apps.v1.DaemonSet(resourceName, m, opts);
      case "Service":
        return new k8s.core.v1.Service(resourceName, m, opts);
      case "PodDisruptionBudget":
        return new k8s.policy.v1.PodDisruptionBudget(resourceName, m, opts);
      case "HorizontalPodAutoscaler":
        return new k8s.autoscaling.v2.HorizontalPodAutoscaler(resourceName, m, opts);
      case "Ingress":
        return new k8s.networking.v1.Ingress(resourceName, m, opts);
      case "NetworkPolicy":
        return new k8s.networking.v1.NetworkPolicy(resourceName, m, opts);
      default: {
        const unreachable: never = m;
        throw new pulumi.ResourceError(`unknown manifest kind ${JSON.stringify(unreachable)}`, this);
      }
    }
  }
}
