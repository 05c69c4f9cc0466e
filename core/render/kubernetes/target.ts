/**
 * Everything the kubernetes target deploys, rendered from the plan: the workloads and the
 * monitoring as manifests (secret values as `SecretSource`s), the k3s cluster's nodes and steps with `cluster: k3s`,
 * NVIDIA's device plugin there, and every file of it for review under `out/<stack>/` (secret
 * values replaced by where they come from).
 */
import { stringify } from "yaml";
import type { DeploymentPlan } from "../../plan/types";
import type { SecretSource } from "../containers";
import { hostSteps, renderStepCommand } from "../host-bootstrap";
import { renderDevicePlugin } from "./device-plugin";
import { describeSecret, resolveSecrets } from "./files";
import { K3S_TOKEN_ENV, type K3sClusterPlan, k3sClusterPlan, renderSecretStepCommand } from "./k3s-bootstrap";
import { placementSummary } from "./placement-summary";
import { type KubernetesMonitoring, renderKubernetesMonitoring } from "../monitoring/kubernetes";
import type { DaemonSet, Manifest } from "./types";
import { type KubernetesWorkloads, kubernetesPart, renderKubernetesWorkloads, workloadManifests } from "./workloads";

export interface KubernetesRendering {
  readonly kind: "kubernetes";
  readonly workloads: KubernetesWorkloads;
  /** Every workload manifest in apply order (the Namespace first). */
  readonly manifests: readonly Manifest<SecretSource>[];
  /** `cluster: k3s`: the nodes, their roles and steps; null on an existing cluster. */
  readonly k3s: K3sClusterPlan | null;
  /** `cluster: k3s`: NVIDIA's device plugin; existing clusters bring their own. */
  readonly devicePlugin: DaemonSet | null;
  /** Prometheus and the exporters, or the Prometheus Operator's objects; null without monitoring. */
  readonly monitoring: KubernetesMonitoring | null;
  /** Every rendered file, keyed by its path under `out/<stack>/`. */
  readonly files: Readonly<Record<string, string>>;
}

export function renderKubernetesTarget(plan: DeploymentPlan): KubernetesRendering {
  const target = kubernetesPart(plan);
  const workloads = renderKubernetesWorkloads(plan);
  const monitoring = renderKubernetesMonitoring(plan);
  const manifests = [...workloadManifests(workloads), ...(monitoring?.manifests ?? [])];
  const k3s = target.settings.cluster === "k3s" ? k3sClusterPlan(plan) : null;
  const devicePlugin = k3s ? renderDevicePlugin(plan) : null;

  const files: Record<string, string> = {};
  const shown: Manifest<string>[] = manifests.map((m) => resolveSecrets(m, describeSecret));
  if (devicePlugin) shown.push(devicePlugin);
  shown.forEach((m, i) => {
    files[`kubernetes/${String(i + 1).padStart(2, "0")}-${m.kind.toLowerCase()}-${m.metadata.name}.yaml`] = stringify(m, { lineWidth: 0, aliasDuplicateObjects: false });
  });
  files["router/litellm-config.yaml"] = workloads.routerConfig;
  Object.assign(files, monitoring?.files ?? {});
  // The router extension's package and settings, as the router pods mount them beside the config.
  for (const f of workloads.routerFiles) files[`router/${f.path}`] = f.content;
  files["placement.txt"] = `${placementSummary(plan)}\n`;
  for (const node of k3s?.nodes ?? []) {
    const dir = `k3s/${node.host.name}`;
    files[`${dir}/config.yaml`] = node.config;
    const steps = [
      ...hostSteps(node.bootstrap).map((s) => ({ step: s, command: renderStepCommand(s) })),
      { step: node.steps.firewall, command: renderStepCommand(node.steps.firewall) },
      { step: node.steps.install, command: renderSecretStepCommand(node.steps.install, [K3S_TOKEN_ENV]) },
      ...(node.steps.kubeconfig ? [{ step: node.steps.kubeconfig, command: renderStepCommand(node.steps.kubeconfig) }] : []),
    ];
    steps.forEach(({ step, command }, i) => {
      const prefix = `${dir}/bootstrap/${String(i + 1).padStart(2, "0")}-${step.name}`;
      files[`${prefix}.sh`] = step.script;
      files[`${prefix}.command.txt`] = `${command}\n`;
    });
  }
  return { kind: "kubernetes", workloads, manifests, k3s, devicePlugin, monitoring, files };
}
