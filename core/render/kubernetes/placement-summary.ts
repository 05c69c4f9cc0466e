/**
 * The placement as text for the `plan` report: which node runs how many engine replicas of
 * which group, what each replica holds in GPU memory and serves, how each group rolls out, and
 * how the router spreads traffic. Empty for plans of the docker target.
 */
import { GiB } from "../../plan/memory";
import type { DeploymentPlan, EngineUpstream } from "../../plan/types";
import { K3S_VERSION } from "./versions";

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const gib = (bytes: number): string => (bytes / GiB).toFixed(1);
const int = (n: number): string => Math.round(n).toLocaleString("en-GB");
const compact = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);

export function placementSummary(plan: DeploymentPlan): string {
  if (plan.target.kind !== "kubernetes") return "";
  const { placement, settings: k } = plan.target;
  const upstream = (group: string): EngineUpstream => plan.router.upstreams.find((u) => u.name === group)!;
  const cluster = k.cluster === "k3s" ? `k3s ${k.version ?? K3S_VERSION} on the stack's hosts` : "an existing cluster";
  const out: string[] = [];
  out.push(`Placement (kubernetes: ${cluster}, namespace ${k.namespace}; every replica serves ${plan.engine.maxModelLen} tokens of context)`);
  out.push(table(
    ["node", "gpu", "cards", "group", "tp", "slots", "replicas", "gpus used", "budget/gpu", "needs/gpu", "kv tokens"],
    placement.nodes.map((n) => {
      const m = n.memory;
      const needs = m.weights + m.activations + m.runtime + m.lora + plan.engine.maxModelLen * m.kvBytesPerTokenPerGpu;
      return [n.node, n.gpu, String(n.gpuCount), n.group, String(n.tensorParallel), String(n.slots), String(n.replicas),
        `${n.gpusUsed}/${n.gpuCount}`, gib(m.budget), gib(needs), int(m.kvTokens)];
    }),
  ));
  out.push("", "Engine groups (one Deployment and ClusterIP Service each; the router weights them by rpm)");
  out.push(table(
    ["group", "replicas", "gpus/pod", "rollout", "req/s/replica", "rpm/replica", "router rpm", "router tpm", "tokens/month"],
    placement.groups.map((g) => [g.name, `${g.replicas}/${g.slots}`, String(g.tensorParallel),
      g.rollout.maxSurge > 0 ? "surge 1 (spare slot)" : "1 unavailable at a time",
      g.perReplica.requestsPerSecond.toFixed(2), String(g.perReplica.routerRpm), String(upstream(g.name).rpm), String(upstream(g.name).tpm), compact(g.tokensPerMonth)]),
  ));
  const total = placement.groups.reduce((s, g) => s + upstream(g.name).rpm, 0);
  const shares = placement.groups.map((g) => `${g.name} ${Math.round((upstream(g.name).rpm / Math.max(1, total)) * 100)}%`).join(", ");
  out.push(`traffic split: ${shares}`);
  const maxReplicas = k.router_max_replicas ?? k.router_replicas * 3;
  out.push(`Router    ${k.router_replicas}-${maxReplicas} pods (HorizontalPodAutoscaler on CPU); each pod admits 1/${k.router_replicas} of every group's limits; ` +
    (k.ingress ? `Ingress ${k.ingress.host}` : `LoadBalancer Service on port ${plan.router.port}, open to ${plan.router.allowedCidrs.join(", ")}`));
  return out.join("\n");
}
