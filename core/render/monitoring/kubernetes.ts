/**
 * The monitoring on the kubernetes target, as manifests in the stack's namespace: the same scrape
 * jobs, rules and dashboards as on docker (core/render/monitoring/), with pods found through the
 * Kubernetes API instead of fixed addresses.
 *
 * Always: a DCGM exporter and a node exporter on the nodes of each GPU model the placement uses
 * (one DaemonSet of each per model, selected by the node label the engines are placed by), and
 * NetworkPolicies that let only Prometheus reach them and, beside the router, the engines.
 *
 * `prometheus_operator: false`: Prometheus itself (a Deployment with its config and rules from a
 * ConfigMap, a ClusterIP Service: inside the cluster only; `kubectl port-forward` reaches it),
 * discovering the stack's pods with Prometheus's kubernetes_sd (`role: pod`, this namespace only:
 * a Role to list and watch pods, bound to its own ServiceAccount).
 * `prometheus_operator: true`: the cluster's Prometheus Operator scrapes instead: a PodMonitor per
 * job and a PrometheusRule with the rules, labelled with `operator_labels` so that the cluster's
 * Prometheus selects them, and the dashboards as ConfigMaps for Grafana's dashboard sidecar.
 *
 * Pods rather than Services are the targets: every engine replica, router pod and exporter is
 * scraped on its own (a Service would answer from one pod at a time), and a pod that runs but does
 * not answer is a target that is down, which EngineDown needs.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import { MONITORING_PORTS, type MonitoringPlan, monitoringEnabled } from "../../plan/monitoring";
import type { DeploymentPlan } from "../../plan/types";
import { type ContainerSpec, type SecretSource, imageName } from "../containers";
import type {
  ConfigMap, Container, DaemonSet, Deployment, Labels, Manifest, NetworkPolicy, PodMonitor, PrometheusRule, Role, RoleBinding, Service, ServiceAccount,
  Toleration, Volume, VolumeMount,
} from "../kubernetes/types";
import { CONFIG_HASH_ANNOTATION, GPU_LABEL, GPU_RESOURCE, GROUP_LABEL, engineSelector, kubernetesPart, probesFor, routerSelector } from "../kubernetes/workloads";
import { renderDashboards } from "./dashboards";
import { DCGM_COUNTERS_PATH, dcgmCounters, dcgmExporterSpec, nodeExporterSpec, prometheusSpec } from "./docker";
import { GPU_MODEL_LABEL, JOBS } from "./metrics";
import { planMonitoring } from "./options";
import { type PodTargets, type ScrapeTargets, podLabelRelabels, renderPrometheusConfig, scrapeJobs, scrapeTimeoutSeconds } from "./prometheus";
import { monitoringRules, renderRuleFile, renderRuleTests, ruleGroups } from "./rules";

export const PROMETHEUS_NAME = "prometheus";
export const DCGM_CONFIG_MAP = "dcgm-exporter";
export const DASHBOARDS_CONFIG_MAP = "grafana-dashboards";
/** The label kube-prometheus-stack's Grafana sidecar looks for on dashboard ConfigMaps (its chart default). */
export const GRAFANA_DASHBOARD_LABEL = "grafana_dashboard";
/** The label the Prometheus Operator puts on the Prometheus pods it runs. */
const OPERATOR_PROMETHEUS_POD_LABEL = { "app.kubernetes.io/name": "prometheus" } as const;

export interface KubernetesMonitoring {
  readonly plan: MonitoringPlan;
  /** In apply order, after the workloads' (the Namespace is theirs). */
  readonly manifests: readonly Manifest<SecretSource>[];
  /** Rendered files under `out/<stack>/`. */
  readonly files: Readonly<Record<string, string>>;
}

type Exporter = "dcgm-exporter" | "node-exporter";

function labelsOf(plan: DeploymentPlan, component: string): Labels {
  return { "app.kubernetes.io/name": "hybrid-inference", "app.kubernetes.io/instance": plan.spec.stack, "app.kubernetes.io/component": component };
}

function meta(plan: DeploymentPlan, name: string, component: string, extra: Labels = {}): { name: string; namespace: string; labels: Labels } {
  return { name, namespace: plan.spec.kubernetes.namespace, labels: { ...labelsOf(plan, component), "app.kubernetes.io/managed-by": "pulumi", ...extra } };
}

/** The catalog GPU models the placement puts engines on (one exporter DaemonSet of each kind per model). */
export function gpuModels(plan: DeploymentPlan): string[] {
  return [...new Set(kubernetesPart(plan).placement.groups.map((g) => g.gpu.id))];
}

/** Where the monitoring finds each job's pods (the scrape config and the PodMonitors alike). */
export function kubernetesScrapeTargets(plan: DeploymentPlan): ScrapeTargets {
  const namespace = plan.spec.kubernetes.namespace;
  const pods = (selector: Labels, port: string, fromPod: PodTargets["fromPod"]): PodTargets[] => [{ kind: "pods", namespace, selector, port, fromPod, labels: {} }];
  const exporterFrom: PodTargets["fromPod"] = { host: { kind: "node" }, [GPU_MODEL_LABEL]: { kind: "label", label: GPU_LABEL }, pod: { kind: "name" } };
  return {
    engines: pods(engineSelector(plan), "http", { host: { kind: "label", label: GROUP_LABEL }, node: { kind: "node" }, pod: { kind: "name" } }),
    gpus: pods(labelsOf(plan, "dcgm-exporter"), "metrics", exporterFrom),
    nodes: pods(labelsOf(plan, "node-exporter"), "metrics", exporterFrom),
    router: pods(routerSelector(plan), "metrics", { pod: { kind: "name" }, node: { kind: "node" } }),
    edge: null,
  };
}

/** A ContainerSpec's files as one ConfigMap's keys, each mounted at its path. */
function configFiles(spec: ContainerSpec, volume: string): { data: Record<string, string>; mounts: VolumeMount[] } {
  const data: Record<string, string> = {};
  const mounts = spec.files.map((f) => {
    const key = path.posix.basename(f.path);
    data[key] = f.content;
    return { name: volume, mountPath: f.path, subPath: key, readOnly: true };
  });
  return { data, mounts };
}

/** A monitoring container from the spec the docker target runs: argv, env, probes, the named port. */
function container(spec: ContainerSpec, name: string, port: { name: string; number: number }, resources: Container["resources"], mounts: VolumeMount[]): Container {
  const probes = probesFor(spec);
  return {
    name,
    image: imageName(spec.image),
    imagePullPolicy: "IfNotPresent",
    args: [...spec.command],
    env: Object.entries(spec.env).map(([k, value]) => ({ name: k, value })),
    ports: [{ name: port.name, containerPort: port.number, protocol: "TCP" }],
    resources,
    volumeMounts: mounts,
    startupProbe: probes.startupProbe,
    readinessProbe: probes.readinessProbe,
    livenessProbe: probes.livenessProbe,
    securityContext: { allowPrivilegeEscalation: false },
  };
}

const GPU_TOLERATION: Toleration = { key: GPU_RESOURCE, operator: "Exists", effect: "NoSchedule" };

function exporterDaemonSet(plan: DeploymentPlan, kind: Exporter, gpu: string): DaemonSet {
  const selector = { ...labelsOf(plan, kind), [GPU_LABEL]: gpu };
  const m = meta(plan, `${kind}-${gpu}`, kind, { [GPU_LABEL]: gpu });
  const k = plan.spec.kubernetes;
  let pod: DaemonSet["spec"]["template"]["spec"];
  if (kind === "dcgm-exporter") {
    const spec = dcgmExporterSpec(kind, []);
    const files = configFiles(spec, "counters");
    pod = {
      // The nvidia runtime shows it every card of the node without claiming one (as NVIDIA's own
      // manifests run it): the engines keep every nvidia.com/gpu.
      runtimeClassName: k.runtime_class,
      containers: [{
        ...container(spec, kind, { name: "metrics", number: MONITORING_PORTS.dcgmExporter }, { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } }, files.mounts),
        env: [...Object.entries(spec.env).map(([name, value]) => ({ name, value })), { name: "NVIDIA_VISIBLE_DEVICES", value: "all" }],
      }],
      volumes: [{ name: "counters", configMap: { name: DCGM_CONFIG_MAP, items: Object.keys(files.data).map((key) => ({ key, path: key })) } }],
    };
  } else {
    const spec = nodeExporterSpec(kind, []);
    const root = spec.volumes[0]!;
    pod = {
      containers: [{
        ...container(spec, kind, { name: "metrics", number: MONITORING_PORTS.nodeExporter }, { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
          [{ name: "root", mountPath: root.containerPath, readOnly: true }]),
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      }],
      volumes: [{ name: "root", hostPath: { path: root.hostPath, type: "Directory" } }],
    };
  }
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: m,
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: { type: "RollingUpdate" },
      template: {
        metadata: { labels: { ...m.labels, ...selector } },
        spec: {
          ...pod,
          // The nodes the engines of this GPU model are placed on (the same node label).
          nodeSelector: { [GPU_LABEL]: gpu },
          tolerations: [GPU_TOLERATION],
          automountServiceAccountToken: false,
          enableServiceLinks: false,
        },
      },
    },
  };
}

/** Who may reach the engines' and exporters' ports besides the router: Prometheus's pods. */
function fromPrometheus(plan: DeploymentPlan, mp: MonitoringPlan): NetworkPolicy["spec"]["ingress"][number]["from"] {
  return mp.prometheusOperator
    ? [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": mp.operator.namespace } }, podSelector: { matchLabels: { ...OPERATOR_PROMETHEUS_POD_LABEL } } }]
    : [{ podSelector: { matchLabels: labelsOf(plan, PROMETHEUS_NAME) } }];
}

function networkPolicies(plan: DeploymentPlan, mp: MonitoringPlan): NetworkPolicy[] {
  const policy = (name: string, podSelector: Labels, port: number): NetworkPolicy => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(plan, name, "monitoring"),
    spec: { podSelector: { matchLabels: podSelector }, policyTypes: ["Ingress"], ingress: [{ from: fromPrometheus(plan, mp), ports: [{ protocol: "TCP", port }] }] },
  });
  // NetworkPolicies add up: the engines stay closed to everyone but the router and Prometheus.
  return [
    policy("engines-from-prometheus", engineSelector(plan), plan.engine.port),
    policy("dcgm-exporter-from-prometheus", labelsOf(plan, "dcgm-exporter"), MONITORING_PORTS.dcgmExporter),
    policy("node-exporter-from-prometheus", labelsOf(plan, "node-exporter"), MONITORING_PORTS.nodeExporter),
  ];
}

/** Prometheus in the namespace: RBAC to discover the stack's pods, its config, the Deployment and a ClusterIP Service. */
function prometheusManifests(plan: DeploymentPlan, mp: MonitoringPlan, config: string, ruleFile: string): Manifest<SecretSource>[] {
  const ns = plan.spec.kubernetes.namespace;
  const component = PROMETHEUS_NAME;
  const selector = labelsOf(plan, component);
  // Its data on an emptyDir here (below), not the docker target's named volume.
  const spec = prometheusSpec(PROMETHEUS_NAME, mp, config, ruleFile, [], "data");
  const files = configFiles(spec, "config");
  const account: ServiceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(plan, PROMETHEUS_NAME, component), automountServiceAccountToken: false };
  // Pod discovery in this namespace only (kubernetes_sd_configs role: pod): read pods, nothing else.
  const role: Role = {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(plan, PROMETHEUS_NAME, component),
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
  };
  const binding: RoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: meta(plan, PROMETHEUS_NAME, component),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: PROMETHEUS_NAME },
    subjects: [{ kind: "ServiceAccount", name: PROMETHEUS_NAME, namespace: ns }],
  };
  const configMap: ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: meta(plan, PROMETHEUS_NAME, component), data: files.data };
  const data = spec.volumes[0]!;
  const volumes: Volume[] = [
    { name: "config", configMap: { name: PROMETHEUS_NAME, items: Object.keys(files.data).map((key) => ({ key, path: key })) } },
    // The samples live as long as the pod: kept across container restarts, not across a reschedule.
    // A stack that needs its history kept uses the cluster's Prometheus (prometheus_operator: true).
    { name: "data", emptyDir: {} },
  ];
  const m = meta(plan, PROMETHEUS_NAME, component);
  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: m,
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 5,
      template: {
        // Files mounted by subPath do not follow a ConfigMap change: a new config rolls the pod.
        metadata: { labels: { ...m.labels, ...selector }, annotations: { [CONFIG_HASH_ANNOTATION]: createHash("sha256").update(config).update(ruleFile).digest("hex") } },
        spec: {
          serviceAccountName: PROMETHEUS_NAME,
          // Its token is how kubernetes_sd lists the pods.
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          containers: [{
            ...container(spec, PROMETHEUS_NAME, { name: "web", number: MONITORING_PORTS.prometheus },
              // [estimate] A few thousand series from a handful of targets: well under a GiB.
              { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "2Gi" } },
              [...files.mounts, { name: "data", mountPath: data.containerPath }]),
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          }],
          volumes,
        },
      },
    },
  };
  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: m,
    // Inside the cluster only: `kubectl -n <namespace> port-forward svc/prometheus 9090`.
    spec: { type: "ClusterIP", selector, ports: [{ name: "web", port: MONITORING_PORTS.prometheus, targetPort: "web", protocol: "TCP" }] },
  };
  return [account, role, binding, configMap, deployment, service];
}

/** The Prometheus Operator's objects: a PodMonitor per job, the rules, the dashboards for Grafana's sidecar. */
function operatorManifests(plan: DeploymentPlan, mp: MonitoringPlan, targets: ScrapeTargets): Manifest<SecretSource>[] {
  const ns = plan.spec.kubernetes.namespace;
  const extra = mp.operator.labels;
  const interval = `${mp.scrapeIntervalSeconds}s`;
  const monitor = (name: string, job: string, sets: ScrapeTargets["engines"]): PodMonitor => {
    const t = sets[0];
    if (sets.length !== 1 || t?.kind !== "pods") throw new Error(`${job}: the kubernetes target scrapes one pod selection per job`);
    return {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: meta(plan, name, "monitoring", extra),
      spec: {
        selector: { matchLabels: { ...t.selector } },
        namespaceSelector: { matchNames: [ns] },
        podMetricsEndpoints: [{
          port: t.port,
          path: t.path ?? "/metrics",
          interval,
          scrapeTimeout: `${scrapeTimeoutSeconds(mp.scrapeIntervalSeconds)}s`,
          relabelings: [
            ...podLabelRelabels(t).map((r) => ({ sourceLabels: [r.source], targetLabel: r.target })),
            // The operator names the job after the PodMonitor; the rules select on ours.
            { targetLabel: "job", replacement: job },
            ...Object.entries(t.labels).map(([label, value]) => ({ targetLabel: label, replacement: value })),
          ],
        }],
      },
    };
  };
  const rules: PrometheusRule = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: meta(plan, "hybrid-inference", "monitoring", extra),
    spec: { groups: ruleGroups(monitoringRules(plan, mp), mp.scrapeIntervalSeconds).map((g) => ({ ...g, rules: g.rules.map((r) => ({ ...r })) })) },
  };
  const dashboards: ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(plan, DASHBOARDS_CONFIG_MAP, "monitoring", { [GRAFANA_DASHBOARD_LABEL]: "1" }),
    data: Object.fromEntries(Object.entries(renderDashboards(plan)).map(([file, json]) => [`${plan.spec.stack}-${file}`, json])),
  };
  return [
    monitor("engines", JOBS.engine, targets.engines),
    monitor("router", JOBS.router, targets.router),
    monitor("dcgm-exporter", JOBS.gpu, targets.gpus),
    monitor("node-exporter", JOBS.node, targets.nodes),
    rules,
    dashboards,
  ];
}

export function renderKubernetesMonitoring(plan: DeploymentPlan): KubernetesMonitoring | null {
  if (plan.target.kind !== "kubernetes" || !monitoringEnabled(plan.spec)) return null;
  const mp = planMonitoring(plan);
  const rules = monitoringRules(plan, mp);
  const ruleFile = renderRuleFile(rules, mp.scrapeIntervalSeconds);
  const targets = kubernetesScrapeTargets(plan);
  const counters: ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: meta(plan, DCGM_CONFIG_MAP, "dcgm-exporter"), data: { [path.posix.basename(DCGM_COUNTERS_PATH)]: dcgmCounters() } };
  const exporters = gpuModels(plan).flatMap((gpu) => [exporterDaemonSet(plan, "dcgm-exporter", gpu), exporterDaemonSet(plan, "node-exporter", gpu)]);

  const files: Record<string, string> = {
    "monitoring/rules.yml": ruleFile,
    "monitoring/rules.test.yml": renderRuleTests(rules, "rules.yml", mp.scrapeIntervalSeconds),
    "monitoring/dcgm-counters.csv": dcgmCounters(),
  };
  for (const [name, json] of Object.entries(renderDashboards(plan))) files[`monitoring/dashboards/${name}`] = json;

  let scraping: Manifest<SecretSource>[];
  if (mp.prometheusOperator) {
    scraping = operatorManifests(plan, mp, targets);
  } else {
    const config = renderPrometheusConfig({ stack: plan.spec.stack, monitoring: mp, jobs: scrapeJobs(targets), alertmanager: null });
    files["monitoring/prometheus.yml"] = config;
    scraping = prometheusManifests(plan, mp, config, ruleFile);
  }
  return { plan: mp, manifests: [counters, ...exporters, ...networkPolicies(plan, mp), ...scraping], files };
}
