/** Token charges in GBP from USD per-1M-token prices. */
import type { TokenPrice } from "../catalog/prices";

/** GBP per token of `price` at a traffic mix with `inputShare` input tokens. */
export function blendedGbpPerToken(price: TokenPrice, inputShare: number, usdPerGbp: number): number {
  const usdPerMTok = inputShare * price.inputUsdPerMTok + (1 - inputShare) * price.outputUsdPerMTok;
  return usdPerMTok / 1e6 / usdPerGbp;
}
