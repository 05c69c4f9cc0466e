/**
 * Prometheus recording and alerting rules, from the plan's monitoring thresholds
 * (core/plan/monitoring.ts), with a `promtool test rules` case per alert that fires and one that
 * stays quiet, generated from the same thresholds: a threshold change moves its test with it.
 */
import { stringify } from "yaml";
import type { EngineThresholds, MonitoringPlan } from "../../plan/monitoring";
import type { DeploymentPlan } from "../../plan/types";
import { DCGM, JOBS, LITELLM, NODE, RECORDED, ROUTER_ERROR_STATUS, VLLM } from "./metrics";
import { type RouterTiers, exactly, routerTiers } from "./router-series";

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Input series of a rule test, in promtool's expanding notation (`5x40`: 41 samples of 5). */
export interface SeriesInput {
  readonly series: string;
  readonly values: string;
}

export interface AlertCase {
  readonly input: readonly SeriesInput[];
  /** Labels the alert carries when it fires (the expression's result labels and the rule's own). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  /** Prometheus duration. */
  readonly for: string;
  readonly labels: { readonly severity: "warning" | "critical" } & Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly description: string };
  /** Input that makes it fire, and input just on the quiet side of its threshold. */
  readonly fires: AlertCase;
  readonly quiet: AlertCase;
}

export interface MonitoringRules {
  readonly recording: readonly RecordingRule[];
  readonly alerts: readonly AlertRule[];
}

/** Seconds to a Prometheus duration. */
function dur(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

const sel = (labels: Readonly<Record<string, string>>): string =>
  `{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;

/** Mount points that can hold the model cache: the cache directory and each of its parents. */
export function cacheMountPoints(dir: string): string[] {
  const parts = dir.replace(/\/+$/, "").split("/").filter((p) => p !== "");
  return ["/", ...parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`)];
}

function recordingRules(t: RouterTiers): RecordingRule[] {
  const e = `job="${JOBS.engine}"`;
  const rules: RecordingRule[] = [
    { record: RECORDED.engineRunning, expr: `sum by (host) (${VLLM.running}{${e}})` },
    { record: RECORDED.engineWaiting, expr: `sum by (host) (${VLLM.waiting}{${e}})` },
    { record: RECORDED.engineKvUsage, expr: `avg by (host) (${VLLM.kvCacheUsage}{${e}})` },
    { record: RECORDED.engineOutputTokensRate, expr: `sum by (host) (rate(${VLLM.generationTokens}{${e}}[5m]))` },
    { record: RECORDED.enginePromptTokensRate, expr: `sum by (host) (rate(${VLLM.promptTokens}{${e}}[5m]))` },
    { record: RECORDED.engineTtftP50, expr: `histogram_quantile(0.5, sum by (host, le) (rate(${VLLM.ttft}_bucket{${e}}[5m])))` },
    { record: RECORDED.engineItlP50, expr: `histogram_quantile(0.5, sum by (host, le) (rate(${VLLM.interTokenLatency}_bucket{${e}}[5m])))` },
    { record: RECORDED.gpuThermalThrottle, expr: `rate(${DCGM.thermalViolation}{job="${JOBS.gpu}"}[5m]) / 1e9` },
  ];
  const r = `job="${JOBS.router}"`;
  const tierIds: [string, readonly string[]][] = [["self_hosted", t.selfHosted], ["managed", [...t.overflow, ...t.managed]], ["frontier", t.frontier]];
  for (const [tier, ids] of tierIds) {
    if (ids.length === 0) continue;
    rules.push({ record: RECORDED.routerTierRate, expr: `sum(rate(${LITELLM.deploymentSuccess}{${r},model_id=~"${exactly(ids)}"}[5m]))`, labels: { tier } });
  }
  // Spilled: answers for a self-hosted group by its managed overflow deployment, plus successful
  // fallbacks from a self-hosted group into another group. LiteLLM relabels a fallback's own
  // success with the fallback group, so fallbacks are counted on the fallback counter, which keeps
  // the group the client asked for (requested_model). A "fallback" into the same group is LiteLLM
  // moving to the group's next `order` (the overflow), already counted by its success.
  const groups = exactly(t.selfHostedGroups);
  const spilledParts = [
    ...(t.overflow.length > 0 ? [`sum(rate(${LITELLM.deploymentSuccess}{${r},model_id=~"${exactly(t.overflow)}"}[1h]))`] : []),
    ...(t.fallbackGroups.length > 0 ? [`sum(rate(${LITELLM.fallbacksSucceeded}{${r},requested_model=~"${groups}",fallback_model=~"${exactly(t.fallbackGroups)}"}[1h]))`] : []),
  ];
  if (spilledParts.length > 0 && t.selfHosted.length > 0) {
    const spilled = spilledParts.map((p) => `(${p} or vector(0))`).join(" + ");
    const served = `(sum(rate(${LITELLM.deploymentSuccess}{${r},model_id=~"${exactly(t.selfHosted)}"}[1h])) or vector(0))`;
    rules.push({ record: RECORDED.spillShare, expr: `(${spilled}) / clamp_min(${served} + ${spilled}, 1e-9)` });
  }
  rules.push(
    { record: RECORDED.fallbackRate, expr: `sum(rate(${LITELLM.fallbacksSucceeded}{${r}}[5m]))`, labels: { outcome: "succeeded" } },
    { record: RECORDED.fallbackRate, expr: `sum(rate(${LITELLM.fallbacksFailed}{${r}}[5m]))`, labels: { outcome: "failed" } },
    { record: RECORDED.errorRate, expr: `sum(rate(${LITELLM.proxyRequests}{${r},status_code=~"${ROUTER_ERROR_STATUS}"}[5m]))` },
    { record: RECORDED.routerLatencyP50, expr: `histogram_quantile(0.5, sum by (le) (rate(${LITELLM.requestLatency}_bucket{${r}}[5m])))` },
  );
  if (t.frontier.length > 0) {
    rules.push({
      record: RECORDED.frontierSpendPerDay,
      expr: `label_replace(sum by (api_provider) (rate(${LITELLM.spend}{${r},model_id=~"${exactly(t.frontier)}"}[1h])) * 86400, "provider", "$1", "api_provider", "(.*)")`,
    });
  }
  return rules;
}

/** Rule evaluations a `for` needs, plus the scrape before it, as a test's evaluation time. */
function after(forSeconds: number, interval: number): string {
  return dur(forSeconds + 4 * interval);
}

function engineAlerts(engines: readonly EngineThresholds[], interval: number): AlertRule[] {
  const out: AlertRule[] = [];
  const n = (s: number) => Math.ceil(s / interval) + 4; // samples covering `s` seconds and the evaluation
  const down = engines[0]?.downForSeconds ?? 90;
  const first = engines[0]?.name ?? "engine";
  out.push({
    alert: "EngineDown",
    expr: `up{job="${JOBS.engine}"} == 0`,
    for: dur(down),
    labels: { severity: "warning" },
    annotations: { summary: "engine on {{ $labels.host }} does not answer /metrics", description: `The router sends its traffic to the other engines and the managed tier meanwhile. Down for ${dur(down)} (Docker's health verdict: 3 checks 30 s apart).` },
    fires: { input: [{ series: `up{job="${JOBS.engine}",host="${first}",instance="e:8000"}`, values: `0x${n(down)}` }], labels: { host: first, instance: "e:8000", job: JOBS.engine } },
    quiet: { input: [{ series: `up{job="${JOBS.engine}",host="${first}",instance="e:8000"}`, values: `1x${n(down)}` }] },
  });
  for (const e of engines) {
    const waiting = `${RECORDED.engineWaiting}{host="${e.name}"}`;
    out.push({
      alert: "EngineSaturated",
      expr: `${waiting} > ${e.waitingMax}`,
      for: "5m",
      labels: { severity: "warning", host: e.name },
      annotations: {
        summary: `engine on ${e.name}: requests waiting for a batch slot`,
        description: `More than ${e.waitingMax} requests waiting: a new request's first token misses the SLO. The plan expects about ${e.plannedRunning.toFixed(1)} requests running and none waiting at the router's limits; check the router's rpm limits and the engine's real speed.`,
      },
      fires: { input: [{ series: `${VLLM.waiting}{job="${JOBS.engine}",host="${e.name}",engine="0"}`, values: `${e.waitingMax + 1}x${n(300)}` }], labels: { host: e.name } },
      quiet: { input: [{ series: `${VLLM.waiting}{job="${JOBS.engine}",host="${e.name}",engine="0"}`, values: `${e.waitingMax}x${n(300)}` }] },
    });
    out.push({
      alert: "EngineKvCacheAbovePlan",
      expr: `${RECORDED.engineKvUsage}{host="${e.name}"} > ${e.kvUsageMax}`,
      for: "10m",
      labels: { severity: "warning", host: e.name },
      annotations: {
        summary: `engine on ${e.name}: KV cache fuller than the plan`,
        description: `Above ${(e.kvUsageMax * 100).toFixed(1)}%, the use the planned request shape reaches at the engine's concurrency limit: prompts or answers are longer than traffic.avg_input_tokens/avg_output_tokens say, so the capacity behind the router's limits is smaller than planned.`,
      },
      fires: { input: [{ series: `${VLLM.kvCacheUsage}{job="${JOBS.engine}",host="${e.name}",engine="0"}`, values: `${Math.min(1, e.kvUsageMax + 0.01)}x${n(600)}` }], labels: { host: e.name } },
      quiet: { input: [{ series: `${VLLM.kvCacheUsage}{job="${JOBS.engine}",host="${e.name}",engine="0"}`, values: `${e.kvUsageMax}x${n(600)}` }] },
    });
  }
  out.push({
    alert: "EnginePreempting",
    expr: `sum by (host) (increase(${VLLM.preemptions}{job="${JOBS.engine}"}[10m])) > 0`,
    for: "0s",
    labels: { severity: "warning" },
    annotations: { summary: "engine on {{ $labels.host }} preempts requests", description: "The KV cache ran out and vLLM evicted running requests to recompute them later: latency spikes. Lower the router's limits or shorten max_model_len." },
    fires: { input: [{ series: `${VLLM.preemptions}{job="${JOBS.engine}",host="${first}",engine="0"}`, values: `0+1x${n(600)}` }], labels: { host: first } },
    quiet: { input: [{ series: `${VLLM.preemptions}{job="${JOBS.engine}",host="${first}",engine="0"}`, values: `3x${n(600)}` }] },
  });
  return out;
}

/**
 * Kubernetes: fewer engine replicas serving than the plan placed. A pod that runs but does not
 * answer is EngineDown; one that never runs (Pending: no node with a free card, an image that
 * does not pull) is no scrape target at all, so only a count against the plan sees it. It waits
 * out a replica's planned start (download and load) and five minutes more.
 */
function replicaAlerts(engines: readonly EngineThresholds[], startupSeconds: number, interval: number): AlertRule[] {
  const forSeconds = Math.ceil((startupSeconds + 300) / 60) * 60;
  const replicas = (e: EngineThresholds, n: number) => `${n} ${n === 1 ? "replica" : "replicas"} of ${e.name}`;
  const up = (e: EngineThresholds, i: number, value: 0 | 1): SeriesInput => ({
    series: `up{job="${JOBS.engine}",host="${e.name}",instance="10.42.${engines.indexOf(e)}.${i + 1}:8000"}`,
    values: `${value}x${Math.ceil(forSeconds / interval) + 4}`,
  });
  // Every other group serves all its replicas in both cases: the rule is one per group.
  const others = (e: EngineThresholds) => engines.filter((o) => o !== e).flatMap((o) => Array.from({ length: o.replicas }, (_, i) => up(o, i, 1)));
  return engines.map((e): AlertRule => ({
    alert: "EngineReplicasMissing",
    expr: `(count(up{job="${JOBS.engine}",host="${e.name}"} == 1) or vector(0)) < ${e.replicas}`,
    for: dur(forSeconds),
    labels: { severity: "warning", host: e.name },
    annotations: {
      summary: `engine group ${e.name}: fewer than ${e.replicas} ${e.replicas === 1 ? "replica" : "replicas"} serving`,
      description: `The plan places ${replicas(e, e.replicas)}; fewer have answered /metrics for ${dur(forSeconds)} (a replica's planned start and 5 minutes). Look for Pending pods: kubectl get pods -l hybrid-inference/engine-group=${e.name}.`,
    },
    // One replica fewer than planned serves (a single replica: its pod runs but does not answer).
    fires: {
      input: [...(e.replicas > 1 ? Array.from({ length: e.replicas - 1 }, (_, i) => up(e, i, 1)) : [up(e, 0, 0)]), ...others(e)],
      labels: { host: e.name },
    },
    quiet: { input: [...Array.from({ length: e.replicas }, (_, i) => up(e, i, 1)), ...others(e)] },
  }));
}

/** Every alert with its test cases. */
function alertRules(plan: DeploymentPlan, mp: MonitoringPlan, t: RouterTiers): AlertRule[] {
  const interval = mp.scrapeIntervalSeconds;
  const n = (s: number) => Math.ceil(s / interval) + 4;
  const out = engineAlerts(mp.engines, interval);
  if (plan.target.kind === "kubernetes") out.push(...replicaAlerts(mp.engines, plan.engine.startupSeconds, interval));
  const hostName = plan.hosts[0]!.name;

  // Router: down for as long as its own health check takes to say so (15 s x 3).
  out.push({
    alert: "RouterDown",
    expr: `up{job="${JOBS.router}"} == 0`,
    for: "45s",
    labels: { severity: "critical" },
    annotations: { summary: "the router's metrics do not answer", description: "No client request is being served, or the router's metrics process died (LiteLLM --prometheus_metrics_port)." },
    fires: { input: [{ series: `up{job="${JOBS.router}",instance="r:4001"}`, values: `0x${n(45)}` }], labels: { instance: "r:4001", job: JOBS.router } },
    quiet: { input: [{ series: `up{job="${JOBS.router}",instance="r:4001"}`, values: `1x${n(45)}` }] },
  });

  if (mp.spillAlertShare < 1 && t.selfHosted.length > 0 && (t.overflow.length > 0 || t.fallbackGroups.length > 0)) {
    const share = mp.spillAlertShare;
    out.push({
      alert: "SpillAbovePlan",
      expr: `${RECORDED.spillShare} > ${share}`,
      for: "30m",
      labels: { severity: "warning" },
      annotations: {
        summary: "more self-hosted traffic answered by API tiers than planned",
        description: `The plan expects ${(mp.expectedSpillShare * 100).toFixed(1)}% (traffic.tokens_per_month against the engines' capacity at the SLO); the alert allows ${((share - mp.expectedSpillShare) * 100).toFixed(0)} points more. Traffic grew, or an engine is slower or down: the API tiers bill for every spilled token.`,
      },
      fires: { input: spillInput(t, share + 0.1, n(3600 + 1800)), labels: {} },
      quiet: { input: spillInput(t, Math.max(0, share - 0.02), n(3600 + 1800)) },
    });
  }

  for (const [provider, budget] of Object.entries(mp.frontierBudgetUsdPerDay)) {
    const frontierId = t.frontier.find((id) => id.endsWith(`@${provider}`)) ?? t.frontier[0] ?? "frontier";
    const perSecond = (usdPerDay: number) => usdPerDay / 86400;
    const spend = (usdPerDay: number): SeriesInput => ({
      series: `${LITELLM.spend}{job="${JOBS.router}",model_id="${frontierId}",api_provider="${provider}"}`,
      values: `0+${(perSecond(usdPerDay) * interval).toPrecision(6)}x${n(3600 + 900)}`,
    });
    out.push({
      alert: "FrontierSpendAboveBudget",
      expr: `${RECORDED.frontierSpendPerDay}{provider="${provider}"} > ${budget}`,
      for: "15m",
      labels: { severity: "warning", provider },
      annotations: { summary: `${provider} spend above its daily budget`, description: `The last hour's frontier spend, at a daily rate, is above the stack's budget of ${budget} USD/day for ${provider}.` },
      fires: { input: [spend(budget * 1.2)], labels: { provider, api_provider: provider } },
      quiet: { input: [spend(budget * 0.8)] },
    });
  }

  const gpuLabels = `job="${JOBS.gpu}",host="${hostName}",gpu="0",instance="g:9400"`;
  out.push({
    alert: "GpuXidError",
    expr: `max by (host, gpu, xid) (${DCGM.xidErrors}{job="${JOBS.gpu}"}) > 0`,
    for: "0s",
    labels: { severity: "critical" },
    annotations: { summary: "XID {{ $labels.xid }} on {{ $labels.host }} GPU {{ $labels.gpu }}", description: "The driver reported a GPU error (NVIDIA XID catalogue: 13/31/43 application faults, 48/63/64/94/95 memory ECC, 79 fallen off the bus). The engine on this host may need a restart or the host a reboot." },
    fires: { input: [{ series: `${DCGM.xidErrors}{${gpuLabels},xid="79"}`, values: `0 0 1x${n(60)}` }], labels: { host: hostName, gpu: "0", xid: "79" } },
    quiet: { input: [{ series: `${DCGM.xidErrors}{${gpuLabels},xid="79"}`, values: `0x${n(60)}` }] },
  });
  out.push({
    alert: "GpuAtSlowdownTemperature",
    expr: `${DCGM.gpuTemp}{job="${JOBS.gpu}"} >= ${DCGM.slowdownTemp}{job="${JOBS.gpu}"}`,
    for: "5m",
    labels: { severity: "warning" },
    annotations: { summary: "GPU {{ $labels.gpu }} on {{ $labels.host }} at its slowdown temperature", description: "At or above the card's own slowdown temperature (DCGM field 158): the card throttles its clocks and the engine serves less than planned. Check the host's cooling." },
    fires: { input: [{ series: `${DCGM.gpuTemp}{${gpuLabels}}`, values: `90x${n(300)}` }, { series: `${DCGM.slowdownTemp}{${gpuLabels}}`, values: `88x${n(300)}` }], labels: { host: hostName, gpu: "0", instance: "g:9400", job: JOBS.gpu } },
    quiet: { input: [{ series: `${DCGM.gpuTemp}{${gpuLabels}}`, values: `87x${n(300)}` }, { series: `${DCGM.slowdownTemp}{${gpuLabels}}`, values: `88x${n(300)}` }] },
  });
  out.push({
    alert: "GpuThermalThrottling",
    expr: `${RECORDED.gpuThermalThrottle} > 0`,
    for: "10m",
    labels: { severity: "warning" },
    annotations: { summary: "GPU {{ $labels.gpu }} on {{ $labels.host }} throttled for heat", description: "The driver lowers the clocks for heat (DCGM thermal violation time): the engine is slower than its planned capacity." },
    fires: { input: [{ series: `${DCGM.thermalViolation}{${gpuLabels}}`, values: `0+${(0.1 * interval * 1e9).toFixed(0)}x${n(600 + 300)}` }], labels: { host: hostName, gpu: "0", instance: "g:9400", job: JOBS.gpu } },
    quiet: { input: [{ series: `${DCGM.thermalViolation}{${gpuLabels}}`, values: `5x${n(600 + 300)}` }] },
  });

  const mounts = exactly(cacheMountPoints(mp.modelCache.dir));
  const fs = `${NODE.filesystemAvail}{job="${JOBS.node}",mountpoint=~"${mounts}",fstype!~"tmpfs|overlay|squashfs"}`;
  const gb = (b: number) => (b / 1e9).toFixed(0);
  const fsLabels = `job="${JOBS.node}",host="${hostName}",instance="n:9100",device="/dev/nvme0n1p2",fstype="ext4",mountpoint="/"`;
  out.push({
    alert: "ModelCacheDiskLow",
    expr: `${fs} < ${mp.modelCache.minFreeBytes}`,
    for: "10m",
    labels: { severity: "warning" },
    annotations: { summary: "{{ $labels.host }}: {{ $labels.mountpoint }} is low on space for the model cache", description: `The filesystem holding ${mp.modelCache.dir} has less than ${gb(mp.modelCache.minFreeBytes)} GB free, one more copy of the weights: the next model or engine upgrade cannot download next to the serving one.` },
    fires: { input: [{ series: `${NODE.filesystemAvail}{${fsLabels}}`, values: `${mp.modelCache.minFreeBytes - 1e9}x${n(600)}` }], labels: { host: hostName, instance: "n:9100", job: JOBS.node, device: "/dev/nvme0n1p2", fstype: "ext4", mountpoint: "/" } },
    quiet: { input: [{ series: `${NODE.filesystemAvail}{${fsLabels}}`, values: `${mp.modelCache.minFreeBytes + 1e9}x${n(600)}` }] },
  });
  out.push({
    alert: "ModelCacheDiskFilling",
    expr: `predict_linear(${fs}[6h], 86400) < 0`,
    for: "1h",
    labels: { severity: "warning" },
    annotations: { summary: "{{ $labels.host }}: {{ $labels.mountpoint }} full within a day at this rate", description: `The filesystem holding ${mp.modelCache.dir} fills within 24 h at the last 6 h's rate.` },
    fires: { input: [{ series: `${NODE.filesystemAvail}{${fsLabels}}`, values: `${5e11}-${(5e11 / ((2 * 3600) / interval) * 1.5).toFixed(0)}x${n(2.5 * 3600)}` }], labels: { host: hostName, instance: "n:9100", job: JOBS.node, device: "/dev/nvme0n1p2", fstype: "ext4", mountpoint: "/" } },
    quiet: { input: [{ series: `${NODE.filesystemAvail}{${fsLabels}}`, values: `${5e11}x${n(2.5 * 3600)}` }] },
  });

  if (mp.edgeCertificate) {
    const c = mp.edgeCertificate;
    const probe = `job="edge-certificate",instance="https://${c.domain}"`;
    const expiry = (daysLeft: number) => `${(1_000_000 + daysLeft * 86400).toFixed(0)}x${n(600)}`;
    out.push({
      alert: "EdgeCertificateExpiring",
      expr: `(probe_ssl_earliest_cert_expiry{job="edge-certificate"} - time()) / 86400 < ${c.alertDays}`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: { summary: `the certificate of ${c.domain} expires within ${c.alertDays} days`, description: `Fewer than ${c.alertDays} days left. Automatic certificates renew at 30 days left: check the edge's logs (docker logs <stack>-edge); a provided one needs a new certificate_secret and pulumi up.` },
      // promtool's clock starts at 0: a certificate expiring 1e6 s + N days after the epoch.
      fires: { input: [{ series: `probe_ssl_earliest_cert_expiry{${probe}}`, values: expiry(c.alertDays - 1 + 1_000_000 / 86400 - 1_000_000 / 86400) }], labels: { instance: `https://${c.domain}`, job: "edge-certificate" } },
      quiet: { input: [{ series: `probe_ssl_earliest_cert_expiry{${probe}}`, values: expiry(c.alertDays + 1) }] },
    });
  }
  return out;
}

/** Router counters where `share` of self-hosted traffic spills, at 10 answers per scrape interval in all. */
function spillInput(t: RouterTiers, share: number, samples: number): SeriesInput[] {
  const perStep = 10;
  const spilled = perStep * share;
  const served = perStep - spilled;
  const r = `job="${JOBS.router}"`;
  const input: SeriesInput[] = [{ series: `${LITELLM.deploymentSuccess}{${r},model_id="${t.selfHosted[0]}",requested_model="${t.selfHostedGroups[0]}"}`, values: `0+${served.toFixed(3)}x${samples}` }];
  if (t.overflow.length > 0) {
    input.push({ series: `${LITELLM.deploymentSuccess}{${r},model_id="${t.overflow[0]}",requested_model="${t.selfHostedGroups[0]}"}`, values: `0+${spilled.toFixed(3)}x${samples}` });
  } else {
    input.push({ series: `${LITELLM.fallbacksSucceeded}{${r},requested_model="${t.selfHostedGroups[0]}",fallback_model="${t.fallbackGroups[0]}"}`, values: `0+${spilled.toFixed(3)}x${samples}` });
  }
  return input;
}

export function monitoringRules(plan: DeploymentPlan, mp: MonitoringPlan): MonitoringRules {
  const tiers = routerTiers(plan);
  return { recording: recordingRules(tiers), alerts: alertRules(plan, mp, tiers) };
}

export interface RuleGroup {
  readonly name: string;
  readonly interval: string;
  readonly rules: {
    readonly record?: string;
    readonly alert?: string;
    readonly expr: string;
    readonly for?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  }[];
}

/** The rule groups: what a rule file holds (`groups:`), and a PrometheusRule's spec. */
export function ruleGroups(rules: MonitoringRules, intervalSeconds: number): RuleGroup[] {
  return [
    { name: "hybrid-inference-recording", interval: dur(intervalSeconds), rules: rules.recording.map((r) => ({ record: r.record, expr: r.expr, ...(r.labels ? { labels: r.labels } : {}) })) },
    {
      name: "hybrid-inference-alerts",
      interval: dur(intervalSeconds),
      rules: rules.alerts.map((a) => ({ alert: a.alert, expr: a.expr, for: a.for, labels: a.labels, annotations: a.annotations })),
    },
  ];
}

/** The rule file Prometheus loads (`rule_files`), as YAML. */
export function renderRuleFile(rules: MonitoringRules, intervalSeconds: number): string {
  return `# Rendered by hybrid-inference from the plan: thresholds from the planned capacity.\n${stringify({ groups: ruleGroups(rules, intervalSeconds) }, { lineWidth: 0 })}`;
}

/**
 * `promtool test rules` input: per alert one test where it fires (with the labels it must carry)
 * and one where it stays quiet, at the evaluation time its `for` needs.
 */
export function renderRuleTests(rules: MonitoringRules, ruleFile: string, intervalSeconds: number): string {
  const seconds = (d: string): number => {
    const m = /^([0-9]+)(s|m|h)$/.exec(d);
    return m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as "s" | "m" | "h"] : 0;
  };
  const windowOf = (a: AlertRule): number => {
    // The longest range in the expression (rate windows need that much history before `for` starts).
    // A recorded series read by the alert brings the ranges of its recording rule.
    const exprs = [a.expr, ...rules.recording.filter((r) => a.expr.includes(r.record)).map((r) => r.expr)];
    // Capped at an hour: rate() and predict_linear() answer from a partly filled window, and a
    // test input need not cover a 6 h prediction window to show the trend.
    const ranges = exprs.flatMap((e) => [...e.matchAll(/\[([0-9]+[smh])\]/g)].map((m) => seconds(m[1]!)));
    return Math.min(3600, Math.max(0, ...ranges));
  };
  const tests = rules.alerts.flatMap((a) => {
    const evalTime = after(seconds(a.for) + windowOf(a), intervalSeconds);
    const labels = { ...(a.fires.labels ?? {}), ...a.labels };
    // Annotations hold `{{ $labels.x }}` only, so the expected text is known from the labels.
    const annotations = Object.fromEntries(Object.entries(a.annotations).map(([k, v]) =>
      [k, v.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, l: string) => labels[l] ?? "")]));
    return [
      {
        name: `${a.alert} fires`,
        interval: dur(intervalSeconds),
        input_series: a.fires.input.map((s) => ({ series: s.series, values: s.values })),
        alert_rule_test: [{ eval_time: evalTime, alertname: a.alert, exp_alerts: [{ exp_labels: labels, exp_annotations: annotations }] }],
      },
      {
        name: `${a.alert} stays quiet`,
        interval: dur(intervalSeconds),
        input_series: a.quiet.input.map((s) => ({ series: s.series, values: s.values })),
        alert_rule_test: [{ eval_time: evalTime, alertname: a.alert, exp_alerts: [] }],
      },
    ];
  });
  return stringify({ rule_files: [ruleFile], evaluation_interval: dur(intervalSeconds), tests }, { lineWidth: 0 });
}
