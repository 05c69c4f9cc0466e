/**
 * Costs of a planned stack: rent of its own hosts (plus managed spill above their
 * capacity) against the same tokens on its managed tier and on its frontier tier, at
 * `traffic.tokens_per_month`. `planCosts` is the data (for `plan --json`), `costSection`
 * the text block (for the plan report); both come from the same numbers.
 */
import { DEFAULT_FRONTIER_ID, GBP_USD, MANAGED_PRICES, type ManagedPrice } from "../catalog/prices";
import type { DeploymentPlan } from "../plan/types";
import { gbp, gbpRate, percent, textTable, tokens } from "./format";
import { blendedGbpPerToken } from "./money";
import { DEFAULT_ENGINEER_GBP_PER_MONTH, engineerGbpPerHour, opsHours } from "./ops";
import { findFrontierPrice, pickManagedPrice } from "./prices-lookup";
import { hostRentGbp } from "./rent";
import type { CostParts } from "./types";

export interface PlanCostOptions {
  readonly engineerGbpPerMonth?: number;
  readonly usdPerGbp?: number;
}

export interface PlanCostLine {
  readonly pattern: "self-hosted" | "managed" | "frontier";
  /** What the line prices, e.g. `self-hosted: 2 hosts (2x rtx-5090)`. */
  readonly label: string;
  readonly available: boolean;
  readonly parts: CostParts;
  readonly total: number;
  readonly opsHours: number;
}

export interface PlanCosts {
  readonly tokensPerMonth: number;
  /** `stated`: traffic.tokens_per_month; `capacity`: not stated, so the hosts' own estimate. */
  readonly tokensBasis: "stated" | "capacity";
  readonly inputShare: number;
  /** Tokens/month the stack's hosts serve at its stated utilisation (the plan's estimate). */
  readonly capacityTokensPerMonth: number;
  /** Tokens/month above that capacity, which the router spills to the managed tier. */
  readonly spillTokensPerMonth: number;
  readonly usdPerGbp: number;
  readonly engineerGbpPerMonth: number;
  readonly engineerGbpPerHour: number;
  readonly managedPrice: { readonly provider: string; readonly providerModel: string; readonly gbpPerMTok: number } | null;
  readonly frontierPrice: { readonly id: string; readonly gbpPerMTok: number };
  readonly lines: readonly PlanCostLine[];
  readonly notes: readonly string[];
}

function sum(p: CostParts): number {
  return p.rent + p.ops + p.managedTokens + p.frontierTokens;
}

function stackManagedPrice(plan: DeploymentPlan, inputShare: number, notes: string[]): ManagedPrice | undefined {
  const m = plan.spec.router.managed;
  if (!m) {
    const cheapest = pickManagedPrice(plan.model.id, inputShare);
    if (cheapest) notes.push(`the stack has no managed tier; the managed line prices ${cheapest.provider} (cheapest in the catalog)`);
    return cheapest;
  }
  const providerModel = m.model ?? plan.model.managedIds[m.provider];
  const exact = MANAGED_PRICES.find((p) => p.provider === m.provider && p.providerModel === providerModel);
  if (exact) return exact;
  const fallback = pickManagedPrice(plan.model.id, inputShare);
  notes.push(`no catalog price for ${m.provider} ${providerModel ?? "(no id)"}` + (fallback ? `; priced at ${fallback.provider} ${fallback.providerModel} instead` : ""));
  return fallback;
}

export function planCosts(plan: DeploymentPlan, options: PlanCostOptions = {}): PlanCosts {
  const { spec } = plan;
  const notes: string[] = [];
  const usdPerGbp = options.usdPerGbp ?? GBP_USD.usdPerGbp;
  const engineerGbpPerMonth = options.engineerGbpPerMonth ?? DEFAULT_ENGINEER_GBP_PER_MONTH;
  const rate = engineerGbpPerHour(engineerGbpPerMonth);
  const inputShare = spec.traffic.avg_input_tokens / (spec.traffic.avg_input_tokens + spec.traffic.avg_output_tokens);
  const capacity = plan.hosts.reduce((s, h) => s + h.capacity.tokensPerMonth, 0);
  const stated = spec.traffic.tokens_per_month;
  const T = stated ?? capacity;
  if (stated === undefined) notes.push(`traffic.tokens_per_month is not set: costs are for the hosts' estimated capacity, ${tokens(capacity)} tokens/month`);
  const spill = Math.max(0, T - capacity);
  const fineTunes = spec.adapters.length;

  const managed = stackManagedPrice(plan, inputShare, notes);
  const managedPerToken = managed ? blendedGbpPerToken(managed, inputShare, usdPerGbp) : null;
  const frontierName = spec.router.frontier[0]?.model;
  let frontier = frontierName === undefined ? undefined : findFrontierPrice(frontierName);
  if (!frontier) {
    frontier = findFrontierPrice(DEFAULT_FRONTIER_ID)!;
    notes.push(frontierName === undefined ? `the stack has no frontier tier; the frontier line prices ${frontier.id}` : `no catalog price for ${frontierName}; the frontier line prices ${frontier.id}`);
  }
  const frontierPerToken = blendedGbpPerToken(frontier, inputShare, usdPerGbp);

  let rent = 0;
  for (const h of plan.hosts) {
    const r = hostRentGbp(h.gpu.id, h.gpuCount);
    if (r === undefined) notes.push(`no rent in the catalog for ${h.gpu.id}; host ${h.name} counted at £0`);
    rent += r ?? 0;
  }
  const spillPriced = spill > 0 && managedPerToken !== null;
  if (spill > 0) notes.push(`${tokens(spill)} tokens/month exceed the hosts' capacity and spill to the managed tier` + (managedPerToken === null ? " (no managed price: not costed)" : ""));
  const selfHours = opsHours({ hosts: plan.hosts.length, managed: spillPriced, frontier: false, fineTunes });
  const selfParts: CostParts = { rent, ops: selfHours * rate, managedTokens: spillPriced ? spill * managedPerToken! : 0, frontierTokens: 0 };
  const gpus = [...new Set(plan.hosts.map((h) => `${h.gpuCount}x ${h.gpu.id}`))].join(", ");
  const lines: PlanCostLine[] = [
    { pattern: "self-hosted", label: `self-hosted: ${plan.hosts.length} host${plan.hosts.length > 1 ? "s" : ""} (${gpus})${spill > 0 ? " + spill" : ""}`,
      available: true, parts: selfParts, total: sum(selfParts), opsHours: selfHours },
  ];
  if (managed && managedPerToken !== null) {
    const hours = opsHours({ hosts: 0, managed: true, frontier: false, fineTunes });
    const parts: CostParts = { rent: 0, ops: hours * rate, managedTokens: T * managedPerToken, frontierTokens: 0 };
    lines.push({ pattern: "managed", label: `managed: ${managed.provider} ${managed.providerModel}`, available: true, parts, total: sum(parts), opsHours: hours });
  } else {
    notes.push(`no managed provider in the catalog serves ${plan.model.id}`);
  }
  const fHours = opsHours({ hosts: 0, managed: false, frontier: true, fineTunes: 0 });
  const fParts: CostParts = { rent: 0, ops: fHours * rate, managedTokens: 0, frontierTokens: T * frontierPerToken };
  lines.push({ pattern: "frontier", label: `frontier: ${frontier.provider} ${frontier.id}`, available: true, parts: fParts, total: sum(fParts), opsHours: fHours });
  if (fineTunes > 0) notes.push(`the frontier line cannot serve the stack's ${fineTunes} adapter${fineTunes > 1 ? "s" : ""}; it prices base-model traffic only`);
  if (spec.residency === "uk") notes.push("residency uk: the managed and frontier lines process every token outside the UK");

  return {
    tokensPerMonth: T, tokensBasis: stated === undefined ? "capacity" : "stated", inputShare,
    capacityTokensPerMonth: capacity, spillTokensPerMonth: spill, usdPerGbp, engineerGbpPerMonth, engineerGbpPerHour: rate,
    managedPrice: managed && managedPerToken !== null ? { provider: managed.provider, providerModel: managed.providerModel, gbpPerMTok: managedPerToken * 1e6 } : null,
    frontierPrice: { id: frontier.id, gbpPerMTok: frontierPerToken * 1e6 },
    lines, notes,
  };
}

/** The plan report's cost block. */
export function costSection(plan: DeploymentPlan, options: PlanCostOptions = {}): string {
  const c = planCosts(plan, options);
  const out: string[] = [];
  out.push(`Costs per month (GBP; estimate) for ${tokens(c.tokensPerMonth)} tokens/month${c.tokensBasis === "capacity" ? " (the hosts' capacity)" : ""}, ${percent(c.inputShare)} input`);
  out.push(`USD at ${c.usdPerGbp} per GBP; engineer ${gbp(c.engineerGbpPerMonth)}/month = ${gbpRate(c.engineerGbpPerHour)}/h; prices and sources: core/catalog/prices.ts`);
  out.push(textTable(
    ["pattern", "rent", "ops", "managed tokens", "frontier tokens", "total"],
    c.lines.map((l) => [l.label, gbp(l.parts.rent), `${gbp(l.parts.ops)} (${l.opsHours} h)`, gbp(l.parts.managedTokens), gbp(l.parts.frontierTokens), gbp(l.total)]),
  ));
  const cheapest = [...c.lines].sort((a, b) => a.total - b.total)[0]!;
  out.push(`cheapest: ${cheapest.label} at ${gbp(cheapest.total)}/month`);
  if (plan.spec.residency === "uk" && cheapest.pattern !== "self-hosted") {
    out.push(`residency uk keeps the bulk on UK hosts: the self-hosted line (${gbp(c.lines[0]!.total)}) is the one that applies`);
  }
  for (const n of c.notes) out.push(`note: ${n}`);
  return out.join("\n");
}
