/**
 * The cost model's assumptions, in words, from the same constants the costs are computed with:
 * `plan`'s cost block, `recommend`'s answer and its HTML report all list them, so no estimate
 * reaches a reader without what it rests on.
 */
import { GBP_USD, HOST_RENTS } from "../catalog/prices";
import { gbp, gbpRate, percent } from "./format";
import { OPS_HOURS, WORKING_HOURS_PER_MONTH, engineerGbpPerHour } from "./ops";

export interface AssumptionInputs {
  readonly engineerGbpPerMonth: number;
  readonly usdPerGbp: number;
  /** Share of tokens that are input tokens, which blends each API's input and output prices. */
  readonly inputShare: number;
  /** The host configurations priced (card and count), to show which are priced as n one-card hosts. */
  readonly hosts: readonly { readonly gpu: string; readonly gpuCount: number }[];
}

/** The one-card rent a multi-card host is priced from, or undefined when the catalog lists the configuration itself. */
function perCardRent(gpu: string, gpuCount: number): number | undefined {
  if (gpuCount <= 1 || HOST_RENTS.some((r) => r.gpu === gpu && r.gpuCount === gpuCount)) return undefined;
  return HOST_RENTS.find((r) => r.gpu === gpu && r.gpuCount === 1)?.gbpPerMonth;
}

/** Assumptions every cost in this project rests on, one sentence each. */
export function costAssumptions(a: AssumptionInputs): string[] {
  const multi = [...new Map(a.hosts.map((h) => [`${h.gpuCount}x ${h.gpu}`, h])).values()]
    .flatMap((h) => {
      const one = perCardRent(h.gpu, h.gpuCount);
      return one === undefined ? [] : [`${h.gpuCount}x ${h.gpu} = ${h.gpuCount} x ${gbp(one)}`];
    });
  const derived = HOST_RENTS.filter((r) => r.derived).length;
  return [
    `Rent is a UK dedicated server's monthly list price (core/catalog/prices.ts; low confidence: ${HOST_RENTS.length - derived} cards from one undated listing, ` +
      `${derived} derived from them by memory bandwidth) and is the whole cost of a host: no setup fee, extra bandwidth, storage or power is added.`,
    `No UK listing of a multi-card server was found, so a host with n cards is priced as n one-card hosts (no chassis saving, no multi-GPU premium)` +
      (multi.length > 0 ? `: ${multi.join(", ")}.` : "."),
    `Ops time: engineer ${gbp(a.engineerGbpPerMonth)}/month over ${WORKING_HOURS_PER_MONTH} working hours = ${gbpRate(engineerGbpPerHour(a.engineerGbpPerMonth))}/h; ` +
      `self-hosting ${OPS_HOURS.selfHostedFixed} h/month + ${OPS_HOURS.perHost} h per host + ${OPS_HOURS.perFineTuneSelfHosted} h per adapter; ` +
      `each API tier ${OPS_HOURS.perApiTier} h (+${OPS_HOURS.perFineTuneManaged} h per adapter on a managed API); ${OPS_HOURS.routing} h of routing when two or more tiers serve traffic [estimates].`,
    `API tokens at list prices (no volume discount, prompt caching or batch rate), input and output prices blended at ${percent(a.inputShare)} input tokens; ` +
      `USD at ${a.usdPerGbp} per GBP${a.usdPerGbp === GBP_USD.usdPerGbp ? ` (the catalog's rate, close of ${GBP_USD.rateDate})` : ""}.`,
    "Every managed and frontier provider in the catalog processes requests outside the UK.",
  ];
}
