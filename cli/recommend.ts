/**
 * `npm run recommend -- --model qwen2.5-7b --tokens 50M [options]`
 *
 * Which serving pattern (self-hosted, managed, frontier, hybrid) a model at a traffic level
 * should use, what each costs per month by part, where self-hosting breaks even against the
 * managed API, and why. Offline: prices come from core/catalog/prices.ts.
 *
 * Options (defaults in brackets):
 *   --model <id>                      catalog id or a prefix of one (qwen2.5-7b)      [required]
 *   --tokens <n>                      tokens per month, input + output: 800k, 50M, 2.5B [required]
 *   --input-share <0..1>              share of tokens that are input                   [0.75]
 *   --request-tokens <n>              average request size, input + output             [1300]
 *   --shape steady|bursty|experimental  peak-to-average 1.5 / 4 / 8                    [steady]
 *   --residency uk|none               uk keeps at least half the tokens on UK hosts    [uk]
 *   --hard-share <0..1>               share of requests that need a frontier model     [0]
 *   --fine-tunes <n>                  LoRA fine-tunes served                           [0]
 *   --engineer-cost-gbp-per-month <£> fully loaded engineer cost (162.5 h per month)   [9000]
 *   --engineer-cost-gbp-per-hour <£>  the same, per hour (use one of the two)
 *   --usd-per-gbp <rate>              exchange rate for USD prices                     [catalog]
 *   --managed together_ai|fireworks_ai|deepinfra   managed provider to price           [cheapest]
 *   --frontier <model>                frontier model for hard queries                  [claude-sonnet-4-5]
 *   --json                            the whole recommendation as JSON
 *   --html <file>                     also write the HTML report with charts
 *   --help                            this text
 * Exit codes: 0 answered, 1 the request names something the catalogs do not have (unknown
 * model, no price), 2 bad command-line usage.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { MANAGED_PROVIDER_IDS } from "../core/catalog/providers";
import type { ManagedProvider } from "../core/catalog/types";
import { gbp, gbpRate, percent, textTable, tokens } from "../core/costs/format";
import { parseTokenCount, resolveModelId } from "../core/costs/inputs";
import { WORKING_HOURS_PER_MONTH } from "../core/costs/ops";
import { costCurves, recommend } from "../core/costs/recommend";
import type { Recommendation } from "../core/costs/recommendation";
import type { RecommendInput } from "../core/costs/setup";
import { PEAK_TO_AVERAGE } from "../core/costs/shape";
import { PATTERNS, TRAFFIC_SHAPES, type TrafficShape } from "../core/costs/types";
import { chartVolumes, htmlReport } from "../core/report/html";
import { recommendationAssumptions } from "../core/costs/recommend-assumptions";
import type { TokenPrice } from "../core/catalog/prices";
import { blendedGbpPerToken } from "../core/costs/money";

const USAGE = "usage: npm run recommend -- --model <id> --tokens <50M> [--input-share 0.75] [--request-tokens 1300] [--shape steady|bursty|experimental] " +
  "[--residency uk|none] [--hard-share 0.05] [--fine-tunes N] [--engineer-cost-gbp-per-month 9000 | --engineer-cost-gbp-per-hour 55] " +
  "[--usd-per-gbp 1.37] [--managed together_ai|fireworks_ai|deepinfra] [--frontier claude-sonnet-4-5] [--json] [--html out/report.html]";

const HELP = `${USAGE}

Which serving pattern (self-hosted, managed, frontier, hybrid) a model at a traffic level should
use, on which GPU tier (weights, context length, cards), what each pattern costs per month by
part, where self-hosting breaks even with the managed API, why, and the assumptions behind it.
  --model <id>                 catalog id or a prefix of one (qwen2.5-7b)              [required]
  --tokens <n>                 tokens per month, input + output: 800k, 50M, 2.5B        [required]
  --input-share <0..1>         share of tokens that are input                          [0.75]
  --request-tokens <n>         average request size, input + output                    [1300]
  --shape <s>                  steady | bursty | experimental (peak x1.5 / x4 / x8)      [steady]
  --residency <r>              uk (at least half the tokens on UK hosts) | none          [uk]
  --hard-share <0..1>          share of requests that need a frontier model            [0]
  --fine-tunes <n>             LoRA fine-tunes served                                  [0]
  --engineer-cost-gbp-per-month <£> | --engineer-cost-gbp-per-hour <£>                  [9000/month]
  --usd-per-gbp <rate>         exchange rate for USD prices                            [catalog]
  --managed <provider>         together_ai | fireworks_ai | deepinfra: price this one   [cheapest]
  --frontier <model>           frontier model for hard queries                         [claude-sonnet-4-5]
  --json                       the whole recommendation as JSON
  --html <file>                also write the HTML report with charts
Exit codes: 0 answered, 1 the catalogs lack the model or a price, 2 bad command-line usage.
`;

class UsageError extends Error {}

/** --help was asked for: print HELP and exit 0. */
class HelpRequested extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

function fraction(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) usage(`--${name} must be a number from 0 to 1, got "${text}"`);
  return n;
}

function positive(name: string, text: string | undefined, integer = false): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) usage(`--${name} must be ${integer ? "a whole number" : "a number"} >= 0, got "${text}"`);
  return n;
}

function oneOf<T extends string>(name: string, text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) usage(`--${name} must be one of ${allowed.join(", ")}, got "${text}"`);
  return text as T;
}

/** Command line -> request. Throws UsageError (exit 2) or RangeError (exit 1). */
export function parseCommandLine(argv: readonly string[]): { input: RecommendInput; json: boolean; html: string | undefined } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        model: { type: "string" }, tokens: { type: "string" }, "input-share": { type: "string" }, "request-tokens": { type: "string" },
        shape: { type: "string" }, residency: { type: "string" }, "hard-share": { type: "string" }, "fine-tunes": { type: "string" },
        "engineer-cost-gbp-per-month": { type: "string" }, "engineer-cost-gbp-per-hour": { type: "string" }, "usd-per-gbp": { type: "string" },
        managed: { type: "string" }, frontier: { type: "string" }, json: { type: "boolean", default: false }, html: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.help) throw new HelpRequested();
  if (values.model === undefined) usage("--model is required");
  if (values.tokens === undefined) usage("--tokens is required");
  let tokensPerMonth: number;
  try {
    tokensPerMonth = parseTokenCount(values.tokens);
  } catch (e) {
    usage(`--tokens: ${(e as Error).message}`);
  }
  if (tokensPerMonth <= 0) usage("--tokens must be above 0");
  const lookup = resolveModelId(values.model);
  if (!lookup.ok) throw new RangeError(lookup.message);
  const perMonth = positive("engineer-cost-gbp-per-month", values["engineer-cost-gbp-per-month"]);
  const perHour = positive("engineer-cost-gbp-per-hour", values["engineer-cost-gbp-per-hour"]);
  if (perMonth !== undefined && perHour !== undefined) usage("give the engineer cost per month or per hour, not both");
  const inputShare = fraction("input-share", values["input-share"]);
  if (inputShare === 0 || inputShare === 1) usage("--input-share must be strictly between 0 and 1");
  const usdPerGbp = positive("usd-per-gbp", values["usd-per-gbp"]);
  if (usdPerGbp === 0) usage("--usd-per-gbp must be above 0");
  const requestTokens = positive("request-tokens", values["request-tokens"], true);
  if (requestTokens !== undefined && requestTokens < 2) usage("--request-tokens must be at least 2");
  const input: RecommendInput = {
    model: lookup.id,
    tokensPerMonth,
    ...(inputShare !== undefined ? { inputShare } : {}),
    ...(requestTokens !== undefined ? { requestTokens } : {}),
    ...(values.shape !== undefined ? { shape: oneOf<TrafficShape>("shape", values.shape, TRAFFIC_SHAPES) } : {}),
    ...(values.residency !== undefined ? { residency: oneOf("residency", values.residency, ["uk", "none"] as const) } : {}),
    ...(values["hard-share"] !== undefined ? { hardShare: fraction("hard-share", values["hard-share"]) } : {}),
    ...(values["fine-tunes"] !== undefined ? { fineTunes: positive("fine-tunes", values["fine-tunes"], true) } : {}),
    ...(perMonth !== undefined ? { engineerGbpPerMonth: perMonth } : {}),
    ...(perHour !== undefined ? { engineerGbpPerMonth: perHour * WORKING_HOURS_PER_MONTH } : {}),
    ...(usdPerGbp !== undefined ? { usdPerGbp } : {}),
    ...(values.managed !== undefined ? { managedProvider: oneOf<ManagedProvider>("managed", values.managed, MANAGED_PROVIDER_IDS) } : {}),
    ...(values.frontier !== undefined ? { frontierModel: values.frontier } : {}),
  };
  return { input, json: values.json ?? false, html: values.html };
}

/** The human-readable answer. */
export function recommendationText(rec: Recommendation): string {
  const { input, managed, frontier, ctx } = rec.setup;
  const out: string[] = [];
  out.push(`hybrid-inference recommend: ${rec.setup.model.id} at ${tokens(input.tokensPerMonth)} tokens/month ` +
    `(${percent(input.inputShare)} input, ${input.shape} traffic x${PEAK_TO_AVERAGE[input.shape]} peak, residency ${input.residency}, ` +
    `hard share ${percent(input.hardShare)}, ${input.fineTunes} fine-tune${input.fineTunes === 1 ? "" : "s"})`, "");
  const c = rec.costs[rec.pattern];
  const split = [c.shares.selfHosted > 0 ? `self-hosted ${percent(c.shares.selfHosted)}` : "", c.shares.managed > 0 ? `managed ${percent(c.shares.managed)}` : "",
    c.shares.frontier > 0 ? `frontier ${percent(c.shares.frontier)}` : ""].filter((s) => s !== "").join(", ");
  out.push(`Recommendation  ${rec.pattern}: ${split}, ${gbp(c.total)}/month`);
  if (rec.tier) {
    out.push(`GPU tier        ${rec.hosts} host${rec.hosts > 1 ? "s" : ""} of ${rec.tier.gpuCount}x ${rec.tier.gpu}, ${gbp(rec.tier.rentGbp)}/month each` +
      `${c.hosts === 0 ? " (if you self-host; the recommendation rents none)" : ""}`);
    out.push(`Serves          ${rec.setup.model.id} as ${rec.tier.quantization} weights with up to ${rec.tier.contextTokens.toLocaleString("en-GB")} tokens of context per request ` +
      `(tensor-parallel ${rec.tier.tensorParallel}${rec.tier.replicas > 1 ? `, ${rec.tier.replicas} replicas per host` : ""}; what \`npm run plan\` gives a stack with the defaults on this host)`);
  }
  const be = rec.breakEven;
  out.push(`Break-even      ${be.tokensPerMonth === null ? `none (${be.why})` : `${tokens(be.tokensPerMonth)} tokens/month: self-hosting on ${be.tier!.gpuCount}x ${be.tier!.gpu} vs managed, ${gbp(be.costAtBreakEven!)}/month each`}`);
  out.push("", "Monthly cost by part (GBP)");
  out.push(textTable(["pattern", "rent", "ops", "managed tokens", "frontier tokens", "total", "hosts", "outside UK", "eligible"],
    PATTERNS.map((p) => {
      const k = rec.costs[p];
      if (!k.available) return [p, "-", "-", "-", "-", "-", "-", "-", `no: ${k.unavailableReason}`];
      const e = rec.eligibility[p];
      return [p, gbp(k.parts.rent), `${gbp(k.parts.ops)} (${k.opsHours} h)`, gbp(k.parts.managedTokens), gbp(k.parts.frontierTokens), gbp(k.total),
        String(k.hosts), percent(k.outsideUkShare), e.eligible ? "yes" : `no: ${e.why}`];
    })));
  out.push("", "Why");
  for (const r of rec.reasons) out.push(`- ${r}`);
  out.push("", "Prices");
  const choice = rec.setup.managedChoice;
  const blended = (p: TokenPrice) => gbpRate(blendedGbpPerToken(p, input.inputShare, input.usdPerGbp) * 1e6);
  out.push(`- managed: ${managed ? `${managed.provider} ${managed.providerModel} $${managed.inputUsdPerMTok}/$${managed.outputUsdPerMTok} per 1M in/out = ${gbpRate(ctx.managedGbpPerToken! * 1e6)}/M blended ` +
    `(${choice.basis === "asked" ? "--managed" : "the cheapest in the catalog; --managed prices another"}; ${managed.confidence} confidence, ${managed.source.url})` : "none in the catalog"}`);
  if (choice.alternatives.length > 0) out.push(`- managed alternatives: ${choice.alternatives.map((a) => `${a.provider} ${blended(a)}/M`).join(", ")}`);
  out.push(`- frontier: ${frontier.id} $${frontier.inputUsdPerMTok}/$${frontier.outputUsdPerMTok} per 1M in/out = ${gbpRate(ctx.frontierGbpPerToken * 1e6)}/M blended (${frontier.confidence} confidence)`);
  out.push(`- USD ${input.usdPerGbp} per GBP; engineer ${gbp(input.engineerGbpPerMonth)}/month = ${gbpRate(ctx.engineerGbpPerHour)}/h; rents and sources in core/catalog/prices.ts`);
  out.push("", "Assumptions");
  for (const a of recommendationAssumptions(rec)) out.push(`- ${a}`);
  return out.join("\n");
}

function main(argv: readonly string[]): number {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(HELP);
      return 0;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  let rec: Recommendation;
  try {
    rec = recommend(parsed.input);
  } catch (e) {
    if (e instanceof RangeError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (parsed.html !== undefined) {
    const file = path.resolve(parsed.html);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, htmlReport(rec, costCurves(parsed.input, chartVolumes(rec))));
  }
  if (parsed.json) process.stdout.write(`${JSON.stringify(rec, null, 2)}\n`);
  else process.stdout.write(`${recommendationText(rec)}\n${parsed.html !== undefined ? `\nReport: ${path.relative(process.cwd(), path.resolve(parsed.html))}\n` : ""}`);
  return 0;
}

/** Exits once stdout and stderr are flushed: a pipe reader must get the whole JSON. */
function exitAfterFlush(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

// Run only as a script: tests import parseCommandLine and recommendationText.
if (typeof require !== "undefined" && require.main === module) {
  try {
    exitAfterFlush(main(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`recommend failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    exitAfterFlush(3);
  }
}
