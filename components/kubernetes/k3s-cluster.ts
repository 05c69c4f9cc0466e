import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { GpuInventory } from "../../core/render/host-bootstrap";
import { hostSteps, rebootWait } from "../../core/render/host-bootstrap";
import type { DaemonSet } from "../../core/render/kubernetes/types";
import {
  K3S_TOKEN_ENV, type K3sClusterPlan, kubeconfigFromStdout, renderSecretStepCommand, secretStepStdin,
} from "../../core/render/kubernetes/k3s-bootstrap";
import { GpuHost } from "../gpu-host";
import { remoteStep, sshConnection, withLegacyName } from "../remote-step";

export interface K3sClusterArgs {
  /** From `renderKubernetesTarget(plan).k3s`: nodes, roles, config files and steps. */
  readonly cluster: K3sClusterPlan;
  /** From `renderKubernetesTarget(plan).devicePlugin`: NVIDIA's device plugin DaemonSet. */
  readonly devicePlugin: DaemonSet;
  /** SSH private key of the hosts' `ssh_user`, from a Pulumi secret. */
  readonly privateKey: pulumi.Input<string>;
  /** Local file holding the same key, for the reboot wait (see GpuHost). */
  readonly privateKeyFile: pulumi.Input<string>;
}

/**
 * A k3s cluster on the stack's dedicated GPU hosts, bootstrapped over SSH.
 *
 * Every host first goes through the GPU host bootstrap (`GpuHost`: driver, container toolkit,
 * model cache and the check that the cards are the declared ones), with a host firewall that
 * admits SSH only. Then the steps of `templates/k3s/`: the ports k3s nodes use between each
 * other, k3s itself (the first host as server, the rest as agents joining it with a random
 * token), and on the server the kubeconfig, which becomes an explicit Kubernetes provider.
 * With that provider it runs NVIDIA's device plugin, so nodes advertise `nvidia.com/gpu`.
 * Every decision (roles, config files, firewall rules, versions) is in
 * core/render/kubernetes/k3s-bootstrap.ts; this component only creates the resources.
 */
export class K3sCluster extends pulumi.ComponentResource {
  /** Cluster-admin kubeconfig for the server's public address: a Pulumi secret. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** A Kubernetes provider configured from `kubeconfig` alone (nothing ambient). */
  public readonly provider: k8s.Provider;
  /** What each host's `nvidia-smi` reported, by host name. */
  public readonly inventory: pulumi.Output<Record<string, GpuInventory>>;
  public readonly apiUrl: string;

  constructor(name: string, args: K3sClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:k8s:K3sCluster", name, {}, opts);
    const { cluster } = args;
    this.apiUrl = cluster.apiUrl;
    // The shared secret nodes join with (https://docs.k3s.io/cli/token): alphanumeric, one line.
    const token = new random.RandomPassword(`${name}-join-token`, { length: 48, special: false }, { parent: this });

    const inventories: Record<string, pulumi.Output<GpuInventory>> = {};
    let serverInstall: command.remote.Command | undefined;
    let kubeconfigStep: command.remote.Command | undefined;
    const joined: pulumi.Resource[] = [];
    for (const node of cluster.nodes) {
      const host = node.host.name;
      const address = node.host.address;
      const prefix = `${name}-${host}`;
      const gpuHost = new GpuHost(prefix, {
        address, sshPort: node.host.sshPort, sshUser: node.host.sshUser, privateKey: args.privateKey, privateKeyFile: args.privateKeyFile,
        steps: hostSteps(node.bootstrap), rebootWait: rebootWait(node.bootstrap), legacyName: host,
      }, withLegacyName({ parent: this }, host));
      inventories[host] = gpuHost.inventory;
      const connection = sshConnection(address, node.host.sshPort, node.host.sshUser, args.privateKey);
      const firewall = remoteStep(`${prefix}-${node.steps.firewall.name}`, { step: node.steps.firewall, connection },
        withLegacyName({ parent: this, dependsOn: [gpuHost], deleteBeforeReplace: true }, `${host}-${node.steps.firewall.name}`));
      const install = remoteStep(`${prefix}-${node.steps.install.name}`, {
        step: node.steps.install,
        connection,
        create: renderSecretStepCommand(node.steps.install, [K3S_TOKEN_ENV]),
        // The token travels as the first line of stdin, ahead of the script: never on a command line.
        stdin: pulumi.secret(token.result.apply((t) => secretStepStdin([t], node.steps.install.script))),
      }, withLegacyName({ parent: this, dependsOn: node.role === "server" ? [firewall] : [firewall, serverInstall!], deleteBeforeReplace: true },
        `${host}-${node.steps.install.name}`));
      joined.push(install);
      if (node.role === "server") {
        serverInstall = install;
        const step = node.steps.kubeconfig;
        if (!step) throw new pulumi.ResourceError(`the k3s server ${host} has no kubeconfig step`, this);
        // The output is a cluster-admin credential: never logged, stored as a secret.
        kubeconfigStep = remoteStep(`${prefix}-${step.name}`, { step, connection, triggers: [step.sha256, node.steps.install.sha256], logging: "none" },
          withLegacyName({ parent: this, dependsOn: [install], additionalSecretOutputs: ["stdout", "stderr"] }, `${host}-${step.name}`));
      }
    }
    if (!kubeconfigStep) throw new pulumi.ResourceError("the k3s cluster has no server", this);

    this.kubeconfig = pulumi.secret(kubeconfigStep.stdout.apply((out) => {
      try {
        return kubeconfigFromStdout(out, cluster.apiUrl);
      } catch (e) {
        throw new pulumi.ResourceError(`k3s server ${cluster.nodes[0]!.host.name}: ${(e as Error).message}`, this);
      }
    }));
    this.provider = new k8s.Provider(`${name}-provider`, {
      kubeconfig: this.kubeconfig,
      // Workloads are deleted with the stack, not left behind when the cluster is unreachable.
      deleteUnreachable: false,
    }, { parent: this, dependsOn: joined });
    new k8s.apps.v1.DaemonSet(`${name}-nvidia-device-plugin`, args.devicePlugin, { parent: this, provider: this.provider });
    this.inventory = pulumi.all(inventories);
    this.registerOutputs({ kubeconfig: this.kubeconfig, inventory: this.inventory, apiUrl: this.apiUrl });
  }
}
