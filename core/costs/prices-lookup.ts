/** Finding the price catalog's entry for a model at a provider. */
import { FRONTIER_PRICES, type FrontierPrice, MANAGED_PRICES, type ManagedPrice } from "../catalog/prices";
import type { ManagedProvider } from "../catalog/types";
import { blendedGbpPerToken } from "./money";

export function managedPricesFor(model: string): ManagedPrice[] {
  return MANAGED_PRICES.filter((p) => p.model === model);
}

/**
 * The managed price for `model`: at `provider` when given (undefined if the catalog has no
 * price there), else the provider cheapest at this input share.
 */
export function pickManagedPrice(model: string, inputShare: number, provider?: ManagedProvider): ManagedPrice | undefined {
  const options = managedPricesFor(model).filter((p) => provider === undefined || p.provider === provider);
  // The exchange rate scales every option alike, so 1 is as good as any for ranking.
  const cost = (p: ManagedPrice) => blendedGbpPerToken(p, inputShare, 1);
  return [...options].sort((a, b) => cost(a) - cost(b))[0];
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
