/**
 * The kubernetes component (components/kubernetes/hybrid-inference-k8s.ts) under Pulumi's mocks
 * (own process) for a stack on an existing cluster with the Prometheus Operator: the PodMonitors
 * and the PrometheusRule become custom resources of the operator's API group, with exactly the
 * rendered objects, through the stack's one provider. (prod-k8s.test.ts covers the monitoring
 * that runs its own Prometheus: ServiceAccount, Role, RoleBinding, DaemonSets, Deployment.)
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type MockRunResult, runProgramUnderMocks } from "../../cli/mock-run";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";
import { renderKubernetesMonitoring } from "../../core/render/monitoring/kubernetes";
import { canaryFor } from "../components/stack-harness";
import { rawConfig } from "../fixtures";
import { MASKED_SECRET, k8sValues } from "../kubernetes/fixtures";
import { validateManifest } from "../kubernetes/k8s-schema";

const STACK = "gpu-cluster";
const raw = rawConfig(k8sValues({
  environment: "staging",
  kubernetes: { cluster: "existing", kubeconfig_secret: "kubeconfig", namespace: "llm" },
  monitoring: { prometheus_operator: true, operator_labels: { release: "kube-prometheus-stack" } },
  kubeconfig: MASKED_SECRET,
}), ["togetherApiKey", "kubeconfig"], STACK);

let plan: DeploymentPlan;
let run: MockRunResult;
beforeAll(async () => {
  const loaded = loadPlan(raw);
  if (!loaded.plan) throw new Error(JSON.stringify(loaded.issues));
  plan = loaded.plan;
  run = await runProgramUnderMocks(raw, plan, canaryFor);
});

describe("the Prometheus Operator's objects under mocks", () => {
  it("creates each PodMonitor and the PrometheusRule as a custom resource, exactly as rendered", () => {
    const rendered = renderKubernetesMonitoring(plan)!.manifests.filter((m) => m.kind === "PodMonitor" || m.kind === "PrometheusRule");
    expect(rendered.map((m) => m.kind)).toEqual(["PodMonitor", "PodMonitor", "PodMonitor", "PodMonitor", "PrometheusRule"]);
    for (const m of rendered) {
      const r = run.resources.find((x) => x.name === `${STACK}-${m.kind.toLowerCase()}-${m.metadata.name}`);
      expect(r, `${m.kind} ${m.metadata.name}`).toBeDefined();
      expect(r!.type).toBe(`kubernetes:monitoring.coreos.com/v1:${m.kind}`);
      expect(r!.inputs).toEqual(m);
      expect(() => validateManifest(r!.inputs)).not.toThrow();
      expect(r!.provider).toContain(`pulumi:providers:kubernetes::${STACK}-provider::`);
    }
  });

  it("runs no Prometheus of its own, and the exporters still run on the GPU nodes", () => {
    const types = run.resources.map((r) => r.type);
    expect(types).not.toContain("kubernetes:rbac.authorization.k8s.io/v1:Role");
    expect(run.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment").map((r) => r.name)).not.toContain(`${STACK}-deployment-prometheus`);
    expect(run.resources.filter((r) => r.type === "kubernetes:apps/v1:DaemonSet").map((r) => r.name).sort()).toEqual(
      ["dcgm-exporter-rtx-4090", "dcgm-exporter-rtx-5090", "node-exporter-rtx-4090", "node-exporter-rtx-5090"].map((n) => `${STACK}-daemonset-${n}`));
  });
});
