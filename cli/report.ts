/** The `plan` command's human-readable report: fit, capacity, routing and resources. */
import { formatIssues, type ConfigIssue } from "../core/config/issues";
import { GiB } from "../core/plan/memory";
import type { DeploymentPlan } from "../core/plan/types";
import { costSection } from "../core/costs/plan-costs";
import { imageName } from "../core/render/containers";
import { placementSummary } from "../core/render/kubernetes/placement-summary";
import { monitoringSummary } from "../core/render/monitoring/report";
import { measuredSummary } from "../core/plan/measured";
import type { RecordedResource } from "./mock-run";

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

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
  out.push("", `Capacity (model calibrated against published vLLM runs; requests of ${spec.traffic.avg_input_tokens} in / ${spec.traffic.avg_output_tokens} out tokens, ` +
    `utilisation ${Math.round(spec.traffic.utilisation * 100)}%, SLO ${slo?.ttftMs ?? "-"} ms to first token and ${slo?.tpotMs ?? "-"} ms per token${spec.router.slo ? "" : " (default)"})`);
  const upstream = (name: string) => router.upstreams.find((u) => u.name === name);
  out.push(table(
    ["host", "1-stream tok/s", "requests in engine", "output tok/s", "prefill tok/s", "req/s", "tokens/month", "router rpm", `rpm per router process (of ${router.numWorkers * router.instances})`],
    plan.hosts.map((h) => [h.name, h.capacity.singleStreamTokensPerSecond.toFixed(0), String(h.capacity.concurrency), h.capacity.decodeTokensPerSecond.toFixed(0),
      h.capacity.prefillTokensPerSecond.toFixed(0), h.capacity.requestsPerSecond.toFixed(2), compact(h.capacity.tokensPerMonth),
      String(upstream(h.name)?.rpm ?? h.capacity.routerRpm), String(upstream(h.name)?.rpmPerProcess ?? "-")]),
  ));
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
  out.push(`all hosts: ${compact(total)} tokens/month` + (spec.traffic.tokens_per_month !== undefined
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

/** One line of the settings that matter for each kind of resource. */
function keySettings(r: RecordedResource): string {
  const i = r.inputs;
  const s = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  switch (r.type) {
    case "docker:index/container:Container": {
      const ports = Array.isArray(i["ports"]) && i["ports"].length > 0 ? s(i["ports"]) : "none published";
      return `name=${s(i["name"])} gpus=${s(i["gpus"] ?? "none")} ports=${ports} envs=${s(i["envs"])}`;
    }
    case "docker:index/remoteImage:RemoteImage":
      return `image=${s(i["name"])}`;
    case "docker:index/network:Network":
      return `name=${s(i["name"])}`;
    case "pulumi:providers:docker":
      return `host=${s(i["host"])}`;
    case "command:remote:Command": {
      // The connection carries the SSH key, so Pulumi keeps all of it secret.
      const create = s(i["create"] ?? "");
      return `${create.length > 100 ? `${create.slice(0, 97)}...` : create}`;
    }
    case "command:local:Command":
      return `local: ${s(i["create"])}`;
    case "random:index/randomPassword:RandomPassword":
      return `length=${s(i["length"])}`;
    default:
      return "";
  }
}

export function resourcesTable(resources: readonly RecordedResource[]): string {
  return `Resources (${resources.length}; secrets shown as [secret])\n` + table(["type", "name", "key settings"], resources.map((r) => [r.type, r.name, keySettings(r)]));
}

export function issuesBlock(issues: readonly ConfigIssue[]): string {
  return issues.length === 0 ? "" : `\nProblems\n${formatIssues(issues)}\n`;
}
