/**
 * Grafana dashboards as code, typed against Grafana's published schema (`@grafana/schema`): one
 * for the fleet (router tiers, spill-over, fallbacks, errors, frontier spend, every engine's load)
 * and one per host (its engine's queue, KV cache, latency and tokens/s against the plan's
 * operating point, its GPUs and disk). Planned figures are drawn as thresholds, so a panel shows
 * the live value against what the plan promised. Queries read the recorded series and exporter
 * metrics named in metrics.ts only; a test checks each against a real scrape.
 */
import type { Dashboard, Panel, ThresholdsConfig, ThresholdsMode } from "@grafana/schema";
import { stringify } from "yaml";
import type { EngineThresholds } from "../../plan/monitoring";
import { planMonitoring } from "./options";
import type { DeploymentPlan } from "../../plan/types";
import { DCGM, GPU_MODEL_LABEL, JOBS, NODE, RECORDED, ROUTER_EXTENSION, VLLM } from "./metrics";
import { cacheMountPoints } from "./rules";
import { exactly } from "./router-series";

/** Grafana's dashboard JSON schema version the panels below are written for. */
const SCHEMA_VERSION = 39;
export const DATASOURCE_UID = "hybrid-inference-prometheus";
const datasource = { type: "prometheus", uid: DATASOURCE_UID } as const;

interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly queries: readonly { readonly expr: string; readonly legend: string }[];
  readonly unit: string;
  /** A planned figure drawn as a red threshold line. */
  readonly plannedMax?: number;
  readonly type?: "timeseries" | "stat";
}

/**
 * Green below, a red line at the planned figure. `ThresholdsMode` is a runtime enum of a dev
 * dependency: its value ("absolute", the enum's `Absolute`) is written here, its type checked.
 */
function plannedLine(value: number): ThresholdsConfig {
  const absolute = "absolute" satisfies `${ThresholdsMode.Absolute}`;
  return { mode: absolute as ThresholdsMode, steps: [{ color: "green", value: null }, { color: "red", value }] };
}

function panel(spec: PanelSpec, id: number, x: number, y: number): Panel {
  return {
    id,
    type: spec.type ?? "timeseries",
    title: spec.title,
    description: spec.description,
    datasource,
    gridPos: { h: 8, w: 12, x, y },
    targets: spec.queries.map((q, i) => ({ refId: String.fromCharCode(65 + i), datasource, expr: q.expr, legendFormat: q.legend })),
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        ...(spec.plannedMax !== undefined
          ? {
              thresholds: plannedLine(spec.plannedMax),
              custom: { thresholdsStyle: { mode: "line" } },
            }
          : {}),
      },
      overrides: [],
    },
    options: {},
  };
}

function dashboard(uid: string, title: string, specs: readonly PanelSpec[], tags: string[]): Dashboard {
  return {
    uid,
    title,
    tags,
    editable: false,
    schemaVersion: SCHEMA_VERSION,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    timezone: "utc",
    panels: specs.map((s, i) => panel(s, i + 1, (i % 2) * 12, Math.floor(i / 2) * 8)),
  };
}

function enginePanels(e: EngineThresholds, sloTtftS: number | undefined, sloTpotS: number | undefined): PanelSpec[] {
  const h = `host="${e.name}"`;
  return [
    { title: "Requests running", description: `Requests in the engine's batch; the plan's operating point is ${e.plannedRunning.toFixed(1)}.`, unit: "short", plannedMax: e.plannedRunning,
      queries: [{ expr: `${RECORDED.engineRunning}{${h}}`, legend: "running" }] },
    { title: "Requests waiting", description: `Waiting for a batch slot; above ${e.waitingMax} the first token misses the SLO (alert EngineSaturated).`, unit: "short", plannedMax: e.waitingMax,
      queries: [{ expr: `${RECORDED.engineWaiting}{${h}}`, legend: "waiting" }] },
    { title: "KV cache usage", description: `Share of the KV cache in use; the planned request shape fills at most ${(e.kvUsageMax * 100).toFixed(1)}%.`, unit: "percentunit", plannedMax: e.kvUsageMax,
      queries: [{ expr: `${RECORDED.engineKvUsage}{${h}}`, legend: "KV cache" }] },
    { title: "Time to first token (median)", description: "Median over 5 minutes; the line is the SLO the router's limits are sized for.", unit: "s", ...(sloTtftS !== undefined ? { plannedMax: sloTtftS } : {}),
      queries: [{ expr: `${RECORDED.engineTtftP50}{${h}}`, legend: "p50" }] },
    { title: "Time per output token (median)", description: "Inter-token latency, median over 5 minutes; the line is the SLO.", unit: "s", ...(sloTpotS !== undefined ? { plannedMax: sloTpotS } : {}),
      queries: [{ expr: `${RECORDED.engineItlP50}{${h}}`, legend: "p50" }] },
    { title: "Tokens per second", description: "Generated and prompt tokens per second over 5 minutes.", unit: "short",
      queries: [{ expr: `${RECORDED.engineOutputTokensRate}{${h}}`, legend: "output" }, { expr: `${RECORDED.enginePromptTokensRate}{${h}}`, legend: "prompt" }] },
  ];
}

/** Every dashboard, keyed by its file name. */
export function renderDashboards(plan: DeploymentPlan): Record<string, string> {
  const mp = planMonitoring(plan);
  const slo = plan.hosts[0]?.replicaCapacity.slo;
  const ttft = slo?.ttftMs !== undefined ? slo.ttftMs / 1000 : undefined;
  const tpot = slo?.tpotMs !== undefined ? slo.tpotMs / 1000 : undefined;
  const stack = plan.spec.stack;
  const fleet: PanelSpec[] = [
    { title: "Requests per tier", description: "Answers per second by tier: self-hosted engines, managed API, frontier API.", unit: "reqps",
      queries: [{ expr: `${RECORDED.routerTierRate}`, legend: "{{tier}}" }] },
    { title: "Spill-over share", description: `Share of self-hosted traffic answered by API tiers over the last hour; the plan expects ${(mp.expectedSpillShare * 100).toFixed(1)}%, the alert fires above the line.`, unit: "percentunit", plannedMax: mp.spillAlertShare,
      queries: [{ expr: RECORDED.spillShare, legend: "spill share" }] },
    { title: "Fallbacks and errors", description: "Fallbacks LiteLLM made (succeeded or failed), and requests the router could not serve (5xx, and 429: every deployment cooling down), per second.", unit: "reqps",
      queries: [{ expr: RECORDED.fallbackRate, legend: "fallbacks {{outcome}}" }, { expr: RECORDED.errorRate, legend: "errors (5xx, 429)" }] },
    { title: "Frontier spend", description: "USD per day at the last hour's rate, per provider (LiteLLM's cost map).", unit: "currencyUSD",
      queries: [{ expr: RECORDED.frontierSpendPerDay, legend: "{{provider}}" }] },
    { title: "Router latency (median)", description: "Whole requests through the router, median over 5 minutes.", unit: "s",
      queries: [{ expr: RECORDED.routerLatencyP50, legend: "p50" }] },
    { title: "Escalations", description: `Weak answers re-asked of the frontier tier, by reason and outcome (router extension: ${ROUTER_EXTENSION.escalations}).`, unit: "reqps",
      queries: [{ expr: `sum by (reason, outcome) (rate(${ROUTER_EXTENSION.escalations}[5m]))`, legend: "{{reason}} {{outcome}}" }] },
    { title: "Why requests left the engines", description: `Requests the router extension did not send to an engine, by engine and reason (down, rate, waiting, kv, running, failed): ${ROUTER_EXTENSION.engineRefusals}.`, unit: "reqps",
      queries: [{ expr: `sum by (engine, reason) (rate(${ROUTER_EXTENSION.engineRefusals}[5m]))`, legend: "{{engine}} {{reason}}" }] },
    { title: "Engines: requests running", description: "Per engine; compare with each host's dashboard for its planned figure.", unit: "short",
      queries: [{ expr: RECORDED.engineRunning, legend: "{{host}}" }] },
    { title: "Engines: requests waiting", description: "Per engine: requests queued for a batch slot.", unit: "short",
      queries: [{ expr: RECORDED.engineWaiting, legend: "{{host}}" }] },
    { title: "Engines up", description: "1 when Prometheus reaches the engine's /metrics.", unit: "short", type: "stat",
      queries: [{ expr: `up{job="${JOBS.engine}"}`, legend: "{{host}}" }] },
    { title: "GPU utilisation", description: "Per host and card (DCGM).", unit: "percent",
      queries: [{ expr: `avg by (host) (${DCGM.gpuUtil}{job="${JOBS.gpu}"})`, legend: "{{host}}" }] },
  ];
  const out: Record<string, string> = {};
  out["fleet.json"] = json(dashboard(`${uid(stack)}-fleet`, `hybrid-inference ${stack}: fleet`, fleet, ["hybrid-inference", stack]));
  const mounts = exactly(cacheMountPoints(mp.modelCache.dir));
  for (const e of mp.engines) {
    const h = exporterSelector(plan, e.name);
    const gpu: PanelSpec[] = [
      { title: "GPU utilisation", description: "Per card (DCGM).", unit: "percent", queries: [{ expr: `${DCGM.gpuUtil}{job="${JOBS.gpu}",${h}}`, legend: "{{host}} GPU {{gpu}}" }] },
      { title: "GPU memory used", description: "Per card; vLLM reserves gpu_memory_utilization of it at start.", unit: "decmbytes", queries: [{ expr: `${DCGM.fbUsed}{job="${JOBS.gpu}",${h}}`, legend: "{{host}} GPU {{gpu}}" }] },
      { title: "GPU temperature", description: "Per card, with the card's own slowdown temperature.", unit: "celsius",
        queries: [{ expr: `${DCGM.gpuTemp}{job="${JOBS.gpu}",${h}}`, legend: "{{host}} GPU {{gpu}}" }, { expr: `${DCGM.slowdownTemp}{job="${JOBS.gpu}",${h}}`, legend: "slowdown {{host}} GPU {{gpu}}" }] },
      { title: "GPU power", description: "Per card.", unit: "watt", queries: [{ expr: `${DCGM.power}{job="${JOBS.gpu}",${h}}`, legend: "{{host}} GPU {{gpu}}" }] },
      { title: "XID errors", description: "Driver-reported GPU errors in the exporter's window, by XID.", unit: "short", queries: [{ expr: `${DCGM.xidErrors}{job="${JOBS.gpu}",${h}}`, legend: "XID {{xid}} {{host}} GPU {{gpu}}" }] },
      { title: "Model cache disk free", description: `Free bytes on the filesystems that can hold ${mp.modelCache.dir}; the line is one more copy of the weights.`, unit: "bytes", plannedMax: mp.modelCache.minFreeBytes,
        queries: [{ expr: `${NODE.filesystemAvail}{job="${JOBS.node}",${h},mountpoint=~"${mounts}"}`, legend: "{{host}} {{mountpoint}}" }] },
      { title: "Engine errors", description: "Requests the engine finished by abort or error, per second.", unit: "reqps",
        queries: [{ expr: `sum by (finished_reason) (rate(${VLLM.requestSuccess}{job="${JOBS.engine}",host="${e.name}",finished_reason=~"abort|error"}[5m]))`, legend: "{{finished_reason}}" }] },
    ];
    out[`host-${e.name}.json`] = json(dashboard(`${uid(stack)}-${e.name}`.slice(0, 40), `hybrid-inference ${stack}: ${e.name}`, [...enginePanels(e, ttft, tpot), ...gpu], ["hybrid-inference", stack, e.name]));
  }
  return out;
}

/**
 * How a host's dashboard selects its exporters' series. Docker: the host's own (`host` is the
 * stack's host). Kubernetes: exporters are labelled with their node and GPU model
 * (core/render/monitoring/kubernetes.ts), and an engine group runs on the nodes of its GPU
 * model, so its dashboard shows those nodes' cards and disks.
 */
export function exporterSelector(plan: DeploymentPlan, engine: string): string {
  if (plan.target.kind === "docker") return `host="${engine}"`;
  const group = plan.target.placement.groups.find((g) => g.name === engine);
  if (!group) throw new Error(`no engine group ${engine} in the plan`);
  return `${GPU_MODEL_LABEL}="${group.gpu.id}"`;
}

function uid(stack: string): string {
  return `hi-${stack}`.slice(0, 20);
}

function json(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Every PromQL expression of a rendered dashboard (for the tests and the review). */
export function dashboardQueries(dashboardJson: string): string[] {
  const d = JSON.parse(dashboardJson) as Dashboard;
  return (d.panels ?? []).flatMap((p) => ("targets" in p && Array.isArray(p.targets) ? p.targets : []).map((t) => String((t as { expr?: unknown }).expr ?? "")));
}

/** Grafana provisioning files: the Prometheus datasource, and the folder `dashboardsDir` the dashboards are read from. */
export function grafanaProvisioning(prometheusUrl: string, dashboardsDir: string): { path: string; content: string }[] {
  return [
    {
      path: "/etc/grafana/provisioning/datasources/hybrid-inference.yml",
      content: stringify({ apiVersion: 1, datasources: [{ name: "Prometheus", uid: DATASOURCE_UID, type: "prometheus", access: "proxy", url: prometheusUrl, isDefault: true, editable: false }] }),
    },
    {
      path: "/etc/grafana/provisioning/dashboards/hybrid-inference.yml",
      content: stringify({ apiVersion: 1, providers: [{ name: "hybrid-inference", type: "file", disableDeletion: true, allowUiUpdates: false, options: { path: dashboardsDir } }] }),
    },
  ];
}
