/** The break-even in words, with its definition, for reports. */
import type { BreakEven } from "./break-even";
import { gbp, tokens } from "./format";

export function breakEvenText(be: BreakEven): string {
  if (be.tokensPerMonth === null || be.tier === null || be.costAtBreakEven === null) {
    return `No break-even between self-hosting and the managed API: ${be.why}.`;
  }
  return `Break-even at ${tokens(be.tokensPerMonth)} tokens/month on ${be.hosts} x ${be.tier.gpuCount}x ${be.tier.gpu} (${gbp(be.costAtBreakEven)}/month either way): ` +
    `from this volume up, self-hosting never costs more than the managed API. Self-hosting rises in steps (whole hosts), so just below a step it can be cheaper ` +
    `at lower volumes too; the break-even is where the managed line crosses the staircase for the last time.`;
}
