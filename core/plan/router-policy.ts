/**
 * The router's routing policy beyond LiteLLM's config, planned from the stack file: each
 * adapter's fallback, confidence-based escalation, the frontier spend guard, mid-stream
 * failures and the engines' first-token limit. The router extension
 * (core/render/router-extension.ts) renders it; `plan` shows it.
 */
import { MANAGED_PROVIDERS } from "../catalog/providers";
import { ROUTER_POLICY_DEFAULTS } from "../config/defaults";
import type { StackSpec } from "../config/schema";
import type { AdapterFallbackPlan, ApiTierPlan, RouterPolicyPlan } from "./types";

/** `envFor` is routerPlan's: one env var per distinct credential. */
export function routerPolicy(spec: StackSpec, frontier: readonly ApiTierPlan[], envFor: (base: string, configKey: string) => string): RouterPolicyPlan {
  const adapterFallbacks: AdapterFallbackPlan[] = spec.adapters.map((a) => {
    const m = a.fallback_managed;
    const managed: ApiTierPlan | null = m
      ? { provider: m.provider, litellmModel: `${MANAGED_PROVIDERS[m.provider].litellmPrefix}${m.model}`, apiKeyEnv: envFor(MANAGED_PROVIDERS[m.provider].apiKeyEnv, m.api_key_secret) }
      : null;
    return { adapter: a.name, policy: a.fallback, managed };
  });
  const e = spec.router.escalation;
  const d = ROUTER_POLICY_DEFAULTS.escalation;
  // A provider listed twice keeps the smaller budget: the guard counts spend per provider.
  const budgets: Record<string, number> = {};
  spec.router.frontier.forEach((f, i) => {
    if (f.budget_usd_per_day === undefined) return;
    const provider = frontier[i]!.provider;
    budgets[provider] = Math.min(budgets[provider] ?? Number.POSITIVE_INFINITY, f.budget_usd_per_day);
  });
  return {
    adapterFallbacks,
    escalation: {
      enabled: e?.enabled ?? d.enabled,
      minMeanLogprob: e?.min_mean_logprob ?? null,
      onLength: e?.on_length ?? d.on_length,
      onEmpty: e?.on_empty ?? d.on_empty,
      onRefusal: e?.on_refusal ?? d.on_refusal,
      refusalPrefixes: e?.refusal_prefixes ?? null,
      streamPrefixTokens: e?.stream_prefix_tokens ?? d.stream_prefix_tokens,
    },
    frontierBudgetUsdPerDay: budgets,
    budgetOverrideTag: spec.router.budget_override_tag,
    midStream: spec.router.mid_stream,
    engineFirstTokenS: spec.router.engine_first_token_s ?? null,
  };
}
