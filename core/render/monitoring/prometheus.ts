/**
 * The Prometheus configuration: one scrape job per kind of target (the engines' vLLM /metrics, the
 * GPU exporter and node exporter of each host, the router's metrics port, the TLS edge's
 * certificate through the blackbox exporter), every target labelled with the stack's host (or
 * engine group) it describes. Targets come from the target renderers (docker: addresses;
 * kubernetes: DNS names of headless Services), never from guesses here.
 */
import { stringify } from "yaml";
import type { MonitoringPlan } from "../../plan/monitoring";
import { JOBS } from "./metrics";

/**
 * Pods of the stack's namespace, found through the Kubernetes API (Prometheus's kubernetes_sd
 * `role: pod`, or the Prometheus Operator's PodMonitor, which renders to the same): those whose
 * labels match `selector`, scraped on their container port named `port`. Every target gets the
 * labels in `fromPod` (target label -> pod field, see PodField) and the fixed `labels`.
 */
export interface PodTargets {
  readonly kind: "pods";
  readonly namespace: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly port: string;
  readonly path?: string;
  readonly fromPod: Readonly<Record<string, PodField>>;
  readonly labels: Readonly<Record<string, string>>;
}

/** A pod's node, its name, or the value of one of its labels. */
export type PodField = { readonly kind: "node" } | { readonly kind: "name" } | { readonly kind: "label"; readonly label: string };

/** Targets of one job: fixed `host:port` addresses, a DNS name resolving to every pod (A records), or pods by label. */
export type TargetSet =
  | { readonly kind: "static"; readonly addresses: readonly string[]; readonly labels: Readonly<Record<string, string>> }
  | { readonly kind: "dns"; readonly name: string; readonly port: number; readonly labels: Readonly<Record<string, string>> }
  | PodTargets;

/** The meta label Prometheus's pod discovery gives a pod field (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#pod). */
export function podMetaLabel(field: PodField): string {
  switch (field.kind) {
    case "node":
      return "__meta_kubernetes_pod_node_name";
    case "name":
      return "__meta_kubernetes_pod_name";
    case "label":
      // Label names become [a-zA-Z0-9_]: `app.kubernetes.io/name` -> `..._app_kubernetes_io_name`.
      return `__meta_kubernetes_pod_label_${field.label.replace(/[^a-zA-Z0-9_]/g, "_")}`;
    default: {
      const unreachable: never = field;
      throw new Error(`unknown pod field ${JSON.stringify(unreachable)}`);
    }
  }
}

/** An anchored regex matching exactly `value` (Prometheus anchors relabel regexes itself). */
function literal(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);
}

/** Relabelings that give a pod target its labels (shared by the scrape config and the PodMonitor). */
export function podLabelRelabels(t: PodTargets): { source: string; target: string }[] {
  return Object.entries(t.fromPod).map(([target, field]) => ({ source: podMetaLabel(field), target }));
}

export interface ScrapeJob {
  readonly job: string;
  readonly targets: readonly TargetSet[];
  readonly metricsPath?: string;
  /** Blackbox probes: the module, and the exporter the probe goes through. */
  readonly probe?: { readonly module: string; readonly exporter: string };
}

export const PROMETHEUS_CONFIG_FILE = "/etc/prometheus/prometheus.yml";
export const PROMETHEUS_RULE_FILE = "/etc/prometheus/rules/hybrid-inference.yml";
export const BLACKBOX_TLS_MODULE = "edge_tls";

/** The scrape jobs every target shares; what differs is how each target set is addressed. */
export interface ScrapeTargets {
  readonly engines: readonly TargetSet[];
  readonly gpus: readonly TargetSet[];
  readonly nodes: readonly TargetSet[];
  readonly router: readonly TargetSet[];
  /** `https://<edge>` URLs to probe, and the blackbox exporter's address; null without a TLS edge. */
  readonly edge: { readonly urls: readonly string[]; readonly exporter: string } | null;
}

export function scrapeJobs(t: ScrapeTargets): ScrapeJob[] {
  const jobs: ScrapeJob[] = [
    { job: JOBS.prometheus, targets: [{ kind: "static", addresses: ["localhost:9090"], labels: {} }] },
    { job: JOBS.engine, targets: t.engines },
    { job: JOBS.gpu, targets: t.gpus },
    { job: JOBS.node, targets: t.nodes },
    { job: JOBS.router, targets: t.router },
  ];
  if (t.edge) {
    jobs.push({ job: "edge-certificate", metricsPath: "/probe", probe: { module: BLACKBOX_TLS_MODULE, exporter: t.edge.exporter }, targets: [{ kind: "static", addresses: t.edge.urls, labels: {} }] });
  }
  return jobs.filter((j) => j.targets.length > 0);
}

function scrapeConfig(j: ScrapeJob): Record<string, unknown> {
  const statics = j.targets.filter((t): t is Extract<TargetSet, { kind: "static" }> => t.kind === "static");
  const dns = j.targets.filter((t): t is Extract<TargetSet, { kind: "dns" }> => t.kind === "dns");
  const pods = j.targets.filter((t): t is PodTargets => t.kind === "pods");
  // Relabelings apply to a whole job: one pod selection per job, and no other targets beside it.
  if (pods.length > 1 || (pods.length === 1 && j.targets.length > 1)) throw new Error(`scrape job ${j.job}: pod targets must be the job's only target set`);
  const out: Record<string, unknown> = { job_name: j.job };
  if (j.metricsPath) out["metrics_path"] = j.metricsPath;
  if (statics.length > 0) out["static_configs"] = statics.map((s) => ({ targets: [...s.addresses], ...(Object.keys(s.labels).length > 0 ? { labels: s.labels } : {}) }));
  if (dns.length > 0) out["dns_sd_configs"] = dns.map((d) => ({ names: [d.name], type: "A", port: d.port }));
  const relabel: Record<string, unknown>[] = [];
  for (const p of pods) {
    if (p.path) out["metrics_path"] = p.path;
    out["kubernetes_sd_configs"] = [{ role: "pod", namespaces: { names: [p.namespace] } }];
    // What a PodMonitor does: keep the selected pods' named port, and pods that run (a pod that
    // runs but does not answer is a target that is down, which the alerts need to see).
    for (const [label, value] of Object.entries(p.selector)) {
      relabel.push({ source_labels: [podMetaLabel({ kind: "label", label })], regex: literal(value), action: "keep" });
    }
    relabel.push(
      { source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: literal(p.port), action: "keep" },
      { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Running", action: "keep" },
    );
    for (const r of podLabelRelabels(p)) relabel.push({ source_labels: [r.source], target_label: r.target });
    for (const [label, value] of Object.entries(p.labels)) relabel.push({ target_label: label, replacement: value });
  }
  // dns_sd_configs take no labels: each name's targets get their host label from the name.
  for (const d of dns) {
    for (const [label, value] of Object.entries(d.labels)) {
      relabel.push({ source_labels: ["__meta_dns_name"], regex: d.name.replace(/[.]/g, "\\."), target_label: label, replacement: value });
    }
  }
  if (j.probe) {
    // The blackbox exporter's documented pattern: the URL becomes the `target` parameter and the
    // instance label, and the scrape goes to the exporter.
    out["params"] = { module: [j.probe.module] };
    relabel.push(
      { source_labels: ["__address__"], target_label: "__param_target" },
      { source_labels: ["__param_target"], target_label: "instance" },
      { target_label: "__address__", replacement: j.probe.exporter },
    );
  }
  if (relabel.length > 0) out["relabel_configs"] = relabel;
  return out;
}

export interface PrometheusConfigInput {
  readonly stack: string;
  readonly monitoring: MonitoringPlan;
  readonly jobs: readonly ScrapeJob[];
  /** `host:port` of Alertmanager; null: alerts are only shown in Prometheus. */
  readonly alertmanager: string | null;
  readonly ruleFile?: string;
}

/** Seconds a scrape may take: Prometheus's default 10 s, at most the interval. */
export function scrapeTimeoutSeconds(intervalSeconds: number): number {
  return Math.min(10, intervalSeconds);
}

export function renderPrometheusConfig(input: PrometheusConfigInput): string {
  const interval = `${input.monitoring.scrapeIntervalSeconds}s`;
  const doc: Record<string, unknown> = {
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      // Prometheus's default timeout (10 s), or the whole interval when that is shorter: a scrape may
      // not outlast its interval. LiteLLM's metrics process (Python, summing every worker's files)
      // is the slowest target; a scrape that times out marks the target down and its series stale.
      scrape_timeout: `${scrapeTimeoutSeconds(input.monitoring.scrapeIntervalSeconds)}s`,
      external_labels: { stack: input.stack },
    },
    rule_files: [input.ruleFile ?? PROMETHEUS_RULE_FILE],
    scrape_configs: input.jobs.map(scrapeConfig),
  };
  if (input.alertmanager) doc["alerting"] = { alertmanagers: [{ static_configs: [{ targets: [input.alertmanager] }] }] };
  return `# Rendered by hybrid-inference for stack "${input.stack}". Do not edit: change the stack file.\n${stringify(doc, { lineWidth: 0 })}`;
}

/** The blackbox exporter's module: a TLS handshake with the edge's own name (SNI), reporting the certificate's expiry. */
export function renderBlackboxConfig(domain: string): string {
  return stringify({
    modules: {
      [BLACKBOX_TLS_MODULE]: {
        prober: "http",
        timeout: "10s",
        http: { method: "GET", headers: { Host: domain }, fail_if_not_ssl: true, tls_config: { server_name: domain }, preferred_ip_protocol: "ip4", ip_protocol_fallback: true },
      },
    },
  }, { lineWidth: 0 });
}
