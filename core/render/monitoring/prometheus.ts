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

/** Targets of one job: fixed `host:port` addresses, or a DNS name resolving to every pod (A records). */
export type TargetSet =
  | { readonly kind: "static"; readonly addresses: readonly string[]; readonly labels: Readonly<Record<string, string>> }
  | { readonly kind: "dns"; readonly name: string; readonly port: number; readonly labels: Readonly<Record<string, string>> };

export interface ScrapeJob {
  readonly job: string;
  readonly targets: readonly TargetSet[];
  readonly metricsPath?: string;
  /** Blackbox probes: the module, and the exporter the probe goes through. */
  readonly probe?: { readonly module: string; readonly exporter: string };
}

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
  const out: Record<string, unknown> = { job_name: j.job };
  if (j.metricsPath) out["metrics_path"] = j.metricsPath;
  if (statics.length > 0) out["static_configs"] = statics.map((s) => ({ targets: [...s.addresses], ...(Object.keys(s.labels).length > 0 ? { labels: s.labels } : {}) }));
  if (dns.length > 0) out["dns_sd_configs"] = dns.map((d) => ({ names: [d.name], type: "A", port: d.port }));
  const relabel: Record<string, unknown>[] = [];
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

export function renderPrometheusConfig(input: PrometheusConfigInput): string {
  const interval = `${input.monitoring.scrapeIntervalSeconds}s`;
  const doc: Record<string, unknown> = {
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      // Scrapes must finish within the interval; vLLM's /metrics answers in milliseconds.
      scrape_timeout: `${Math.max(1, Math.min(10, input.monitoring.scrapeIntervalSeconds - 1))}s`,
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
