/**
 * Costs of a planned stack. With `traffic.tokens_per_month` stated: the month's bill of its own
 * hosts (plus managed spill above their capacity) against the same tokens on its managed tier and
 * on a frontier API. Without it there is no volume to bill, so the answer is rates: what the hosts
 * cost per month whatever the traffic (and per 1M tokens at their full capacity), what each API
 * costs per 1M tokens, and the volume at which self-hosting and the managed tier cost the same.
 * `planCosts` is the data (for `plan --json`), `costSection` the text block; both come from the
 * same numbers.
 */
import { DEFAULT_FRONTIER_ID, GBP_USD, type ManagedPrice } from "../catalog/prices";
import type { DeploymentPlan } from "../plan/types";
import { costAssumptions } from "./assumptions";
import { gbp, gbpRate, percent, textTable, tokens } from "./format";
import { blendedGbpPerToken } from "./money";
import { DEFAULT_ENGINEER_GBP_PER_MONTH, engineerGbpPerHour, opsHours } from "./ops";
import { type ManagedChoice, chooseManagedPrice, findFrontierPrice } from "./prices-lookup";
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

/** A managed price as the report shows it. */
export interface PricedManaged {
  readonly provider: string;
  readonly providerModel: string;
  readonly gbpPerMTok: number;
}

/** What each tier costs apart from the volume: the answer when no volume is stated. */
export interface PlanRates {
  readonly rentGbpPerMonth: number;
  readonly selfHostedOpsHours: number;
  /** Rent and ops of the stack's hosts: what they cost per month however little they serve. */
  readonly selfHostedGbpPerMonth: number;
  /** That monthly cost spread over the hosts' full capacity (the least a self-hosted token can cost). */
  readonly selfHostedGbpPerMTokAtCapacity: number;
  readonly managedGbpPerMTok: number | null;
  readonly managedOpsHours: number;
  readonly managedOpsGbpPerMonth: number;
  readonly frontierGbpPerMTok: number;
  readonly frontierOpsHours: number;
  readonly frontierOpsGbpPerMonth: number;
  /**
   * Tokens/month at which the managed tier alone costs what the hosts cost (null without a
   * managed price); above it the hosts are cheaper, as long as they can carry the volume.
   */
  readonly breakEvenTokensPerMonth: number | null;
}

export interface PlanCosts {
  /** `traffic.tokens_per_month`, or null when the stack does not state it (then `lines` is empty: see `rates`). */
  readonly tokensPerMonth: number | null;
  readonly inputShare: number;
  /** Tokens/month the stack's hosts serve at its stated utilisation (the plan's estimate). */
  readonly capacityTokensPerMonth: number;
  /** Tokens/month above that capacity, which the router spills to the managed tier. */
  readonly spillTokensPerMonth: number;
  readonly usdPerGbp: number;
  readonly engineerGbpPerMonth: number;
  readonly engineerGbpPerHour: number;
  /** How the managed price was chosen (the rule `recommend` uses too) and the other providers' prices. */
  readonly managed: {
    readonly basis: ManagedChoice["basis"];
    readonly price: PricedManaged | null;
    readonly alternatives: readonly PricedManaged[];
  };
  readonly frontierPrice: { readonly id: string; readonly provider: string; readonly gbpPerMTok: number };
  readonly rates: PlanRates;
  /** The month's bill by pattern, when the volume is stated. */
  readonly lines: readonly PlanCostLine[];
  readonly notes: readonly string[];
  readonly assumptions: readonly string[];
}

function sum(p: CostParts): number {
  return p.rent + p.ops + p.managedTokens + p.frontierTokens;
}

export function planCosts(plan: DeploymentPlan, options: PlanCostOptions = {}): PlanCosts {
  const { spec } = plan;
  const notes: string[] = [];
  const usdPerGbp = options.usdPerGbp ?? GBP_USD.usdPerGbp;
  const engineerGbpPerMonth = options.engineerGbpPerMonth ?? DEFAULT_ENGINEER_GBP_PER_MONTH;
  const rate = engineerGbpPerHour(engineerGbpPerMonth);
  const inputShare = spec.traffic.avg_input_tokens / (spec.traffic.avg_input_tokens + spec.traffic.avg_output_tokens);
  const capacity = plan.hosts.reduce((s, h) => s + h.capacity.tokensPerMonth, 0);
  const stated = spec.traffic.tokens_per_month ?? null;
  const fineTunes = spec.adapters.length;
  const priced = (p: ManagedPrice): PricedManaged => ({ provider: p.provider, providerModel: p.providerModel, gbpPerMTok: blendedGbpPerToken(p, inputShare, usdPerGbp) * 1e6 });

  const m = spec.router.managed;
  const choice = chooseManagedPrice(plan.model.id, inputShare, m ? { provider: m.provider, providerModel: m.model ?? plan.model.managedIds[m.provider] } : undefined);
  const managed = choice.chosen;
  if (choice.basis === "cheapest" && managed) notes.push(`the stack has no managed tier; the managed line prices ${managed.provider} (the cheapest in the catalog)`);
  if (choice.basis === "asked-unpriced") {
    notes.push(`no catalog price for ${m!.provider} ${m!.model ?? plan.model.managedIds[m!.provider] ?? "(no id)"}` + (managed ? `; priced at ${managed.provider} ${managed.providerModel} instead` : ""));
  }
  if (!managed) notes.push(`no managed provider in the catalog serves ${plan.model.id}`);
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
  const selfHours = opsHours({ hosts: plan.hosts.length, managed: false, frontier: false, fineTunes });
  const selfFixed = rent + selfHours * rate;
  const managedHours = opsHours({ hosts: 0, managed: true, frontier: false, fineTunes });
  const frontierHours = opsHours({ hosts: 0, managed: false, frontier: true, fineTunes: 0 });
  const rates: PlanRates = {
    rentGbpPerMonth: rent,
    selfHostedOpsHours: selfHours,
    selfHostedGbpPerMonth: selfFixed,
    selfHostedGbpPerMTokAtCapacity: capacity > 0 ? (selfFixed / capacity) * 1e6 : Infinity,
    managedGbpPerMTok: managedPerToken === null ? null : managedPerToken * 1e6,
    managedOpsHours: managedHours,
    managedOpsGbpPerMonth: managedHours * rate,
    frontierGbpPerMTok: frontierPerToken * 1e6,
    frontierOpsHours: frontierHours,
    frontierOpsGbpPerMonth: frontierHours * rate,
    breakEvenTokensPerMonth: managedPerToken === null || managedPerToken <= 0 ? null : Math.max(0, (selfFixed - managedHours * rate) / managedPerToken),
  };

  const spill = stated === null ? 0 : Math.max(0, stated - capacity);
  const lines: PlanCostLine[] = [];
  if (stated !== null) {
    const spillPriced = spill > 0 && managedPerToken !== null;
    if (spill > 0) notes.push(`${tokens(spill)} tokens/month exceed the hosts' capacity and spill to the managed tier` + (managedPerToken === null ? " (no managed price: not costed)" : ""));
    const hours = opsHours({ hosts: plan.hosts.length, managed: spillPriced, frontier: false, fineTunes });
    const selfParts: CostParts = { rent, ops: hours * rate, managedTokens: spillPriced ? spill * managedPerToken! : 0, frontierTokens: 0 };
    const gpus = [...new Set(plan.hosts.map((h) => `${h.gpuCount}x ${h.gpu.id}`))].join(", ");
    lines.push({ pattern: "self-hosted", label: `self-hosted: ${plan.hosts.length} host${plan.hosts.length > 1 ? "s" : ""} (${gpus})${spill > 0 ? " + spill" : ""}`,
      available: true, parts: selfParts, total: sum(selfParts), opsHours: hours });
    if (managed && managedPerToken !== null) {
      const parts: CostParts = { rent: 0, ops: managedHours * rate, managedTokens: stated * managedPerToken, frontierTokens: 0 };
      lines.push({ pattern: "managed", label: `managed: ${managed.provider} ${managed.providerModel}`, available: true, parts, total: sum(parts), opsHours: managedHours });
    }
    const fParts: CostParts = { rent: 0, ops: frontierHours * rate, managedTokens: 0, frontierTokens: stated * frontierPerToken };
    lines.push({ pattern: "frontier", label: `frontier: ${frontier.provider} ${frontier.id}`, available: true, parts: fParts, total: sum(fParts), opsHours: frontierHours });
  }
  if (fineTunes > 0) notes.push(`frontier APIs cannot serve the stack's ${fineTunes} adapter${fineTunes > 1 ? "s" : ""}; the frontier line prices base-model traffic only`);
  if (spec.residency === "uk") notes.push("residency uk: the managed and frontier lines process every token outside the UK");

  const assumptions = [
    ...costAssumptions({ engineerGbpPerMonth, usdPerGbp, inputShare, hosts: plan.hosts.map((h) => ({ gpu: h.gpu.id, gpuCount: h.gpuCount })) }),
    `The hosts serve ${tokens(capacity)} tokens/month: the capacity model's operating point (router.slo) for ${spec.traffic.avg_input_tokens}-in/${spec.traffic.avg_output_tokens}-out requests, ` +
      `busy ${percent(spec.traffic.utilisation)} of the month (traffic.utilisation); traffic above that spills to the managed tier at its price.`,
  ];

  return {
    tokensPerMonth: stated, inputShare,
    capacityTokensPerMonth: capacity, spillTokensPerMonth: spill, usdPerGbp, engineerGbpPerMonth, engineerGbpPerHour: rate,
    managed: { basis: choice.basis, price: managed ? priced(managed) : null, alternatives: choice.alternatives.map(priced) },
    frontierPrice: { id: frontier.id, provider: frontier.provider, gbpPerMTok: frontierPerToken * 1e6 },
    rates, lines, notes, assumptions,
  };
}

/** `£0.22/M`: a price per million tokens, pence shown. */
function perM(gbpPerMTok: number): string {
  return `${gbpRate(gbpPerMTok)}/M`;
}

/** Why the managed line prices the provider it prices, and what the others would cost. */
function managedLine(c: PlanCosts): string {
  const p = c.managed.price;
  if (!p) return "Managed price: none (no managed provider in the catalog serves this model)";
  const why = c.managed.basis === "asked" ? "the stack's managed tier" : c.managed.basis === "cheapest" ? "the cheapest in the catalog; the stack has no managed tier" : "the stack's provider has no catalog price";
  const others = c.managed.alternatives.map((a) => `${a.provider} ${perM(a.gbpPerMTok)}`);
  return `Managed price: ${p.provider} ${p.providerModel} ${perM(p.gbpPerMTok)} (${why})` + (others.length > 0 ? `; alternatives: ${others.join(", ")}` : "");
}

/** The plan report's cost block: a month's bill when the volume is stated, rates when it is not. */
export function costSection(plan: DeploymentPlan, options: PlanCostOptions = {}): string {
  const c = planCosts(plan, options);
  const r = c.rates;
  const out: string[] = [];
  if (c.tokensPerMonth === null) {
    out.push(`Costs (GBP; estimate): traffic.tokens_per_month is not set, so these are rates, not a monthly bill (set it for one); ${percent(c.inputShare)} input tokens`);
    const gpus = [...new Set(plan.hosts.map((h) => `${h.gpuCount}x ${h.gpu.id}`))].join(", ");
    out.push(textTable(["tier", "per month, whatever the traffic", "per 1M tokens", "priced as"], [
      ["self-hosted", `${gbp(r.selfHostedGbpPerMonth)} (rent ${gbp(r.rentGbpPerMonth)} + ops ${gbp(r.selfHostedGbpPerMonth - r.rentGbpPerMonth)}, ${r.selfHostedOpsHours} h)`,
        `${perM(r.selfHostedGbpPerMTokAtCapacity)} at full capacity (${tokens(c.capacityTokensPerMonth)} tokens/month)`,
        `${plan.hosts.length} host${plan.hosts.length > 1 ? "s" : ""} (${gpus})`],
      ...(c.managed.price && r.managedGbpPerMTok !== null
        ? [["managed", `${gbp(r.managedOpsGbpPerMonth)} (ops, ${r.managedOpsHours} h)`, perM(r.managedGbpPerMTok), `${c.managed.price.provider} ${c.managed.price.providerModel}`]]
        : []),
      ["frontier", `${gbp(r.frontierOpsGbpPerMonth)} (ops, ${r.frontierOpsHours} h)`, perM(r.frontierGbpPerMTok), `${c.frontierPrice.provider} ${c.frontierPrice.id}`],
    ]));
    const be = r.breakEvenTokensPerMonth;
    if (be !== null) {
      out.push(`break-even: the managed tier alone costs what the hosts cost at ${tokens(be)} tokens/month` +
        (be <= c.capacityTokensPerMonth
          ? `, within the hosts' capacity (${tokens(c.capacityTokensPerMonth)}): above it, self-hosting is cheaper`
          : `, above the hosts' capacity (${tokens(c.capacityTokensPerMonth)}): at any volume they can carry, the managed tier alone is cheaper`));
    }
  } else {
    out.push(`Costs per month (GBP; estimate) for ${tokens(c.tokensPerMonth)} tokens/month (traffic.tokens_per_month), ${percent(c.inputShare)} input`);
    out.push(textTable(
      ["pattern", "rent", "ops", "managed tokens", "frontier tokens", "total"],
      c.lines.map((l) => [l.label, gbp(l.parts.rent), `${gbp(l.parts.ops)} (${l.opsHours} h)`, gbp(l.parts.managedTokens), gbp(l.parts.frontierTokens), gbp(l.total)]),
    ));
    const cheapest = [...c.lines].sort((a, b) => a.total - b.total)[0]!;
    out.push(`cheapest: ${cheapest.label} at ${gbp(cheapest.total)}/month`);
    if (plan.spec.residency === "uk" && cheapest.pattern !== "self-hosted") {
      out.push(`residency uk keeps the bulk on UK hosts: the self-hosted line (${gbp(c.lines[0]!.total)}) is the one that applies`);
    }
  }
  out.push(managedLine(c));
  for (const n of c.notes) out.push(`note: ${n}`);
  out.push("Cost assumptions:");
  for (const a of c.assumptions) out.push(`- ${a}`);
  return out.join("\n");
}
