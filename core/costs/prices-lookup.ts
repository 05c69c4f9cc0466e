/** Finding the price catalog's entry for a model at a provider, and the one rule that picks the managed price. */
import { FRONTIER_PRICES, type FrontierPrice, MANAGED_PRICES, type ManagedPrice } from "../catalog/prices";
import type { ManagedProvider } from "../catalog/types";
import { blendedGbpPerToken } from "./money";

export function managedPricesFor(model: string): ManagedPrice[] {
  return MANAGED_PRICES.filter((p) => p.model === model);
}

/** Cheapest first at this input share (the exchange rate scales every option alike, so 1 ranks as well as any). */
function byBlendedPrice(prices: readonly ManagedPrice[], inputShare: number): ManagedPrice[] {
  const cost = (p: ManagedPrice) => blendedGbpPerToken(p, inputShare, 1);
  return [...prices].sort((a, b) => cost(a) - cost(b) || a.provider.localeCompare(b.provider));
}

/**
 * The managed price for `model`: at `provider` when given (undefined if the catalog has no
 * price there), else the provider cheapest at this input share.
 */
export function pickManagedPrice(model: string, inputShare: number, provider?: ManagedProvider): ManagedPrice | undefined {
  return byBlendedPrice(managedPricesFor(model).filter((p) => provider === undefined || p.provider === provider), inputShare)[0];
}

/** What a request or a stack asks the managed tier to be: a provider, and maybe its own model id. */
export interface ManagedAsk {
  readonly provider: ManagedProvider;
  /** The provider's model id (a stack's `router.managed.model`); default: the catalog's for this model. */
  readonly providerModel?: string;
}

export interface ManagedChoice {
  /** The price the costs use; undefined when no managed provider in the catalog serves the model. */
  readonly chosen: ManagedPrice | undefined;
  /**
   * `asked`: the provider the stack or the request named; `cheapest`: nothing was named, so the
   * cheapest at the traffic's input share; `asked-unpriced`: a provider was named but the catalog
   * has no price for it, so the cheapest stands in (a stack plans with it; `recommend` refuses).
   */
  readonly basis: "asked" | "cheapest" | "asked-unpriced";
  readonly asked?: ManagedAsk;
  /** The other providers' prices for the same model, cheapest first. */
  readonly alternatives: readonly ManagedPrice[];
}

/**
 * The one rule `plan` and `recommend` price the managed tier by: the provider the stack (its
 * `router.managed`) or the request (`--managed`) names, else the cheapest in the catalog at the
 * traffic's input share; the other providers' prices come along as alternatives.
 */
export function chooseManagedPrice(model: string, inputShare: number, asked?: ManagedAsk): ManagedChoice {
  const all = byBlendedPrice(managedPricesFor(model), inputShare);
  let chosen: ManagedPrice | undefined;
  let basis: ManagedChoice["basis"] = "cheapest";
  if (asked) {
    chosen = all.find((p) => p.provider === asked.provider && (asked.providerModel === undefined || p.providerModel === asked.providerModel));
    basis = chosen ? "asked" : "asked-unpriced";
  }
  chosen ??= all[0];
  return { chosen, basis, ...(asked ? { asked } : {}), alternatives: all.filter((p) => p !== chosen) };
}

/**
 * A frontier price by the model name a stack or a user gives: `claude-sonnet-4-5`,
 * `anthropic/claude-sonnet-4-5`, or a dated id such as `claude-sonnet-4-5-20250929`.
 */
export function findFrontierPrice(name: string): FrontierPrice | undefined {
  const bare = name.trim().toLowerCase().replace(/^[a-z_]+\//, "");
  const exact = FRONTIER_PRICES.find((p) => p.id === bare);
  if (exact) return exact;
  // Longest id first, so `gpt-4o-2024-08-06` is not taken for `gpt-4`.
  return [...FRONTIER_PRICES].sort((a, b) => b.id.length - a.id.length).find((p) => bare.startsWith(`${p.id}-`));
}
