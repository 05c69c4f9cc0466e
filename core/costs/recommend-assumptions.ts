/** Everything a recommendation rests on, in words: the shared cost assumptions plus recommend's own. */
import { MODEL_DEFAULTS } from "../config/defaults";
import { costAssumptions } from "./assumptions";
import { percent } from "./format";
import type { Recommendation } from "./recommendation";
import { UK_MIN_SELF_HOSTED_SHARE } from "./setup";
import { PEAK_TO_AVERAGE } from "./shape";
import { TRAFFIC_SHAPES } from "./types";

export function recommendationAssumptions(rec: Recommendation): string[] {
  const { input } = rec.setup;
  const hosts = [rec.tier, rec.breakEven.tier].filter((t) => t !== null).map((t) => ({ gpu: t.gpu, gpuCount: t.gpuCount }));
  return [
    ...costAssumptions({ engineerGbpPerMonth: input.engineerGbpPerMonth, usdPerGbp: input.usdPerGbp, inputShare: input.inputShare, hosts }),
    `Traffic peaks at ${PEAK_TO_AVERAGE[input.shape]}x its monthly average (${input.shape}; the factors are planning guesses: ` +
      `${TRAFFIC_SHAPES.map((s) => `${s} ${PEAK_TO_AVERAGE[s]}x`).join(", ")}); self-hosting rents enough hosts for the peak, an API bills the tokens used.`,
    `A host carries what the capacity model gives at its SLO operating point (the router's limit) for ${input.requestTokens}-token requests, ${percent(input.inputShare)} input, ` +
      `with the stack file's default engine settings and at least ${MODEL_DEFAULTS.min_context} tokens of context (less where the model allows less).`,
    `Residency uk keeps at least ${percent(UK_MIN_SELF_HOSTED_SHARE)} of all tokens on UK hosts; a hard share needs a frontier tier; frontier APIs cannot serve fine-tunes.`,
  ];
}
