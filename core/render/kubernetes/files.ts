/**
 * Every file the kubernetes target renders, keyed by its path under `out/<stack>/`, for review
 * in a pull request: the manifests (secret values replaced by where they come from), the
 * router's LiteLLM config, the placement, and for k3s each node's config file and steps.
 */
import { stringify } from "yaml";
import type { DeploymentPlan } from "../../plan/types";
import type { SecretSource } from "../containers";
import { renderHostBootstrap, renderStepCommand } from "../host-bootstrap";
import { renderDevicePlugin } from "./device-plugin";
import { K3S_TOKEN_ENV, k3sClusterPlan, renderSecretStepCommand } from "./k3s-bootstrap";
import { placementSummary } from "./placement-summary";
import type { Manifest } from "./types";
import { renderKubernetesWorkloads, workloadManifests } from "./workloads";

/** What a review file shows in place of a secret value. */
export function describeSecret(source: SecretSource): string {
  switch (source.kind) {
    case "config":
      return `[secret: Pulumi config ${source.configKey}]`;
    case "engine-api-key":
      return "[secret: generated engine API key]";
    case "router-master-key":
      return "[secret: generated router master key]";
    default: {
      const unreachable: never = source;
      throw new Error(`unknown secret source ${JSON.stringify(unreachable)}`);
    }
  }
}

/** A manifest with every secret value replaced by `resolve(source)`. */
export function resolveSecrets<V>(m: Manifest<SecretSource>, resolve: (s: SecretSource) => V): Manifest<V> {
  if (m.kind !== "Secret") return m;
  return { ...m, stringData: Object.fromEntries(Object.entries(m.stringData).map(([k, v]) => [k, resolve(v)])) };
}

export function renderKubernetesFiles(plan: DeploymentPlan): Record<string, string> {
  const files: Record<string, string> = {};
  const w = renderKubernetesWorkloads(plan);
  const manifests: Manifest<string>[] = workloadManifests(w).map((m) => resolveSecrets(m, describeSecret));
  if (plan.spec.kubernetes.cluster === "k3s") manifests.push(renderDevicePlugin(plan));
  manifests.forEach((m, i) => {
    files[`kubernetes/${String(i + 1).padStart(2, "0")}-${m.kind.toLowerCase()}-${m.metadata.name}.yaml`] = stringify(m, { lineWidth: 0, aliasDuplicateObjects: false });
  });
  files["router/litellm-config.yaml"] = w.routerConfig;
  files["placement.txt"] = `${placementSummary(plan)}\n`;
  if (plan.spec.kubernetes.cluster === "k3s") {
    const cluster = k3sClusterPlan(plan);
    for (const node of cluster.nodes) {
      const dir = `k3s/${node.host.name}`;
      files[`${dir}/config.yaml`] = node.config;
      const steps = [
        ...renderHostBootstrap(node.bootstrap).map((s) => ({ step: s, command: renderStepCommand(s) })),
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
  }
  return files;
}
