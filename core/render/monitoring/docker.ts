/**
 * The monitoring on the docker target, as container specs the Monitoring component deploys: on
 * every host a node exporter and NVIDIA's DCGM exporter; on the router host Prometheus (and, when
 * the stack asks, Grafana, Alertmanager, and a blackbox exporter for the TLS edge's certificate).
 *
 * Reachability follows the firewall: on the router host everything talks over the private Docker
 * network and no exporter publishes a port; UIs publish on 127.0.0.1 only (an SSH tunnel reaches
 * them). An engine host's exporters publish on its private address, where the firewall admits the
 * router host alone (core/plan/docker.ts adds their ports to the engine host's rule).
 */
import { MONITORING_PORTS, type MonitoringPlan, type MonitoringPlanOptions } from "../../plan/monitoring";
import { planMonitoring } from "./options";
import { dockerPart, reachableAddress } from "../../plan/docker";
import type { DeploymentPlan, DockerHostTarget, DockerTargetPlan, HostPlan, ImageRef } from "../../plan/types";
import { hostPort } from "../../net/address";
import { type ContainerSpec, routerContainerName } from "../containers";
import { DCGM, JOBS } from "./metrics";
import { MONITORING_IMAGES } from "./images";
import { PROMETHEUS_CONFIG_FILE, PROMETHEUS_RULE_FILE, type ScrapeTargets, renderBlackboxConfig, renderPrometheusConfig, scrapeJobs } from "./prometheus";
import { monitoringRules, renderRuleFile, renderRuleTests } from "./rules";
import { renderDashboards, grafanaProvisioning } from "./dashboards";

export interface DockerMonitoringHost {
  readonly host: string;
  readonly containers: readonly ContainerSpec[];
}

export interface DockerMonitoring {
  readonly plan: MonitoringPlan;
  readonly hosts: readonly DockerMonitoringHost[];
  /** Every rendered file, keyed by its path under `out/<stack>/`. */
  readonly files: Readonly<Record<string, string>>;
}

/**
 * Docker volumes holding Prometheus's and Grafana's data on the router host, kept across container
 * replacements. Named volumes, not host directories: both images run as non-root users (Prometheus
 * as nobody, Grafana as uid 472), and Docker gives a new named volume the image directory's owner.
 */
export const dataVolume = (stack: string, what: "prometheus" | "grafana"): string => `${stack}-${what}-data`;
/** Grafana reads the dashboards from here (outside its data volume: they are the rendered files, replaced with the container). */
export const GRAFANA_DASHBOARDS_DIR = "/etc/grafana/dashboards";
export const DCGM_COUNTERS_PATH = "/etc/dcgm-exporter/hybrid-inference.csv";
export const ALERTMANAGER_CONFIG_FILE = "/etc/alertmanager/alertmanager.yml";

const noHealth = (test: string[]): ContainerSpec["healthcheck"] => ({ test, interval: "30s", timeout: "5s", retries: 3, startPeriod: "30s" });
const wget = (url: string): string[] => ["CMD", "wget", "-q", "-O", "/dev/null", url];

/** The DCGM fields we read (core/render/monitoring/metrics.ts), as dcgm-exporter's counters CSV. */
export function dcgmCounters(): string {
  const rows: [string, string, string][] = [
    [DCGM.gpuUtil, "gauge", "GPU utilization (in %)."],
    [DCGM.fbUsed, "gauge", "Framebuffer memory used (in MiB)."],
    [DCGM.fbFree, "gauge", "Framebuffer memory free (in MiB)."],
    [DCGM.gpuTemp, "gauge", "GPU temperature (in C)."],
    [DCGM.slowdownTemp, "gauge", "Slowdown temperature of the device (in C)."],
    [DCGM.power, "gauge", "Power draw (in W)."],
    [DCGM.thermalViolation, "counter", "Throttling duration due to thermal constraints (in ns)."],
    [DCGM.lastXid, "gauge", "Value of the last XID error encountered."],
    [DCGM.xidErrors, "counter", "Reported XIDs during the last window."],
  ];
  return `# Rendered by hybrid-inference: the fields its alerts and dashboards read. Format: DCGM field, type, help.\n${rows.map((r) => r.join(", ")).join("\n")}\n`;
}

function containerName(stack: string, what: string, host?: string): string {
  return host ? `${host}-${what}` : `${stack}-${what}`;
}

type Published = ContainerSpec["ports"];

/**
 * The node exporter (both targets): the host's filesystems read through /host (mount points
 * reported without the prefix); its own network namespace, so network figures are the
 * container's (the host's are not needed here). Docker's and the kubelet's own mounts are skipped.
 */
export function nodeExporterSpec(name: string, ports: Published): ContainerSpec {
  return {
    name,
    image: MONITORING_IMAGES.nodeExporter,
    command: ["--path.rootfs=/host", `--web.listen-address=:${MONITORING_PORTS.nodeExporter}`, "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+|var/lib/kubelet/.+)($|/)"],
    env: {}, secretEnv: {}, gpus: null,
    volumes: [{ hostPath: "/", containerPath: "/host", readOnly: true }],
    ports,
    healthcheck: noHealth(wget(`http://127.0.0.1:${MONITORING_PORTS.nodeExporter}/metrics`)),
    files: [], secretFiles: [], labels: {},
  };
}

/** NVIDIA's DCGM exporter (both targets), reading the fields in dcgmCounters(). */
export function dcgmExporterSpec(name: string, ports: Published): ContainerSpec {
  return {
    name,
    image: MONITORING_IMAGES.dcgmExporter,
    command: ["-f", DCGM_COUNTERS_PATH, "-a", `:${MONITORING_PORTS.dcgmExporter}`],
    // The image is built on a CUDA 13.2 base whose NVIDIA_REQUIRE_CUDA the container toolkit checks
    // against the driver; the exporter only uses NVML and DCGM, not the CUDA runtime, so the R580
    // driver the hosts run serves it: skip the check (nvidia-container-toolkit's documented switch).
    env: { NVIDIA_DISABLE_REQUIRE: "true" }, secretEnv: {},
    // Reads every card's fields; takes no compute from the engine.
    gpus: "all",
    volumes: [],
    ports,
    healthcheck: noHealth(["CMD", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${MONITORING_PORTS.dcgmExporter}`]),
    files: [{ path: DCGM_COUNTERS_PATH, content: dcgmCounters() }],
    secretFiles: [],
    labels: {},
  };
}

/** Prometheus (both targets): its config and rule file, its data in `/prometheus` (docker: the named volume `data`), kept `retentionDays`. */
export function prometheusSpec(name: string, mp: MonitoringPlan, config: string, ruleFile: string, ports: Published, data: string): ContainerSpec {
  return {
    name,
    image: MONITORING_IMAGES.prometheus,
    command: [
      `--config.file=${PROMETHEUS_CONFIG_FILE}`,
      "--storage.tsdb.path=/prometheus",
      `--storage.tsdb.retention.time=${mp.retentionDays}d`,
      `--web.listen-address=:${MONITORING_PORTS.prometheus}`,
    ],
    env: {}, secretEnv: {}, gpus: null,
    volumes: [{ hostPath: data, containerPath: "/prometheus", readOnly: false, named: true }],
    ports,
    healthcheck: noHealth(wget(`http://127.0.0.1:${MONITORING_PORTS.prometheus}/-/ready`)),
    files: [{ path: PROMETHEUS_CONFIG_FILE, content: config }, { path: PROMETHEUS_RULE_FILE, content: ruleFile }],
    secretFiles: [],
    labels: {},
  };
}

/**
 * Where an engine host's exporters listen and Prometheus reaches them: the address its engine is
 * published on for the router host (its private address, or its address in the engine tunnel, where
 * the firewall admits the router host's tunnel address), so metrics take the engine traffic's path.
 */
function exporterAddress(t: DockerHostTarget, host: HostPlan): string {
  return t.endpoint.publishOn?.address ?? reachableAddress(host);
}

function exporters(plan: DeploymentPlan, target: DockerTargetPlan, hostName: string): ContainerSpec[] {
  const t = target.hosts.find((h) => h.name === hostName)!;
  const host = plan.hosts.find((h) => h.name === hostName)!;
  // On another host than the router's, published where its engine is, for the router host only.
  const publish = (port: number) => (t.runsRouter ? [] : [{ internal: port, external: port, ip: exporterAddress(t, host) }]);
  return [
    nodeExporterSpec(containerName(plan.spec.stack, "node-exporter", hostName), publish(MONITORING_PORTS.nodeExporter)),
    dcgmExporterSpec(containerName(plan.spec.stack, "dcgm-exporter", hostName), publish(MONITORING_PORTS.dcgmExporter)),
  ];
}

/** Where Prometheus on the router host finds each target. */
export function dockerScrapeTargets(plan: DeploymentPlan): ScrapeTargets {
  const target = dockerPart(plan);
  const at = (hostName: string, port: number, what: string): string => {
    const t = target.hosts.find((h) => h.name === hostName)!;
    const host = plan.hosts.find((h) => h.name === hostName)!;
    return t.runsRouter ? `${containerName(plan.spec.stack, what, hostName)}:${port}` : hostPort(exporterAddress(t, host), port);
  };
  const tls = plan.router.tls;
  return {
    // The router reaches each engine at its endpoint; so does Prometheus (vLLM's /metrics needs no key).
    engines: target.hosts.map((h) => ({ kind: "static", addresses: [new URL(h.endpoint.apiBase).host], labels: { host: h.name } })),
    gpus: target.hosts.map((h) => ({ kind: "static", addresses: [at(h.name, MONITORING_PORTS.dcgmExporter, "dcgm-exporter")], labels: { host: h.name } })),
    nodes: target.hosts.map((h) => ({ kind: "static", addresses: [at(h.name, MONITORING_PORTS.nodeExporter, "node-exporter")], labels: { host: h.name } })),
    router: [{ kind: "static", addresses: [`${routerContainerName(plan)}:${MONITORING_PORTS.routerMetrics}`], labels: { host: target.routerHost } }],
    edge: tls ? { urls: [`https://${plan.spec.stack}-edge/health/liveliness`], exporter: `${containerName(plan.spec.stack, "blackbox")}:${MONITORING_PORTS.blackbox}` } : null,
  };
}

export function renderDockerMonitoring(plan: DeploymentPlan, options: MonitoringPlanOptions = {}): DockerMonitoring | null {
  const mp = planMonitoring(plan, options);
  if (!mp.enabled || plan.target.kind !== "docker") return null;
  const target = dockerPart(plan);
  const stack = plan.spec.stack;
  const rules = monitoringRules(plan, mp);
  const ruleFile = renderRuleFile(rules, mp.scrapeIntervalSeconds);
  const alertmanager = mp.alertmanager ? `${containerName(stack, "alertmanager")}:${MONITORING_PORTS.alertmanager}` : null;
  const prometheusConfig = renderPrometheusConfig({ stack, monitoring: mp, jobs: scrapeJobs(dockerScrapeTargets(plan)), alertmanager });
  const dashboards = renderDashboards(plan);

  const local = (port: number) => [{ internal: port, external: port, ip: "127.0.0.1" }];
  // The UI on the router host's loopback only: `ssh -L 9090:127.0.0.1:9090 <router host>`.
  const prometheus = prometheusSpec(containerName(stack, "prometheus"), mp, prometheusConfig, ruleFile, local(MONITORING_PORTS.prometheus), dataVolume(stack, "prometheus"));
  const routerHostContainers: ContainerSpec[] = [prometheus];
  if (mp.grafana) {
    const provisioning = grafanaProvisioning(`http://${containerName(stack, "prometheus")}:${MONITORING_PORTS.prometheus}`, GRAFANA_DASHBOARDS_DIR);
    routerHostContainers.push({
      name: containerName(stack, "grafana"),
      image: MONITORING_IMAGES.grafana,
      command: [],
      env: { GF_SERVER_HTTP_PORT: String(MONITORING_PORTS.grafana), GF_ANALYTICS_REPORTING_ENABLED: "false", GF_ANALYTICS_CHECK_FOR_UPDATES: "false", GF_USERS_ALLOW_SIGN_UP: "false" },
      secretEnv: { GF_SECURITY_ADMIN_PASSWORD: { kind: "config", configKey: mp.grafana.adminPasswordKey } },
      gpus: null,
      volumes: [{ hostPath: dataVolume(stack, "grafana"), containerPath: "/var/lib/grafana", readOnly: false, named: true }],
      ports: local(MONITORING_PORTS.grafana),
      healthcheck: noHealth(wget(`http://127.0.0.1:${MONITORING_PORTS.grafana}/api/health`)),
      files: [
        ...provisioning,
        ...Object.entries(dashboards).map(([name, json]) => ({ path: `${GRAFANA_DASHBOARDS_DIR}/${name}`, content: json })),
      ],
      secretFiles: [],
      labels: {},
    });
  }
  if (mp.alertmanager) {
    routerHostContainers.push({
      name: containerName(stack, "alertmanager"),
      image: MONITORING_IMAGES.alertmanager,
      // One instance: no gossip port for a cluster of Alertmanagers (an empty address switches it off).
      command: [`--config.file=${ALERTMANAGER_CONFIG_FILE}`, "--storage.path=/alertmanager", `--web.listen-address=:${MONITORING_PORTS.alertmanager}`, "--cluster.listen-address="],
      env: {}, secretEnv: {}, gpus: null, volumes: [],
      ports: local(MONITORING_PORTS.alertmanager),
      healthcheck: noHealth(wget(`http://127.0.0.1:${MONITORING_PORTS.alertmanager}/-/ready`)),
      files: [],
      // The receivers hold webhook URLs and tokens: the whole file is the stack's secret. The
      // image runs as nobody and uploads belong to root: readable inside its own container.
      secretFiles: [{ path: ALERTMANAGER_CONFIG_FILE, source: { kind: "config", configKey: mp.alertmanager.configKey }, mode: "0644" }],
      labels: {},
    });
  }
  if (mp.edgeCertificate) {
    routerHostContainers.push({
      name: containerName(stack, "blackbox"),
      image: MONITORING_IMAGES.blackbox,
      command: ["--config.file=/etc/blackbox/blackbox.yml", `--web.listen-address=:${MONITORING_PORTS.blackbox}`],
      env: {}, secretEnv: {}, gpus: null, volumes: [], ports: [],
      healthcheck: noHealth(wget(`http://127.0.0.1:${MONITORING_PORTS.blackbox}/-/healthy`)),
      files: [{ path: "/etc/blackbox/blackbox.yml", content: renderBlackboxConfig(mp.edgeCertificate.domain) }],
      secretFiles: [],
      labels: {},
    });
  }
  const hosts = target.hosts.map((h): DockerMonitoringHost => ({
    host: h.name,
    containers: [...exporters(plan, target, h.name), ...(h.runsRouter ? routerHostContainers : [])],
  }));

  const files: Record<string, string> = {
    "monitoring/prometheus.yml": prometheusConfig,
    "monitoring/rules.yml": ruleFile,
    "monitoring/rules.test.yml": renderRuleTests(rules, "rules.yml", mp.scrapeIntervalSeconds),
    "monitoring/dcgm-counters.csv": dcgmCounters(),
  };
  for (const [name, json] of Object.entries(dashboards)) files[`monitoring/dashboards/${name}`] = json;
  if (mp.edgeCertificate) files["monitoring/blackbox.yml"] = renderBlackboxConfig(mp.edgeCertificate.domain);
  return { plan: mp, hosts, files };
}

/** Images the monitoring runs, for the plan's report and the policy's pin check. */
export function monitoringImages(): readonly ImageRef[] {
  return Object.values(MONITORING_IMAGES);
}

export { JOBS };
