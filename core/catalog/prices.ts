/**
 * Price catalog: what the four serving patterns cost, as data with sources.
 *
 * - UK dedicated GPU server rent in GBP per month, per GPU model (one card per host).
 * - Managed open-weight APIs (Together AI, Fireworks AI, DeepInfra): USD per 1M input and
 *   output tokens, per catalog model id and provider.
 * - Frontier APIs (OpenAI, Anthropic, Gemini): USD per 1M input and output tokens.
 * - The USD per GBP exchange rate every USD price is converted with.
 *
 * Confidence, per entry:
 *   high   - read on the vendor's own page (or a verbatim copy of it) for this exact model;
 *   medium - read in a maintained third-party price table or a vendor tier table whose
 *            applicability to this model was not checked;
 *   low    - a low-trust lead (undated listing, a single code comment) or derived [D].
 * Prices move. Re-check every entry before quoting a number to anyone; `readOn` is the day
 * the figure was read, not the day it took effect.
 *
 * Derived rents [D]. Only four UK single-card hosts were found listed (gigagpu.com, undated,
 * low trust: RTX 3090 £159, RTX 4090 £289, RTX 4060 Ti 16GB £99, RTX 5090 £399, and the
 * RTX 4060 at £30 less than the 4060 Ti). Every other card is derived by one rule, so the
 * derivation can be re-run (test/costs/prices.test.ts does):
 *   rent = max(RENT_FLOOR_GBP, ceil(bandwidth GB/s x £ per GB/s of its architecture's anchor))
 *   and for workstation cards also >= ceil(VRAM GiB x £ per GiB of that anchor).
 * Why bandwidth: the capacity model (core/plan/capacity.ts) is bandwidth-bound in decode, so
 * £ per GB/s is the price of serving capacity; hosting firms price a card's class, and within
 * one architecture class tracks bandwidth. Why VRAM for workstation cards: their price
 * premium buys memory (48 GB), not bandwidth. The floor is the cheapest listed host: chassis,
 * CPU, RAM, NVMe and the uplink cost money whatever the card.
 * Multi-card hosts: no UK listing found; core/costs/rent.ts prices n cards as n one-card
 * hosts [D] (assumes no chassis saving and no multi-GPU premium).
 */
import type { FrontierProvider, GpuArchitecture, ManagedProvider, Source } from "./types";

const READ_ON = "2026-11-26";

export type PriceConfidence = "high" | "medium" | "low";

/** USD per 1M tokens, as API providers publish them. */
export interface TokenPrice {
  readonly inputUsdPerMTok: number;
  readonly outputUsdPerMTok: number;
}

export interface HostRent {
  /** Catalog GPU id. */
  readonly gpu: string;
  /** Cards in the listed host configuration. */
  readonly gpuCount: number;
  readonly gbpPerMonth: number;
  /** True when computed by the rule in the header rather than read off a listing. */
  readonly derived: boolean;
  readonly confidence: PriceConfidence;
  readonly source: Source;
}

export interface ManagedPrice extends TokenPrice {
  /** Catalog model id. */
  readonly model: string;
  readonly provider: ManagedProvider;
  /** The provider's id for the same weights (core/catalog/models.ts `managedIds`). */
  readonly providerModel: string;
  readonly confidence: PriceConfidence;
  readonly source: Source;
}

export interface FrontierPrice extends TokenPrice {
  /** The model id the provider's API takes, e.g. `claude-sonnet-4-5`. */
  readonly id: string;
  readonly provider: FrontierProvider;
  readonly displayName: string;
  readonly confidence: PriceConfidence;
  readonly source: Source;
}

export interface ExchangeRate {
  /** US dollars one pound buys. */
  readonly usdPerGbp: number;
  /** The trading day the rate is for. */
  readonly rateDate: string;
  readonly source: Source;
}

function src(url: string, note: string): Source {
  return { url, readOn: READ_ON, note };
}

// ---------------------------------------------------------------- exchange rate

/**
 * The most recent GBP/USD close found. It is months old at `readOn`: pass a current rate
 * (`npm run recommend -- --usd-per-gbp 1.27`) before relying on a comparison that is close.
 */
export const GBP_USD: ExchangeRate = {
  usdPerGbp: 1.3668,
  rateDate: "2026-02-11",
  source: src(
    "https://tradingeconomics.com/united-kingdom/currency",
    "GBP/USD close of 2026-02-11 (Trading Economics); the latest dated figure found, about nine months before readOn",
  ),
};

// ---------------------------------------------------------------- UK dedicated server rent

/** The cheapest listed UK GPU host; no derived rent goes below it. */
export const RENT_FLOOR_GBP = 69;

/** Listed cards each derived rent is scaled from, one per architecture. */
export const RENT_ANCHORS: Readonly<Record<GpuArchitecture, { readonly gpu: string; readonly gbpPerMonth: number; readonly bandwidthGBs: number; readonly vramGiB: number }>> = {
  ampere: { gpu: "rtx-3090", gbpPerMonth: 159, bandwidthGBs: 936, vramGiB: 24 },
  ada: { gpu: "rtx-4090", gbpPerMonth: 289, bandwidthGBs: 1008, vramGiB: 24 },
  blackwell: { gpu: "rtx-5090", gbpPerMonth: 399, bandwidthGBs: 1792, vramGiB: 32 },
};

const GIGAGPU_3090_4090 = "https://gigagpu.com/rtx-3090-vs-rtx-4090-ai/";
const GIGAGPU_4060TI = "https://gigagpu.com/flux-1-on-rtx-4060-ti-benchmark/";
const LISTED_NOTE = "gigagpu UK dedicated server, undated listing, low trust; host spec (CPU, RAM, NVMe, uplink) not stated";
const DERIVED_NOTE = "[D] by the rule in core/catalog/prices.ts header";

function listed(gpu: string, gbpPerMonth: number, url: string, note: string): HostRent {
  return { gpu, gpuCount: 1, gbpPerMonth, derived: false, confidence: "low", source: src(url, `${LISTED_NOTE}; ${note}`) };
}

/** `arithmetic` shows the numbers the rule gave, so a reviewer can check them by hand. */
function derived(gpu: string, gbpPerMonth: number, arithmetic: string): HostRent {
  return { gpu, gpuCount: 1, gbpPerMonth, derived: true, confidence: "low", source: src(GIGAGPU_3090_4090, `${DERIVED_NOTE}: ${arithmetic}`) };
}

export const HOST_RENTS: readonly HostRent[] = [
  // Ampere: £159 / 936 GB/s = £0.16987 per GB/s; £159 / 24 GiB = £6.625 per GiB.
  derived("rtx-3050-8gb", 69, "224 GB/s x 0.16987 = 38.05, below the floor 69"),
  derived("rtx-3050-6gb", 69, "168 GB/s x 0.16987 = 28.54, below the floor 69"),
  derived("rtx-3060-12gb", 69, "360 GB/s x 0.16987 = 61.15, below the floor 69"),
  derived("rtx-3080", 130, "760 GB/s x 0.16987 = 129.10, rounded up"),
  listed("rtx-3090", 159, GIGAGPU_3090_4090, "RTX 3090 24GB at £159/month"),
  derived("rtx-a4000", 106, "workstation: max(448 GB/s x 0.16987 = 76.10, 16 GiB x 6.625 = 106)"),
  derived("rtx-a5000", 159, "workstation: max(768 GB/s x 0.16987 = 130.46, 24 GiB x 6.625 = 159)"),
  derived("rtx-a6000", 318, "workstation: max(768 GB/s x 0.16987 = 130.46, 48 GiB x 6.625 = 318)"),
  // Ada: £289 / 1008 GB/s = £0.28671 per GB/s; £289 / 24 GiB = £12.0417 per GiB.
  {
    ...listed("rtx-4060", 69, GIGAGPU_4060TI, "[D] the page puts the RTX 4060 host £30/month below the RTX 4060 Ti's £99"),
    derived: true,
  },
  listed("rtx-4060-ti-16gb", 99, GIGAGPU_4060TI, "RTX 4060 Ti 16GB at £0.50/h, £99/month"),
  derived("rtx-4070", 145, "504 GB/s x 0.28671 = 144.50, rounded up"),
  derived("rtx-4070-ti-super", 193, "672 GB/s x 0.28671 = 192.67, rounded up"),
  derived("rtx-4080", 206, "716.8 GB/s x 0.28671 = 205.51, rounded up"),
  derived("rtx-4080-super", 212, "736 GB/s x 0.28671 = 211.02, rounded up"),
  listed("rtx-4090", 289, GIGAGPU_3090_4090, "RTX 4090 24GB at £289/month"),
  derived("rtx-4000-ada", 241, "workstation: max(360 GB/s x 0.28671 = 103.22, 20 GiB x 12.0417 = 240.83), rounded up"),
  derived("rtx-6000-ada", 578, "workstation: max(960 GB/s x 0.28671 = 275.24, 48 GiB x 12.0417 = 578)"),
  // Blackwell: £399 / 1792 GB/s = £0.22266 per GB/s.
  derived("rtx-5060-ti-16gb", 100, "448 GB/s x 0.22266 = 99.75, rounded up"),
  derived("rtx-5070", 150, "672 GB/s x 0.22266 = 149.63, rounded up"),
  derived("rtx-5070-ti", 200, "896 GB/s x 0.22266 = 199.50, rounded up"),
  derived("rtx-5080", 214, "960 GB/s x 0.22266 = 213.75, rounded up"),
  listed(
    "rtx-5090",
    399,
    "https://gigagpu.com/?p=11106",
    "£399/month is the project's facts lead; this gigagpu benchmark page shows £1.50/h (£299/month) instead. The higher figure is kept so self-hosting is not flattered",
  ),
];

// ---------------------------------------------------------------- managed open-weight APIs

const GENAI_TOGETHER = "https://github.com/pydantic/genai-prices/blob/main/prices/providers/together.yml";
const FIREWORKS_PRICING = "https://fireworks.ai/pricing";
const DEEPINFRA_TABLE = "https://lava-a04d7b3f.mintlify.dev/docs/gateway/providers/deepinfra";
const FIREWORKS_TIER_NOTE =
  "Fireworks serverless price by base-model size (one price for input and output); the tier table was read, whether this model is still served serverless was not [U]";

function managed(
  model: string,
  provider: ManagedProvider,
  providerModel: string,
  inputUsdPerMTok: number,
  outputUsdPerMTok: number,
  confidence: PriceConfidence,
  source: Source,
): ManagedPrice {
  return { model, provider, providerModel, inputUsdPerMTok, outputUsdPerMTok, confidence, source };
}

const fwSmall = (model: string, providerModel: string) =>
  managed(model, "fireworks_ai", providerModel, 0.2, 0.2, "medium", src(FIREWORKS_PRICING, `${FIREWORKS_TIER_NOTE}: up to 16B params, $0.20`));
const fwLarge = (model: string, providerModel: string) =>
  managed(model, "fireworks_ai", providerModel, 0.9, 0.9, "medium", src(FIREWORKS_PRICING, `${FIREWORKS_TIER_NOTE}: 16.1B-80B params, $0.90`));

export const MANAGED_PRICES: readonly ManagedPrice[] = [
  // Together AI (Turbo endpoints are Together's FP8 serving of the same weights [U]).
  managed("llama-3.3-70b-instruct", "together_ai", "meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.88, 0.88, "medium",
    src(GENAI_TOGETHER, "pydantic/genai-prices table for together.ai; matches the facts lead")),
  managed("qwen2.5-7b-instruct", "together_ai", "Qwen/Qwen2.5-7B-Instruct-Turbo", 0.3, 0.3, "low",
    src("https://github.com/loofitheboss/plasma-ai-usage-monitor/blob/main/plugin/togetherprovider.cpp",
      "a public price table in code ('Together AI pricing as of 2026'); matches the facts lead")),
  managed("qwen2.5-72b-instruct", "together_ai", "Qwen/Qwen2.5-72B-Instruct-Turbo", 1.2, 1.2, "low",
    src("https://github.com/loofitheboss/plasma-ai-usage-monitor/blob/main/plugin/togetherprovider.cpp",
      "a public price table in code; also quoted in BudEcosystem/bud-connect model docs")),
  managed("mistral-7b-instruct-v0.3", "together_ai", "mistralai/Mistral-7B-Instruct-v0.3", 0.2, 0.2, "low",
    src(GENAI_TOGETHER, "[D] v0.3 not listed; Mistral-7B-Instruct v0.1 and v0.2 are $0.20 in the table")),
  // Fireworks AI: serverless tiers by parameter count.
  fwSmall("qwen2.5-0.5b-instruct", "accounts/fireworks/models/qwen2p5-0p5b-instruct"),
  fwSmall("qwen2.5-1.5b-instruct", "accounts/fireworks/models/qwen2p5-1p5b-instruct"),
  fwSmall("qwen2.5-7b-instruct", "accounts/fireworks/models/qwen2p5-7b-instruct"),
  fwSmall("qwen2.5-14b-instruct", "accounts/fireworks/models/qwen2p5-14b-instruct"),
  fwSmall("mistral-7b-instruct-v0.3", "accounts/fireworks/models/mistral-7b-instruct-v3"),
  fwSmall("mistral-nemo-12b-instruct", "accounts/fireworks/models/mistral-nemo-instruct-2407"),
  fwLarge("qwen2.5-32b-instruct", "accounts/fireworks/models/qwen2p5-32b-instruct"),
  fwLarge("qwen2.5-72b-instruct", "accounts/fireworks/models/qwen2p5-72b-instruct"),
  fwLarge("llama-3.3-70b-instruct", "accounts/fireworks/models/llama-v3p3-70b-instruct"),
  fwLarge("mistral-small-24b-instruct", "accounts/fireworks/models/mistral-small-24b-instruct-2501"),
  // DeepInfra.
  managed("llama-3.3-70b-instruct", "deepinfra", "meta-llama/Llama-3.3-70B-Instruct", 0.23, 0.4, "medium",
    src(DEEPINFRA_TABLE, "DeepInfra price table as mirrored by a gateway's docs; matches the facts lead")),
  managed("qwen2.5-72b-instruct", "deepinfra", "Qwen/Qwen2.5-72B-Instruct", 0.12, 0.39, "medium",
    src(DEEPINFRA_TABLE, "DeepInfra price table as mirrored by a gateway's docs; matches the facts lead")),
  managed("qwen2.5-7b-instruct", "deepinfra", "Qwen/Qwen2.5-7B-Instruct", 0.025, 0.05, "high",
    src("https://deepinfra.com/Qwen/Qwen2.5-7B-Instruct/api", "DeepInfra's model page (bfloat16, 32k context)")),
];

// ---------------------------------------------------------------- frontier APIs

function frontier(
  id: string,
  provider: FrontierProvider,
  displayName: string,
  inputUsdPerMTok: number,
  outputUsdPerMTok: number,
  confidence: PriceConfidence,
  source: Source,
): FrontierPrice {
  return { id, provider, displayName, inputUsdPerMTok, outputUsdPerMTok, confidence, source };
}

const ANTHROPIC_PRICING = "https://www.aiwiki.dev/claude/docs/about-claude/pricing";
const ANTHROPIC_NOTE = "copy of Anthropic's pricing page (updated 2025-11-15), base input and output rates";

export const FRONTIER_PRICES: readonly FrontierPrice[] = [
  frontier("gpt-5", "openai", "GPT-5", 1.25, 10, "medium",
    src("https://chatgptpricing-akr.pages.dev/api-pricing", "table citing developers.openai.com/api/docs/pricing; same rates in the openai-cost crate's table")),
  frontier("gpt-4.1", "openai", "GPT-4.1", 2, 8, "low", src("https://developers.openai.com/api/docs/pricing", "facts lead (genai-prices); not re-read")),
  frontier("gpt-4o", "openai", "GPT-4o", 2.5, 10, "medium",
    src("https://chatgptpricing-akr.pages.dev/api-pricing", "table citing developers.openai.com/api/docs/pricing")),
  frontier("claude-sonnet-4-5", "anthropic", "Claude Sonnet 4.5", 3, 15, "high", src(ANTHROPIC_PRICING, `${ANTHROPIC_NOTE}; prompts up to 200k tokens`)),
  frontier("claude-haiku-4-5", "anthropic", "Claude Haiku 4.5", 1, 5, "high", src(ANTHROPIC_PRICING, ANTHROPIC_NOTE)),
  frontier("claude-opus-4-5", "anthropic", "Claude Opus 4.5", 5, 25, "medium",
    src("https://deploybase.ai/articles/claude-api-pricing", "third-party table dated 2026-03-21; matches the facts lead")),
  frontier("gemini-2.5-pro", "gemini", "Gemini 2.5 Pro", 1.25, 10, "medium",
    src("https://deploybase.ai/articles/gemini-api-pricing-2026", "prompts up to 200k tokens (above: $2.50 in / $15 out); third-party table, matches the facts lead")),
  frontier("gemini-2.5-flash", "gemini", "Gemini 2.5 Flash", 0.3, 2.5, "medium",
    src("https://vercel.com/ai-gateway/models/gemini-2.5-flash", "Vercel AI Gateway model page")),
];

/** The frontier model the stacks in stacks/ use; the default for the "hard" share. */
export const DEFAULT_FRONTIER_ID = "claude-sonnet-4-5";
