/**
 * The `plan` command's report as text: fit, capacity, routing, placement, costs, problems and
 * resources. The terminal shows exactly `planReport(...)`, and `out/<stack>/plan.txt` holds the
 * same text, so what a reviewer reads in the pull request is what the author saw.
 */
import { renderRouter } from "../render/router-config";
import { formatIssues, type ConfigIssue } from "../config/issues";
import { costSection } from "../costs/plan-costs";
import { frontierWorstDayLine } from "../costs/frontier-worst-day";
import { textTable as table } from "../costs/format";
import { GiB } from "../plan/memory";
import type { DeploymentPlan } from "../plan/types";
import { imageName } from "../render/containers";
import { measuredSummary } from "../plan/measured";
import { rolloutSummary } from "../plan/rollout";
import { placementSummary } from "../render/kubernetes/placement-summary";
import { monitoringSummary } from "../render/monitoring/report";
import { type ResourceRow, resourcesTable } from "./resources";

const gib = (bytes: number) => (bytes / GiB).toFixed(1);
const int = (n: number) => Math.round(n).toLocaleString("en-GB");
const compact = (n: number) =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);

export function planSummary(plan: DeploymentPlan): string {
  const { spec, engine, router } = plan;
  const out: string[] = [];
  out.push(`hybrid-inference plan: stack ${spec.stack} (environment ${spec.environment}, residency ${spec.residency}, target ${spec.target})`, "");
  out.push(`Model     ${plan.model.id} -> ${engine.hfRepo} (${engine.quantization}), served as "${engine.servedModelName}"`);
  out.push(`Engine    ${imageName(engine.image)}: context ${engine.maxModelLen} tokens, up to ${engine.maxNumSeqs} sequences, ` +
    `prefix caching ${engine.enablePrefixCaching ? "on" : "off"}, KV cache ${engine.kvCacheDtype}, gpu_memory_utilization ${engine.gpuMemoryUtilization}`);
  if (engine.lora) {
    out.push(`Adapters  ${engine.lora.adapters.map((a) => `${a.name} (rank ${a.rank}, ${a.hostPath ?? `hf://${a.enginePath}`})`).join(", ")}; ` +
      `max_loras ${engine.lora.maxLoras}, max_lora_rank ${engine.lora.maxLoraRank}`);
  }
  out.push("", "Fit, per GPU (GiB)");
  out.push(table(
    ["host", "gpu", "cards", "tp", "replicas", "budget", "weights", "activations", "runtime", "lora", "kv cache", "kv tokens", `seqs of ${engine.maxModelLen}`],
    plan.hosts.map((h) => [h.name, h.gpu.id, String(h.gpuCount), String(h.tensorParallel), String(h.replicas), gib(h.memory.budget), gib(h.memory.weights),
      gib(h.memory.activations), gib(h.memory.runtime), gib(h.memory.lora), gib(h.memory.kvCache), int(h.memory.kvTokens), String(h.concurrencyAtMaxContext)]),
  ));
  const slo = plan.hosts[0]?.replicaCapacity.slo;
  const instances = Math.max(1, plan.router.instances);
  const perRouter = (rpm: number | undefined): string => (rpm === undefined ? "-" : String(Math.round((rpm / instances) * 10) / 10));
  out.push("", `Capacity (model calibrated against published vLLM runs; requests of ${spec.traffic.avg_input_tokens} in / ${spec.traffic.avg_output_tokens} out tokens, ` +
    `utilisation ${Math.round(spec.traffic.utilisation * 100)}%, SLO ${slo?.ttftMs ?? "-"} ms to first token and ${slo?.tpotMs ?? "-"} ms per token${spec.router.slo ? "" : " (default)"})`);
  const upstream = (name: string) => router.upstreams.find((u) => u.name === name);
  out.push(table(
    ["host", "1-stream tok/s", "requests in engine", "output tok/s", "prefill tok/s", "req/s", "tokens/month", "router rpm, total", `rpm admitted per router (x${instances}, shared by its ${plan.router.numWorkers} workers)`],
    plan.hosts.map((h) => [h.name, h.capacity.singleStreamTokensPerSecond.toFixed(0), String(h.capacity.concurrency), h.capacity.decodeTokensPerSecond.toFixed(0),
      h.capacity.prefillTokensPerSecond.toFixed(0), h.capacity.requestsPerSecond.toFixed(2), compact(h.capacity.tokensPerMonth),
      String(upstream(h.name)?.rpm ?? h.capacity.routerRpm), perRouter(upstream(h.name)?.rpm)]),
  ));
  out.push(instances > 1
    ? `(The router extension admits each engine at its planned rate, one budget for its adapters and every worker; each of the ${instances} router pods keeps its own state, so each admits its share.)`
    : "(The router extension admits each engine at its planned rate: one budget for its adapters and every worker.)");
  out.push(...measuredSummary(plan.hosts));
  for (const h of distinctReplicas(plan)) {
    const r = h.replicaCapacity;
    const measured = h.measured?.curve ? h.measured.curve.points.map((p) => p.concurrency) : [];
    out.push("", `Latency vs load, one replica on ${h.name} (${h.tensorParallel > 1 ? `${h.tensorParallel}x ` : ""}${h.gpu.id}); * = operating point (${r.operatingPoint.boundBy === "slo" ? "the highest load within the SLO" : "85% of saturation"})` +
      (measured.length > 0 ? `; m = measured on ${h.measured!.measuredOn}, other rows interpolated or the model scaled to the nearest measured level` : ""));
    const rows = r.curve.map((p) => [measured.some((c) => Math.abs(c - p.concurrency) < 1e-9) ? "m" : "", Number(p.concurrency.toFixed(2)).toString(), p.ttftMs.toFixed(0), p.tpotMs.toFixed(1), p.outputTokensPerSecond.toFixed(0), p.requestsPerSecond.toFixed(2)]);
    const op = r.operatingPoint;
    rows.push(["*", op.concurrency.toFixed(1), op.ttftMs.toFixed(0), op.tpotMs.toFixed(1), op.outputTokensPerSecond.toFixed(0), op.requestsPerSecond.toFixed(2)]);
    rows.sort((a, b) => Number(a[1]) - Number(b[1]));
    out.push(table(["", "requests in engine", "TTFT ms", "ms/token", "output tok/s", "req/s"], rows));
  }
  const total = plan.hosts.reduce((s, h) => s + h.capacity.tokensPerMonth, 0);
  out.push(`all hosts: ${compact(total)} tokens/month` + (spec.traffic.tokens_per_month !== undefined && total > 0
    ? ` against ${compact(spec.traffic.tokens_per_month)} expected (${Math.round((spec.traffic.tokens_per_month / total) * 100)}% of capacity)`
    : ""));
  const chain = [
    `self-hosted (${plan.hosts.length} host${plan.hosts.length > 1 ? "s" : ""}, by capacity)`,
    ...(router.managed ? [`managed ${router.managed.litellmModel}`] : []),
    ...router.frontier.map((f) => `frontier ${f.litellmModel}`),
  ];
  const where = plan.target.kind === "docker"
    ? `on ${plan.target.routerHost}:${router.port}`
    : `as ${router.instances}+ pods (port ${router.port}; see Placement)`;
  out.push("", `Router    ${imageName(router.image)} ${where}, ${router.numWorkers} workers${router.instances > 1 ? " per pod" : ""}, open to ${router.allowedCidrs.join(", ")}`);
  out.push(`Models    ${router.modelNames.join(", ")}`);
  out.push(`Fallback  ${chain.join(" -> ")}`);
  if (router.frontier[0]) out.push(`Hard      requests tagged "${router.hardTag}" and prompts over ${engine.maxModelLen} tokens go to ${router.frontier[0].litellmModel}`);
  const policy = router.policy;
  if (policy.adapterFallbacks.length > 0) {
    const said = (a: (typeof policy.adapterFallbacks)[number]): string =>
      a.policy === "none" ? "503 naming it" : a.policy === "base" ? "the base model's tiers" : `${a.managed?.litellmModel ?? "?"}`;
    out.push(`Fine-tune when its engines cannot answer: ${policy.adapterFallbacks.map((a) => `${a.adapter} -> ${said(a)} (fallback ${a.policy})`).join("; ")}`);
  }
  const ext = renderRouter(plan).extension.settings;
  out.push(`Hung      an engine call silent ${ext.engine_timeouts.first_token_s} s is cut once the engine fails its health checks, and retried on another engine`);
  const budgets = Object.entries(policy.frontierBudgetUsdPerDay);
  if (budgets.length > 0) out.push(`Budget    frontier USD/day: ${budgets.map(([p, usd]) => `${p} ${usd}`).join(", ")}; requests tagged "${policy.budgetOverrideTag}" may exceed it`);
  const worstDay = frontierWorstDayLine(plan);
  if (worstDay) out.push(worstDay);
  if (policy.escalation.enabled) out.push(`Escalate  low-confidence engine answers are re-asked of ${router.frontier[0]?.litellmModel ?? "frontier"}`);
  const rollout = rolloutSummary(plan);
  if (rollout.length > 0) out.push("", ...rollout);
  const placement = placementSummary(plan);
  if (placement) out.push("", placement);
  out.push("", costSection(plan));
  out.push("", monitoringSummary(plan));
  return out.join("\n");
}

/** One host per distinct replica shape (card and tensor-parallel size; a measured host is its own): their curves are the same. */
function distinctReplicas(plan: DeploymentPlan): DeploymentPlan["hosts"] {
  const seen = new Set<string>();
  return plan.hosts.filter((h) => {
    const key = h.measured !== undefined ? `measured/${h.name}` : `${h.gpu.id}/${h.tensorParallel}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function issuesBlock(issues: readonly ConfigIssue[]): string {
  return issues.length === 0 ? "" : `\nProblems\n${formatIssues(issues)}\n`;
}

export interface TerminalReport {
  readonly plan: DeploymentPlan;
  readonly issues: readonly ConfigIssue[];
  readonly resources: readonly ResourceRow[];
  /** The lines after the resources: where the files went, the diff summary. */
  readonly footer: readonly string[];
}

/** Everything `plan` prints for a stack that planned: the same text goes to out/<stack>/plan.txt. */
export function planReport(r: TerminalReport): string {
  return `${planSummary(r.plan)}\n${issuesBlock(r.issues)}\n${resourcesTable(r.resources)}\n${r.footer.map((l) => `${l}\n`).join("")}`;
}
