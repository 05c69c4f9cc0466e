/**
 * What the router needs to export its metrics when the stack's monitoring is on: LiteLLM's
 * Prometheus callback (usable without a licence in 1.108.7, core/render/monitoring/metrics.ts) and
 * its separate metrics process, which aggregates every worker's samples (PROMETHEUS_MULTIPROC_DIR,
 * created by the proxy when it has more than one worker) and serves them on a port of its own,
 * inside the router's container and the private network only. /metrics on the client port keeps
 * requiring the master key (LiteLLM's default `require_auth_for_metrics_endpoint: true`).
 *
 * The router extension's own metrics (`ROUTER_EXTENSION` in metrics.ts) take the same path: with
 * monitoring on, its settings say `metrics.enabled` (core/render/router-extension.ts, from the same
 * `monitoringEnabled`), its workers register them with prometheus_client, and the metrics port
 * serves them beside LiteLLM's.
 */
import { MONITORING_PORTS, monitoringEnabled } from "../../plan/monitoring";
import type { DeploymentPlan } from "../../plan/types";

/** Entries merged into the rendered config's `litellm_settings`. */
export function routerMetricsSettings(plan: DeploymentPlan): { callbacks?: string[] } {
  return monitoringEnabled(plan.spec) ? { callbacks: ["prometheus"] } : {};
}

/** Arguments appended to the router's command line. */
export function routerMetricsArgs(plan: DeploymentPlan): string[] {
  return monitoringEnabled(plan.spec) ? ["--prometheus_metrics_port", String(MONITORING_PORTS.routerMetrics)] : [];
}
