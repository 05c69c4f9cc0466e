/**
 * The `plan` report's monitoring block: what is scraped where, the alert thresholds the plan
 * implies, and where the UIs and dashboards are. Pure text from the plan (cli/report.ts calls it).
 */
import { MONITORING_PORTS } from "../../plan/monitoring";
import { planMonitoring } from "./options";
import type { DeploymentPlan } from "../../plan/types";
import { imageName } from "../containers";
import { dockerScrapeTargets } from "./docker";
import { MONITORING_IMAGES } from "./images";
import { DASHBOARDS_CONFIG_MAP, PROMETHEUS_NAME, gpuModels } from "./kubernetes";

export function monitoringSummary(plan: DeploymentPlan): string {
  const mp = planMonitoring(plan);
  if (!mp.enabled) return `Monitoring off (${plan.spec.environment} default; set monitoring.enabled: true to deploy Prometheus and the exporters)`;
  const out: string[] = [`Monitoring ${imageName(MONITORING_IMAGES.prometheus)}, every ${mp.scrapeIntervalSeconds} s, kept ${mp.retentionDays} days`];
  if (plan.target.kind === "docker") {
    const t = dockerScrapeTargets(plan);
    const list = (sets: typeof t.engines) => sets.flatMap((s) => (s.kind === "static" ? s.addresses.map((a) => `${a} (${s.labels["host"] ?? ""})`) : [])).join(", ");
    out.push(`  scrapes   engines ${list(t.engines)}; GPUs (DCGM) ${list(t.gpus)}; nodes ${list(t.nodes)}; router ${list(t.router)}${t.edge ? `; edge certificate via blackbox` : ""}`);
    out.push(`  UIs       on ${plan.target.routerHost}'s 127.0.0.1 only: Prometheus :${MONITORING_PORTS.prometheus}${mp.grafana ? `, Grafana :${MONITORING_PORTS.grafana} (dashboards: fleet, one per host)` : ""}${mp.alertmanager ? `, Alertmanager :${MONITORING_PORTS.alertmanager}` : ""}; ssh -L ${MONITORING_PORTS.prometheus}:127.0.0.1:${MONITORING_PORTS.prometheus} ${plan.hosts[0]!.sshUser}@${plan.hosts[0]!.address}`);
  } else {
    const ns = plan.spec.kubernetes.namespace;
    const models = gpuModels(plan).join(", ");
    out.push(`  scrapes   pods in namespace ${ns}: every engine replica (host = its group), the router pods' metrics port, a DCGM and a node exporter on each ${models} node (DaemonSets)`);
    out.push(mp.prometheusOperator
      ? `  operator  PodMonitors (engines, router, dcgm-exporter, node-exporter) and a PrometheusRule for the cluster's Prometheus Operator (its Prometheus in namespace ${mp.operator.namespace}${Object.keys(mp.operator.labels).length > 0 ? `, selected by ${Object.entries(mp.operator.labels).map(([k, v]) => `${k}=${v}`).join(",")}` : ""}); dashboards in ConfigMap ${DASHBOARDS_CONFIG_MAP} for Grafana's sidecar`
      : `  UI        Prometheus inside the cluster only: kubectl -n ${ns} port-forward svc/${PROMETHEUS_NAME} ${MONITORING_PORTS.prometheus}, then http://127.0.0.1:${MONITORING_PORTS.prometheus} (dashboards: import out/<stack>/monitoring/dashboards into your Grafana)`);
  }
  for (const e of mp.engines) {
    out.push(`  ${e.name}: planned ${e.plannedRunning.toFixed(1)} requests running; alerts above ${e.waitingMax} waiting or ${(e.kvUsageMax * 100).toFixed(1)}% KV cache`);
  }
  out.push(`  spill-over: plan expects ${(mp.expectedSpillShare * 100).toFixed(1)}%, alert above ${(mp.spillAlertShare * 100).toFixed(1)}%; model cache: alert below ${(mp.modelCache.minFreeBytes / 1e9).toFixed(0)} GB free` +
    `${mp.edgeCertificate ? `; certificate of ${mp.edgeCertificate.domain}: alert ${mp.edgeCertificate.alertDays} days before expiry` : ""}` +
    `; frontier budget: ${Object.keys(mp.frontierBudgetUsdPerDay).length > 0 ? Object.entries(mp.frontierBudgetUsdPerDay).map(([p, b]) => `${p} ${b} USD/day`).join(", ") : "none set, no spend alert"}`);
  out.push(`  files     out/<stack>/monitoring/ (${mp.prometheusOperator ? "" : "prometheus.yml, "}rules.yml, rules.test.yml, dashboards/)`);
  return out.join("\n");
}
