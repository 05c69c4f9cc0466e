/**
 * What the monitoring watches and when it alerts, from the plan: whether it runs, the ports its
 * exporters use, and every alert threshold, each derived from the planned capacity (the capacity
 * model's operating point), the engine's limits and the stack's traffic; none is a bare number.
 * Renderers of both targets read this; nothing else decides a threshold.
 */
import type { StackSpec } from "../config/schema";
import { MONITORING_DEFAULTS } from "../config/defaults";
import { SECONDS_PER_MONTH } from "./capacity";
import type { DeploymentPlan, HostPlan } from "./types";
import { minFreeDiskGB } from "./bootstrap";

/** Ports of the monitoring's own processes (inside their containers or pods). */
export const MONITORING_PORTS = {
  /** prometheus/node_exporter's default. */
  nodeExporter: 9100,
  /** dcgm-exporter's default (`-a :9400`). */
  dcgmExporter: 9400,
  /** LiteLLM `--prometheus_metrics_port`: the aggregated metrics of every worker, inside the router container only. */
  routerMetrics: 4001,
  prometheus: 9090,
  grafana: 3000,
  alertmanager: 9093,
  blackbox: 9115,
} as const;

export function monitoringEnabled(spec: StackSpec): boolean {
  return spec.workloads && (spec.monitoring.enabled ?? MONITORING_DEFAULTS.enabled[spec.environment]);
}

/**
 * Ports an engine host that does not run the router publishes on its private address for the
 * router host's Prometheus (the firewall admits the router host alone, like the engine's port).
 */
export function exporterPorts(spec: StackSpec): number[] {
  return monitoringEnabled(spec) && spec.target === "docker" ? [MONITORING_PORTS.nodeExporter, MONITORING_PORTS.dcgmExporter] : [];
}

/**
 * Points of share above the plan's expected spill-over before the spill alert fires: the router's
 * rpm limits are counted per minute in each worker, so a steady stream at the planned rate still
 * spills a few percent in minutes where Poisson arrivals bunch (at 85% of capacity a minute's count
 * exceeds its mean by one standard deviation about one minute in six).
 */
export const SPILL_SHARE_MARGIN = 0.05;

/**
 * Days of validity left below which the edge certificate alerts. Caddy renews ACME certificates
 * when a third of their lifetime is left (certmagic's default RenewalWindowRatio), 30 days of a
 * 90-day Let's Encrypt certificate: 20 days left means ten days of failed renewals. A provided
 * certificate renews only by hand (`pulumi config set --secret` and `pulumi up`): a month's notice.
 */
export const CERT_ALERT_DAYS = { acme: 20, provided: 30 } as const;

/** One engine upstream's thresholds: a docker host's engine, or a kubernetes engine group. */
export interface EngineThresholds {
  /** The host (docker) or engine group (kubernetes): the `host` label of its series. */
  readonly name: string;
  readonly replicas: number;
  /** Mean requests in the engine at the operating point, all replicas. */
  readonly plannedRunning: number;
  /**
   * Requests waiting beyond which a new request's first token misses the SLO: each one ahead adds
   * about one saturated service interval (1 / requests/s at saturation) to its wait, and the
   * operating point leaves (SLO TTFT - TTFT at the operating point) of slack. At least 1.
   */
  readonly waitingMax: number;
  /**
   * KV cache usage (0-1) above the planned request shape's: running `maxConcurrency` requests of
   * the stack's average length, half their output generated, fills this share. Above it, prompts
   * are longer than planned and the capacity behind the router's limits is not there.
   */
  readonly kvUsageMax: number;
  /** Seconds an engine target may be down before it alerts: Docker's own health verdict (interval x retries). */
  readonly downForSeconds: number;
}

export interface MonitoringPlan {
  readonly enabled: boolean;
  readonly retentionDays: number;
  readonly scrapeIntervalSeconds: number;
  readonly grafana: { readonly adminPasswordKey: string } | null;
  readonly alertmanager: { readonly configKey: string } | null;
  readonly prometheusOperator: boolean;
  /** kubernetes with the Prometheus Operator: where its Prometheus runs, and the labels it selects our objects by. */
  readonly operator: { readonly namespace: string; readonly labels: Readonly<Record<string, string>> };
  readonly engines: readonly EngineThresholds[];
  /** Share of self-hosted traffic the plan expects elsewhere: traffic.tokens_per_month above the engines' tokens/month. */
  readonly expectedSpillShare: number;
  /** The spill alert's threshold: expected + SPILL_SHARE_MARGIN, at most 1. */
  readonly spillAlertShare: number;
  /** USD per day per frontier provider; a provider without a budget gets no spend alert. */
  readonly frontierBudgetUsdPerDay: Readonly<Record<string, number>>;
  /** The model cache directory, and the free bytes the host needs there (what preflight requires for a fresh download). */
  readonly modelCache: { readonly dir: string; readonly minFreeBytes: number };
  /** The TLS edge's domain and when its certificate alerts; null without router.tls. */
  readonly edgeCertificate: { readonly domain: string; readonly alertDays: number } | null;
}

/**
 * Inputs from outside the stack's `monitoring` keys: the frontier budget, planned as
 * `plan.router.policy` (the router extension enforces it); core/render/monitoring/options.ts
 * passes it (`planMonitoring`, what every renderer calls); tests may pass another here.
 */
export interface MonitoringPlanOptions {
  readonly frontierBudgetUsdPerDay?: Readonly<Record<string, number>>;
}

/** Requests in the engines at the operating point, and what their KV use and queue may reach. */
function engineThresholds(name: string, replica: HostPlan["replicaCapacity"], replicas: number, kvTokensPerReplica: number,
  avgIn: number, avgOut: number, downForSeconds: number): EngineThresholds {
  const op = replica.operatingPoint;
  const sat = replica.saturation;
  const ttftSloMs = replica.slo.ttftMs ?? op.ttftMs;
  const slackS = Math.max(0, ttftSloMs - op.ttftMs) / 1000;
  const waitingMax = Math.max(1, Math.floor(sat.requestsPerSecond * replicas * slackS));
  const heldPerRequest = avgIn + avgOut / 2;
  const kvUsageMax = kvTokensPerReplica > 0 ? Math.min(1, (replica.maxConcurrency * heldPerRequest) / kvTokensPerReplica) : 1;
  return { name, replicas, plannedRunning: op.concurrency * replicas, waitingMax, kvUsageMax: Math.round(kvUsageMax * 1000) / 1000, downForSeconds };
}

/** Docker's verdict on the engine: health check interval x retries (core/render/containers.ts: 30 s x 3). */
export const ENGINE_DOWN_FOR_SECONDS = 90;

export function monitoringPlan(plan: DeploymentPlan, options: MonitoringPlanOptions = {}): MonitoringPlan {
  const { spec } = plan;
  const m = spec.monitoring;
  const { avg_input_tokens: avgIn, avg_output_tokens: avgOut } = spec.traffic;
  const engines: EngineThresholds[] = plan.target.kind === "docker"
    ? plan.hosts.map((h) => engineThresholds(h.name, h.replicaCapacity, h.replicas, h.memory.kvTokens, avgIn, avgOut, ENGINE_DOWN_FOR_SECONDS))
    : plan.target.placement.groups.map((g) => engineThresholds(g.name, g.perReplica, g.replicas, g.memory.kvTokens, avgIn, avgOut, ENGINE_DOWN_FOR_SECONDS));
  const capacityTokens = plan.hosts.reduce((s, h) => s + h.capacity.tokensPerMonth, 0);
  const expected = spec.traffic.tokens_per_month;
  const expectedSpillShare = expected !== undefined && expected > 0 ? Math.max(0, 1 - capacityTokens / expected) : 0;
  const frontierProviders = new Set(plan.router.frontier.map((f) => f.provider));
  const budgets = Object.fromEntries(Object.entries(options.frontierBudgetUsdPerDay ?? {}).filter(([p]) => frontierProviders.has(p)));
  const tls = plan.router.tls;
  return {
    enabled: monitoringEnabled(spec),
    retentionDays: m.retention_days,
    scrapeIntervalSeconds: m.scrape_interval_s,
    grafana: m.grafana && m.grafana_admin_password_secret ? { adminPasswordKey: m.grafana_admin_password_secret } : null,
    alertmanager: m.alertmanager_config_secret ? { configKey: m.alertmanager_config_secret } : null,
    prometheusOperator: m.prometheus_operator,
    operator: { namespace: m.operator_namespace, labels: { ...m.operator_labels } },
    engines,
    expectedSpillShare: Math.round(expectedSpillShare * 1000) / 1000,
    spillAlertShare: Math.min(1, Math.round((expectedSpillShare + SPILL_SHARE_MARGIN) * 1000) / 1000),
    frontierBudgetUsdPerDay: budgets,
    modelCache: { dir: spec.access.cache_dir, minFreeBytes: minFreeDiskGB(plan.engine.weightBytes) * 1e9 },
    edgeCertificate: tls ? { domain: tls.domain, alertDays: tls.certificate ? CERT_ALERT_DAYS.provided : CERT_ALERT_DAYS.acme } : null,
  };
}

/** Requests/s the stack's tokens_per_month means while the hosts are busy (for the report). */
export function expectedRequestsPerSecond(spec: StackSpec): number | null {
  const t = spec.traffic.tokens_per_month;
  if (t === undefined) return null;
  return t / ((spec.traffic.avg_input_tokens + spec.traffic.avg_output_tokens) * SECONDS_PER_MONTH * spec.traffic.utilisation);
}
