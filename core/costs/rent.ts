/** Monthly rent of a UK dedicated GPU host, from the price catalog. */
import { HOST_RENTS } from "../catalog/prices";

/**
 * GBP per month for a host with `gpuCount` cards: the listed configuration when there is
 * one, else `gpuCount` one-card hosts [D] (no multi-card UK listing was found).
 */
export function hostRentGbp(gpu: string, gpuCount: number): number | undefined {
  const exact = HOST_RENTS.find((r) => r.gpu === gpu && r.gpuCount === gpuCount);
  if (exact) return exact.gbpPerMonth;
  const single = HOST_RENTS.find((r) => r.gpu === gpu && r.gpuCount === 1);
  return single === undefined ? undefined : single.gbpPerMonth * gpuCount;
}
