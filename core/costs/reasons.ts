/** The recommendation's reasons, in words, from its numbers. */
import { MANAGED_PROVIDERS } from "../catalog/providers";
import { gbp, percent, tokens } from "./format";
import { OPS_HOURS } from "./ops";
import { hostsForPeak } from "./patterns";
import type { Recommendation } from "./recommendation";
import { UK_MIN_SELF_HOSTED_SHARE } from "./setup";
import { PEAK_TO_AVERAGE } from "./shape";
import { PATTERNS, type PatternCost } from "./types";

function sharesText(c: PatternCost): string {
  const parts = [
    c.shares.selfHosted > 0 ? `${percent(c.shares.selfHosted)} self-hosted` : "",
    c.shares.managed > 0 ? `${percent(c.shares.managed)} managed` : "",
    c.shares.frontier > 0 ? `${percent(c.shares.frontier)} frontier` : "",
  ].filter((s) => s !== "");
  return parts.join(", ");
}

export function buildReasons(rec: Omit<Recommendation, "reasons">): string[] {
  const { input, managed, frontier } = rec.setup;
  const T = input.tokensPerMonth;
  const chosen = rec.costs[rec.pattern];
  const out: string[] = [];

  // A hybrid that degenerates to the chosen single tier (same split) is not an alternative.
  const sameSplit = (c: PatternCost) => c.shares.selfHosted === chosen.shares.selfHosted && c.shares.managed === chosen.shares.managed && c.shares.frontier === chosen.shares.frontier;
  const others = PATTERNS.filter((p) => p !== rec.pattern && rec.eligibility[p].eligible && !sameSplit(rec.costs[p])).sort((a, b) => rec.costs[a].total - rec.costs[b].total);
  out.push(`${rec.pattern} (${sharesText(chosen)}) is the cheapest pattern that meets the constraints: ${gbp(chosen.total)}/month` +
    (others[0] ? `; next: ${others[0]} at ${gbp(rec.costs[others[0]].total)}.` : "."));

  if (input.residency === "uk") {
    out.push(`Residency uk: managed and frontier APIs process requests outside the UK, so at least ${percent(UK_MIN_SELF_HOSTED_SHARE)} of tokens stay on UK hosts; ` +
      `${percent(chosen.outsideUkShare)} leave the UK in this pattern.`);
    if (input.hardShare > 0 && chosen.shares.frontier === 0) {
      out.push(`The ${percent(input.hardShare)} hard share cannot go to a frontier API while the bulk stays in the UK: the self-hosted model serves hard queries too (quality ceiling of ${rec.setup.model.displayName}).`);
    }
  }

  if (input.hardShare > 0 && chosen.shares.frontier > 0) {
    out.push(`Hard queries (${percent(input.hardShare)}) go to ${frontier.displayName}: ${gbp(chosen.parts.frontierTokens)}/month.`);
    if (rec.pattern === "frontier" && rec.costs.hybrid.available) {
      out.push(`With ${percent(input.hardShare)} of traffic needing frontier quality, one frontier API (${gbp(rec.costs.frontier.total)}) beats adding tiers (hybrid ${gbp(rec.costs.hybrid.total)}): the rest is too small to pay for another tier's ops time.`);
    }
  }

  const selfCost = rec.costs["self-hosted"];
  if (input.shape !== "steady" && selfCost.tier) {
    const steadyHosts = hostsForPeak(T, selfCost.tier, PEAK_TO_AVERAGE.steady);
    out.push(`${input.shape[0]!.toUpperCase()}${input.shape.slice(1)} traffic peaks at ${rec.peakFactor}x its average: self-hosting rents ${selfCost.hosts} host${selfCost.hosts > 1 ? "s" : ""} for the peak ` +
      `(${steadyHosts} would carry a steady load), while a managed API bills only the tokens used.`);
  }
  if (rec.pattern === "hybrid" && chosen.hosts > 0 && chosen.shares.managed > 0) {
    const many = chosen.hosts > 1;
    out.push(`The hybrid self-hosts the base load on ${chosen.hosts} host${many ? "s" : ""} and sends the bursts above ${many ? "them" : "it"} (${percent(chosen.shares.managed)} of tokens) to the managed API.`);
  }

  if (input.fineTunes > 0) {
    out.push(`${input.fineTunes} fine-tune${input.fineTunes > 1 ? "s" : ""}: one self-hosted base model serves every adapter (multi-LoRA) for no extra rent; ` +
      `a managed API needs each uploaded and kept in sync (+${OPS_HOURS.perFineTuneManaged} h/month each, where the provider serves LoRA on this model at all); frontier APIs cannot serve them.`);
  }

  const be = rec.breakEven;
  const providerName = managed ? MANAGED_PROVIDERS[managed.provider].displayName : "a managed API";
  if (be.tokensPerMonth === null) {
    out.push(`No break-even against ${providerName}: ${be.why}.`);
  } else if (T < be.tokensPerMonth) {
    out.push(`${tokens(T)} tokens/month is below the break-even of ${tokens(be.tokensPerMonth)} against ${providerName}: ` +
      `the smallest self-hosted setup costs ${gbp(selfCost.total)}/month however little it serves, managed ${gbp(rec.costs.managed.total)}.`);
  } else {
    out.push(`${tokens(T)} tokens/month is above the break-even of ${tokens(be.tokensPerMonth)} against ${providerName}: ` +
      `self-hosting ${gbp(selfCost.total)}/month, managed ${gbp(rec.costs.managed.total)}.`);
  }

  if (rec.tier) {
    const t = rec.tier;
    out.push(`GPU tier: ${t.gpuCount}x ${t.gpu} per host (${t.quantization}, tensor-parallel ${t.tensorParallel}), ${rec.hosts} host${rec.hosts > 1 ? "s" : ""}; ` +
      `one host carries about ${tokens(t.peakTokensPerMonth)} tokens/month flat out (${Math.round(t.decodeTokensPerSecond)} output tokens/s), ${gbp(t.rentGbp)}/month rent.`);
  }
  return out;
}
