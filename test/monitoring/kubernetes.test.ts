/**
 * The monitoring on the kubernetes target (core/render/monitoring/kubernetes.ts), on the shipped
 * prod-k8s stack and variants: every manifest validates against its schema (Kubernetes 1.36,
 * the Prometheus Operator's CRDs); the scrape configuration and the PodMonitors select exactly
 * the stack's pods, with the labels the rules and dashboards read (checked by evaluating their
 * relabelings on every rendered pod template, as Prometheus does); the exporters run where the
 * engines run and claim no GPU; only Prometheus gets through the new NetworkPolicies.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { describeSecret, resolveSecrets } from "../../core/render/kubernetes/files";
import { renderKubernetesTarget } from "../../core/render/kubernetes/target";
import type { DaemonSet, Deployment, Labels, Manifest, NetworkPolicy, PodMonitor, PrometheusRule } from "../../core/render/kubernetes/types";
import { GPU_LABEL, GPU_RESOURCE, engineSelector, routerSelector } from "../../core/render/kubernetes/workloads";
import { dashboardQueries } from "../../core/render/monitoring/dashboards";
import { MONITORING_IMAGES } from "../../core/render/monitoring/images";
import { GRAFANA_DASHBOARD_LABEL, renderKubernetesMonitoring } from "../../core/render/monitoring/kubernetes";
import { GPU_MODEL_LABEL, JOBS } from "../../core/render/monitoring/metrics";
import { PROMETHEUS_RULE_FILE } from "../../core/render/monitoring/prometheus";
import type { DeploymentPlan } from "../../core/plan/types";
import { k8sValues, planOf, shippedPlan } from "../kubernetes/fixtures";
import { validateManifest } from "../kubernetes/k8s-schema";

const operatorValues = (extra: Record<string, unknown> = {}) => k8sValues({
  environment: "staging",
  monitoring: { prometheus_operator: true, operator_namespace: "observability", operator_labels: { release: "kube-prometheus-stack" }, ...extra },
});

const variants: Record<string, DeploymentPlan> = {
  // k3s, monitoring on by default (prod), Prometheus in the namespace.
  "prod-k8s": shippedPlan("prod-k8s"),
  // An existing cluster with the Prometheus Operator.
  operator: planOf(operatorValues()),
};

function monitoringOf(plan: DeploymentPlan) {
  const m = renderKubernetesMonitoring(plan);
  if (!m) throw new Error(`${plan.spec.stack}: no monitoring rendered`);
  return m;
}

function kindOf<K extends Manifest<unknown>["kind"]>(ms: readonly Manifest<unknown>[], kind: K): Extract<Manifest<unknown>, { kind: K }>[] {
  return ms.filter((m): m is Extract<Manifest<unknown>, { kind: K }> => m.kind === kind);
}

// ---- Prometheus's relabeling, enough of it to run the rendered rules on pod templates ----------

interface FakePod {
  readonly workload: string;
  readonly labels: Labels;
  readonly ports: readonly string[];
  readonly node: string;
  readonly name: string;
}

interface Relabel {
  readonly source_labels?: readonly string[];
  readonly target_label?: string;
  readonly regex?: string;
  readonly replacement?: string;
  readonly action?: string;
}

/** Prometheus's relabel_config semantics (keep, replace), with its defaults: separator ";", regex "(.*)", replacement "$1". */
function relabel(labels: Map<string, string>, rules: readonly Relabel[]): Map<string, string> | null {
  for (const r of rules) {
    const value = (r.source_labels ?? []).map((l) => labels.get(l) ?? "").join(";");
    const re = new RegExp(`^(?:${r.regex ?? "(.*)"})$`);
    const m = re.exec(value);
    const action = r.action ?? "replace";
    if (action === "keep") {
      if (!m) return null;
    } else if (action === "replace") {
      if (m && r.target_label) labels.set(r.target_label, (r.replacement ?? "$1").replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? ""));
    } else {
      throw new Error(`relabel action ${action} not modelled here`);
    }
  }
  return labels;
}

const sanitize = (l: string) => l.replace(/[^a-zA-Z0-9_]/g, "_");

/** The labels Prometheus's pod discovery gives one container port of a pod. */
function discovered(pod: FakePod, port: string): Map<string, string> {
  return new Map([
    ...Object.entries(pod.labels).map(([k, v]) => [`__meta_kubernetes_pod_label_${sanitize(k)}`, v] as [string, string]),
    ["__meta_kubernetes_pod_container_port_name", port], ["__meta_kubernetes_pod_phase", "Running"],
    ["__meta_kubernetes_pod_node_name", pod.node], ["__meta_kubernetes_pod_name", pod.name],
  ]);
}

const visible = (labels: Map<string, string>): Record<string, string> => Object.fromEntries([...labels].filter(([k]) => !k.startsWith("__")));

/** Which jobs of a rendered prometheus.yml scrape which pods, with which labels. */
function scrapedByConfig(config: string, pods: readonly FakePod[]): Record<string, { job: string; labels: Record<string, string> }[]> {
  const doc = parse(config) as { scrape_configs: { job_name: string; kubernetes_sd_configs?: unknown[]; relabel_configs?: Relabel[] }[] };
  const out: Record<string, { job: string; labels: Record<string, string> }[]> = {};
  for (const pod of pods) {
    out[pod.workload] = doc.scrape_configs.filter((j) => j.kubernetes_sd_configs).flatMap((j) => pod.ports.flatMap((port) => {
      const kept = relabel(discovered(pod, port), j.relabel_configs ?? []);
      return kept ? [{ job: j.job_name, labels: visible(kept) }] : [];
    }));
  }
  return out;
}

/** The same through PodMonitors, as the operator applies them: selector, port, then the relabelings (the job last). */
function scrapedByMonitors(monitors: readonly PodMonitor[], pods: readonly FakePod[]): Record<string, { job: string; labels: Record<string, string> }[]> {
  const out: Record<string, { job: string; labels: Record<string, string> }[]> = {};
  for (const pod of pods) {
    out[pod.workload] = monitors.flatMap((m) => {
      if (!Object.entries(m.spec.selector.matchLabels).every(([k, v]) => pod.labels[k] === v)) return [];
      return m.spec.podMetricsEndpoints.flatMap((ep) => {
        if (!pod.ports.includes(ep.port)) return [];
        const rules = ep.relabelings.map((r) => ({
          ...(r.sourceLabels ? { source_labels: r.sourceLabels } : {}), ...(r.targetLabel ? { target_label: r.targetLabel } : {}),
          ...(r.regex ? { regex: r.regex } : {}), ...(r.replacement !== undefined ? { replacement: r.replacement } : {}), ...(r.action ? { action: r.action } : {}),
        }));
        const labels = relabel(discovered(pod, ep.port), rules)!;
        const { job, ...rest } = visible(labels);
        return [{ job: job!, labels: rest }];
      });
    });
  }
  return out;
}

/** One pod of every Deployment and DaemonSet the target renders, on a node of the right GPU model. */
function fakePods(plan: DeploymentPlan): FakePod[] {
  const all = renderKubernetesTarget(plan).manifests;
  const workloads = [...kindOf(all, "Deployment"), ...kindOf(all, "DaemonSet")] as (Deployment | DaemonSet)[];
  return workloads.map((w) => {
    const gpu = w.spec.template.spec.nodeSelector?.[GPU_LABEL];
    return {
      workload: `${w.kind}/${w.metadata.name}`,
      labels: w.spec.template.metadata.labels,
      ports: w.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)),
      node: gpu ? `node-${gpu}` : "node-cpu",
      name: `${w.metadata.name}-abc12`,
    };
  });
}

describe.each(Object.entries(variants))("%s", (_name, plan) => {
  const m = monitoringOf(plan);
  const all = renderKubernetesTarget(plan).manifests;

  it("every manifest validates against its schema (Kubernetes 1.36; the operator's CRDs)", () => {
    expect(m.manifests.length).toBeGreaterThan(8);
    for (const manifest of m.manifests) expect(() => validateManifest(resolveSecrets(manifest, describeSecret)), `${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    // They are part of what the target deploys, after the workloads (the Namespace first).
    expect(all.slice(-m.manifests.length)).toEqual(m.manifests);
    expect(all[0]!.kind).toBe("Namespace");
    for (const manifest of m.manifests) expect(manifest.metadata.namespace).toBe(plan.spec.kubernetes.namespace);
  });

  it("runs a DCGM and a node exporter on the nodes of each GPU model the engines use, claiming no GPU", () => {
    const engines = kindOf(all, "Deployment").filter((d) => d.metadata.labels?.["app.kubernetes.io/component"] === "engine");
    const models = [...new Set(engines.map((d) => d.spec.template.spec.nodeSelector![GPU_LABEL]!))].sort();
    const sets = kindOf(m.manifests, "DaemonSet");
    expect(sets.map((d) => d.metadata.name).sort()).toEqual(models.flatMap((g) => [`dcgm-exporter-${g}`, `node-exporter-${g}`]).sort());
    for (const d of sets) {
      const spec = d.spec.template.spec;
      const engine = engines.find((e) => e.spec.template.spec.nodeSelector![GPU_LABEL] === spec.nodeSelector![GPU_LABEL])!;
      expect(spec.nodeSelector).toEqual(engine.spec.template.spec.nodeSelector);
      expect(spec.tolerations).toEqual(engine.spec.template.spec.tolerations);
      for (const c of spec.containers) {
        expect(Object.keys(c.resources.requests)).not.toContain(GPU_RESOURCE);
        expect(c.resources.limits?.[GPU_RESOURCE]).toBeUndefined();
        expect(c.ports?.map((p) => p.name)).toEqual(["metrics"]);
        expect(c.image).toBe(`${d.metadata.name.startsWith("dcgm") ? MONITORING_IMAGES.dcgmExporter.repository : MONITORING_IMAGES.nodeExporter.repository}:${d.metadata.name.startsWith("dcgm") ? MONITORING_IMAGES.dcgmExporter.tag : MONITORING_IMAGES.nodeExporter.tag}`);
      }
      // DCGM sees the cards through the nvidia runtime, as the engines do.
      if (d.metadata.name.startsWith("dcgm")) expect(spec.runtimeClassName).toBe(plan.spec.kubernetes.runtime_class);
      // The node exporter reads the host's filesystems, read-only.
      else expect(spec.volumes).toEqual([{ name: "root", hostPath: { path: "/", type: "Directory" } }]);
    }
  });

  it("lets only Prometheus reach the exporters, and the engines besides the router", () => {
    const policies = kindOf(all, "NetworkPolicy");
    const from = (p: NetworkPolicy) => p.spec.ingress.flatMap((r) => r.from);
    const engineRules = policies.filter((p) => Object.entries(p.spec.podSelector.matchLabels).every(([k, v]) => engineSelector(plan)[k] === v));
    expect(engineRules.map((p) => p.metadata.name).sort()).toEqual(["engines-from-prometheus", "engines-from-router"]);
    for (const p of engineRules) expect(p.spec.ingress.flatMap((r) => r.ports)).toEqual([{ protocol: "TCP", port: plan.engine.port }]);
    const prometheusPeer = plan.spec.monitoring.prometheus_operator
      ? { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": plan.spec.monitoring.operator_namespace } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } }
      : { podSelector: { matchLabels: kindOf(m.manifests, "Deployment").find((d) => d.metadata.name === "prometheus")!.spec.selector.matchLabels } };
    for (const name of ["engines-from-prometheus", "dcgm-exporter-from-prometheus", "node-exporter-from-prometheus"]) {
      expect(from(policies.find((p) => p.metadata.name === name)!)).toEqual([prometheusPeer]);
    }
    const exporterPorts = Object.fromEntries(policies.filter((p) => p.metadata.name.includes("exporter")).map((p) => [p.metadata.name, p.spec.ingress[0]!.ports[0]!.port]));
    expect(exporterPorts).toEqual({ "dcgm-exporter-from-prometheus": 9400, "node-exporter-from-prometheus": 9100 });
  });

  it("scrapes every engine replica as its group, the router's metrics port, and each exporter as its node and GPU model", () => {
    const pods = fakePods(plan);
    const scraped = plan.spec.monitoring.prometheus_operator ? scrapedByMonitors(kindOf(m.manifests, "PodMonitor") as PodMonitor[], pods) : scrapedByConfig(m.files["monitoring/prometheus.yml"]!, pods);
    for (const pod of pods) {
      const got = scraped[pod.workload]!;
      const component = pod.labels["app.kubernetes.io/component"];
      const gpu = pod.labels[GPU_LABEL];
      switch (component) {
        case "engine":
          expect(got, pod.workload).toEqual([{ job: JOBS.engine, labels: { host: pod.labels["hybrid-inference/engine-group"]!, node: pod.node, pod: pod.name } }]);
          break;
        case "router":
          expect(got, pod.workload).toEqual([{ job: JOBS.router, labels: { node: pod.node, pod: pod.name } }]);
          break;
        case "dcgm-exporter":
          expect(got, pod.workload).toEqual([{ job: JOBS.gpu, labels: { host: pod.node, [GPU_MODEL_LABEL]: gpu!, pod: pod.name } }]);
          break;
        case "node-exporter":
          expect(got, pod.workload).toEqual([{ job: JOBS.node, labels: { host: pod.node, [GPU_MODEL_LABEL]: gpu!, pod: pod.name } }]);
          break;
        default:
          // Prometheus itself (a static target of its own config) and nothing else.
          expect(got, pod.workload).toEqual([]);
      }
    }
    expect(pods.filter((p) => p.labels["app.kubernetes.io/component"] === "router")).toHaveLength(1);
  });

  it("each engine group's dashboard selects the exporters of its nodes' GPU model", () => {
    const placement = plan.target.kind === "kubernetes" ? plan.target.placement : null;
    for (const g of placement!.groups) {
      const queries = dashboardQueries(m.files[`monitoring/dashboards/host-${g.name}.json`]!);
      const exporterQueries = queries.filter((q) => q.includes(`job="${JOBS.gpu}"`) || q.includes(`job="${JOBS.node}"`));
      expect(exporterQueries.length).toBeGreaterThan(4);
      for (const q of exporterQueries) expect(q).toContain(`${GPU_MODEL_LABEL}="${g.gpu.id}"`);
      for (const q of queries.filter((x) => x.includes(`job="${JOBS.engine}"`))) expect(q).toContain(`host="${g.name}"`);
    }
  });
});

describe("prod-k8s: Prometheus in the namespace", () => {
  const plan = variants["prod-k8s"]!;
  const m = monitoringOf(plan);
  const deployment = kindOf(m.manifests, "Deployment").find((d) => d.metadata.name === "prometheus")!;

  it("is reachable inside the cluster only, and reads pods of its own namespace, nothing else", () => {
    const [service] = kindOf(m.manifests, "Service");
    expect(service!.spec.type).toBe("ClusterIP");
    expect(service!.spec.ports).toEqual([{ name: "web", port: 9090, targetPort: "web", protocol: "TCP" }]);
    expect(kindOf(m.manifests, "Role")).toEqual([expect.objectContaining({ rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }] })]);
    const [binding] = kindOf(m.manifests, "RoleBinding");
    expect(binding!.subjects).toEqual([{ kind: "ServiceAccount", name: deployment.spec.template.spec.serviceAccountName, namespace: plan.spec.kubernetes.namespace }]);
    expect(deployment.spec.template.spec.automountServiceAccountToken).toBe(true);
    const config = parse(m.files["monitoring/prometheus.yml"]!) as { scrape_configs: { kubernetes_sd_configs?: { role: string; namespaces: { names: string[] } }[] }[] };
    for (const j of config.scrape_configs.filter((c) => c.kubernetes_sd_configs)) {
      expect(j.kubernetes_sd_configs).toEqual([{ role: "pod", namespaces: { names: [plan.spec.kubernetes.namespace] } }]);
    }
  });

  it("loads the rendered config and rules from its ConfigMap, at the paths the config names, and rolls when they change", () => {
    const configMap = kindOf(m.manifests, "ConfigMap").find((c) => c.metadata.name === "prometheus")!;
    expect(configMap.data["prometheus.yml"]).toBe(m.files["monitoring/prometheus.yml"]);
    expect(configMap.data["hybrid-inference.yml"]).toBe(m.files["monitoring/rules.yml"]);
    const c = deployment.spec.template.spec.containers[0]!;
    expect(c.volumeMounts).toContainEqual({ name: "config", mountPath: PROMETHEUS_RULE_FILE, subPath: "hybrid-inference.yml", readOnly: true });
    expect(c.args).toContain(`--storage.tsdb.retention.time=${plan.spec.monitoring.retention_days}d`);
    expect(parse(configMap.data["prometheus.yml"]!)).toMatchObject({ rule_files: [PROMETHEUS_RULE_FILE] });
    const hash = (p: DeploymentPlan) => kindOf(monitoringOf(p).manifests, "Deployment").find((d) => d.metadata.name === "prometheus")!.spec.template.metadata.annotations!["hybrid-inference/config-sha256"];
    const longer = planOf(k8sValues({ environment: "staging", monitoring: { retention_days: 30, scrape_interval_s: 30 } }));
    const shorter = planOf(k8sValues({ environment: "staging", monitoring: { retention_days: 30, scrape_interval_s: 15 } }));
    expect(hash(longer)).not.toBe(hash(shorter));
  });

  it("has the router expose its metrics port by name, and only with monitoring on", () => {
    const router = kindOf(renderKubernetesTarget(plan).manifests, "Deployment").find((d) => d.metadata.name === "router")!;
    expect(router.spec.template.spec.containers[0]!.ports).toContainEqual({ name: "metrics", containerPort: 4001, protocol: "TCP" });
    expect(router.spec.template.spec.containers[0]!.args).toEqual(expect.arrayContaining(["--prometheus_metrics_port", "4001"]));
    const off = planOf(k8sValues({ environment: "staging", monitoring: { enabled: false } }));
    const rendering = renderKubernetesTarget(off);
    expect(rendering.monitoring).toBeNull();
    const offRouter = kindOf(rendering.manifests, "Deployment").find((d) => d.metadata.name === "router")!;
    expect(offRouter.spec.template.spec.containers[0]!.ports?.map((p) => p.name)).toEqual(["http"]);
    expect(rendering.manifests.some((x) => x.metadata.name.includes("exporter") || x.metadata.name === "prometheus")).toBe(false);
  });

  it("alerts when an engine group has fewer replicas serving than the plan placed, after a replica's planned start", () => {
    const rules = parse(m.files["monitoring/rules.yml"]!) as { groups: { rules: { alert?: string; expr: string; for?: string; labels?: Labels }[] }[] };
    const missing = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert === "EngineReplicasMissing");
    const groups = plan.target.kind === "kubernetes" ? plan.target.placement.groups : [];
    expect(missing.map((r) => r.labels!["host"])).toEqual(groups.map((g) => g.name));
    for (const g of groups) {
      const r = missing.find((x) => x.labels!["host"] === g.name)!;
      expect(r.expr).toBe(`(count(up{job="vllm",host="${g.name}"} == 1) or vector(0)) < ${g.replicas}`);
      expect(r.for).toBe(`${Math.ceil((plan.engine.startupSeconds + 300) / 60)}m`);
    }
  });
});

describe("with the Prometheus Operator", () => {
  const plan = variants["operator"]!;
  const m = monitoringOf(plan);

  it("renders no Prometheus of its own: PodMonitors, the rules as a PrometheusRule, the dashboards for Grafana's sidecar", () => {
    expect(m.manifests.some((x) => x.kind === "Deployment" || x.kind === "Role" || x.kind === "ServiceAccount")).toBe(false);
    expect(m.files["monitoring/prometheus.yml"]).toBeUndefined();
    expect(kindOf(m.manifests, "PodMonitor").map((p) => p.metadata.name)).toEqual(["engines", "router", "dcgm-exporter", "node-exporter"]);
    const [rule] = kindOf(m.manifests, "PrometheusRule") as PrometheusRule[];
    // The same rules as the rule file promtool checks (test/monitoring/promtool.test.ts).
    expect(rule!.spec.groups).toEqual((parse(m.files["monitoring/rules.yml"]!) as { groups: unknown[] }).groups);
    const dashboards = kindOf(m.manifests, "ConfigMap").find((c) => c.metadata.labels?.[GRAFANA_DASHBOARD_LABEL] === "1")!;
    expect(Object.keys(dashboards.data).sort()).toEqual(Object.keys(m.files).filter((f) => f.startsWith("monitoring/dashboards/")).map((f) => `${plan.spec.stack}-${f.split("/").pop()}`).sort());
  });

  it("labels what the cluster's Prometheus selects with operator_labels, and scrapes at the stack's interval", () => {
    for (const x of [...kindOf(m.manifests, "PodMonitor"), ...kindOf(m.manifests, "PrometheusRule")]) {
      expect(x.metadata.labels?.["release"], `${x.kind} ${x.metadata.name}`).toBe("kube-prometheus-stack");
    }
    for (const p of kindOf(m.manifests, "PodMonitor")) {
      expect(p.spec.namespaceSelector).toEqual({ matchNames: [plan.spec.kubernetes.namespace] });
      expect(p.spec.podMetricsEndpoints[0]).toMatchObject({ interval: "15s", scrapeTimeout: "10s", path: "/metrics" });
    }
  });

  it("scrapes the same pods with the same labels as the Prometheus it replaces", () => {
    const asPrometheus = planOf(operatorValues({ prometheus_operator: false }));
    const pods = fakePods(plan);
    expect(scrapedByMonitors(kindOf(m.manifests, "PodMonitor") as PodMonitor[], pods)).toEqual(scrapedByConfig(monitoringOf(asPrometheus).files["monitoring/prometheus.yml"]!, pods));
    expect(routerSelector(plan)).toEqual(routerSelector(asPrometheus));
  });
});
