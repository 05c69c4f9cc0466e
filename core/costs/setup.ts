/** Turns a recommend request into the context every cost function takes. */
import { GBP_USD, DEFAULT_FRONTIER_ID, FRONTIER_PRICES, type FrontierPrice, type ManagedPrice } from "../catalog/prices";
import { findModel } from "../catalog";
import type { ManagedProvider, ModelSpec } from "../catalog/types";
import { blendedGbpPerToken } from "./money";
import { DEFAULT_ENGINEER_GBP_PER_MONTH, engineerGbpPerHour } from "./ops";
import type { HybridConstraint } from "./patterns";
import { type ManagedChoice, chooseManagedPrice, findFrontierPrice } from "./prices-lookup";
import { type RequestShape, gpuTiers, requestShape } from "./tiers";
import type { CostContext, GpuTier, TrafficShape } from "./types";

/** Under residency uk at least this share of all tokens stays on UK hosts (the bulk). */
export const UK_MIN_SELF_HOSTED_SHARE = 0.5;
/** An average request of 1,300 tokens: the stack schema's default 1,000 in + 300 out. */
export const DEFAULT_REQUEST_TOKENS = 1300;
export const DEFAULT_INPUT_SHARE = 0.75;

export interface RecommendInput {
  /** Catalog model id (resolve prefixes first with `resolveModelId`). */
  readonly model: string;
  readonly tokensPerMonth: number;
  /** Share of tokens that are input tokens (default 0.75). */
  readonly inputShare?: number;
  /** Average request size in tokens, input + output (default 1300). */
  readonly requestTokens?: number;
  readonly shape?: TrafficShape;
  /** `uk` (the stack default) keeps the bulk on UK hosts. */
  readonly residency?: "uk" | "none";
  /** Share of requests that need a frontier model (default 0). */
  readonly hardShare?: number;
  /** LoRA fine-tunes of the model to serve (default 0). */
  readonly fineTunes?: number;
  readonly engineerGbpPerMonth?: number;
  readonly usdPerGbp?: number;
  /** Managed provider to price; default the cheapest serving the model. */
  readonly managedProvider?: ManagedProvider;
  /** Frontier model for the hard share (default claude-sonnet-4-5). */
  readonly frontierModel?: string;
}

export interface ResolvedInput {
  readonly model: string;
  readonly tokensPerMonth: number;
  readonly inputShare: number;
  readonly requestTokens: number;
  readonly shape: TrafficShape;
  readonly residency: "uk" | "none";
  readonly hardShare: number;
  readonly fineTunes: number;
  readonly engineerGbpPerMonth: number;
  readonly usdPerGbp: number;
  readonly managedProvider: ManagedProvider | null;
  readonly frontierModel: string;
}

export interface CostSetup {
  readonly input: ResolvedInput;
  readonly model: ModelSpec;
  readonly request: RequestShape;
  readonly managed: ManagedPrice | null;
  /** How the managed price was chosen, and the other providers' prices (the same rule as `plan`). */
  readonly managedChoice: ManagedChoice;
  readonly frontier: FrontierPrice;
  readonly ctx: CostContext;
  readonly tiers: readonly GpuTier[];
  readonly hybridConstraint: HybridConstraint | null;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

/** Validates and completes a request; throws RangeError naming the bad field. */
export function prepare(input: RecommendInput): CostSetup {
  const model = findModel(input.model);
  if (!model) throw new RangeError(`unknown model id "${input.model}"`);
  const r: ResolvedInput = {
    model: model.id,
    tokensPerMonth: input.tokensPerMonth,
    inputShare: input.inputShare ?? DEFAULT_INPUT_SHARE,
    requestTokens: input.requestTokens ?? DEFAULT_REQUEST_TOKENS,
    shape: input.shape ?? "steady",
    residency: input.residency ?? "uk",
    hardShare: input.hardShare ?? 0,
    fineTunes: input.fineTunes ?? 0,
    engineerGbpPerMonth: input.engineerGbpPerMonth ?? DEFAULT_ENGINEER_GBP_PER_MONTH,
    usdPerGbp: input.usdPerGbp ?? GBP_USD.usdPerGbp,
    managedProvider: input.managedProvider ?? null,
    frontierModel: input.frontierModel ?? DEFAULT_FRONTIER_ID,
  };
  check(Number.isFinite(r.tokensPerMonth) && r.tokensPerMonth >= 0, "tokens per month must be a number >= 0");
  check(r.inputShare > 0 && r.inputShare < 1, "input share must be between 0 and 1 (exclusive)");
  check(Number.isInteger(r.requestTokens) && r.requestTokens >= 2, "request tokens must be an integer >= 2");
  check(r.hardShare >= 0 && r.hardShare <= 1, "hard share must be between 0 and 1");
  check(Number.isInteger(r.fineTunes) && r.fineTunes >= 0, "fine-tunes must be a whole number >= 0");
  check(Number.isFinite(r.engineerGbpPerMonth) && r.engineerGbpPerMonth >= 0, "engineer cost must be a number >= 0");
  check(Number.isFinite(r.usdPerGbp) && r.usdPerGbp > 0, "the USD per GBP rate must be a number > 0");

  const frontier = findFrontierPrice(r.frontierModel);
  if (!frontier) throw new RangeError(`no price for frontier model "${r.frontierModel}"; priced: ${FRONTIER_PRICES.map((p) => p.id).join(", ")}`);
  const managedChoice = chooseManagedPrice(model.id, r.inputShare, r.managedProvider === null ? undefined : { provider: r.managedProvider });
  // Asked for a provider the catalog cannot price: say so rather than price another.
  if (managedChoice.basis === "asked-unpriced") throw new RangeError(`the price catalog has no ${r.managedProvider} price for ${model.id}`);
  const managed = managedChoice.chosen;

  const request = requestShape(r.requestTokens, r.inputShare);
  const ctx: CostContext = {
    shape: r.shape,
    inputShare: r.inputShare,
    hardShare: r.hardShare,
    fineTunes: r.fineTunes,
    engineerGbpPerHour: engineerGbpPerHour(r.engineerGbpPerMonth),
    usdPerGbp: r.usdPerGbp,
    managedGbpPerToken: managed ? blendedGbpPerToken(managed, r.inputShare, r.usdPerGbp) : null,
    frontierGbpPerToken: blendedGbpPerToken(frontier, r.inputShare, r.usdPerGbp),
  };
  return {
    input: r, model, request, managed: managed ?? null, managedChoice, frontier, ctx,
    tiers: gpuTiers(model, request, r.fineTunes),
    hybridConstraint: r.residency === "uk" ? { minSelfHostedShare: UK_MIN_SELF_HOSTED_SHARE } : null,
  };
}
