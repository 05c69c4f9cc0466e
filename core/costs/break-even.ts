/**
 * Break-even between self-hosting and the managed API, in tokens/month.
 *
 * The curves: managed is a line, M(T) = M0 + p T (fixed ops plus per-token charges).
 * Self-hosting is a staircase: on tier t, S_t(T) = a0 + c_t k for the k-th step,
 * T in ((k-1) w_t, k w_t], where w_t = C_t / f is the monthly volume one more host carries
 * (C_t: a host's tokens/month at peak, f: the peak-to-average factor), c_t = rent + per-host
 * ops and a0 the fixed ops. Self-hosting's cost is the cheapest tier at each volume,
 * S(T) = min over t of S_t(T), itself a staircase.
 *
 * Definition: the break-even b is the lowest volume from which self-hosting never costs
 * more than managed again: S(T) <= M(T) for every T >= b, and (when b > 0) S(T) > M(T)
 * just below b. Because S is a staircase there can be windows below b where self-hosting
 * is cheaper (just before a step, when a host is nearly full); they end at the next step
 * and are not the break-even. b lies on the flat top of a step, so S(b) = M(b). There is
 * no break-even when every tier's cost per step exceeds managed's charge for the step's
 * tokens (c_t >= p w_t): then the API's per-token price beats a host's at any scale.
 *
 * Computation: on tier t, step k is cheaper from x_k = (a0 + c_t k - M0) / p. When
 * c_t < p w_t the steps from K = ceil((p w_t + a0 - M0) / (p w_t - c_t)) are cheaper
 * throughout, and the tail of tier t starts at x_(K-1) (or 0). Every tier's windows and
 * tail are intervals; b is the lower end of the union's component that reaches infinity.
 */
import { OPS_HOURS, opsHours } from "./ops";
import { PEAK_TO_AVERAGE } from "./shape";
import { hostsForPeak, selfHostedCost } from "./patterns";
import type { CostContext, GpuTier } from "./types";

/** Windows below a tier's tail are scanned back at most this many steps (enough: later tiers' tails cover more). */
const MAX_WINDOWS_PER_TIER = 100_000;
/**
 * A tail that starts beyond this many hosts is reported as no break-even: no fleet is that
 * large, and step arithmetic on such counts loses integer precision.
 */
const MAX_HOSTS = 1e9;
/** Relative gap below which two intervals count as touching (floating-point rounding, not a real gap). */
const ADJACENT = 1e-9;

export interface BreakEven {
  /** Tokens/month; null when self-hosting never becomes (and stays) cheaper. */
  readonly tokensPerMonth: number | null;
  /** The tier whose staircase meets the managed line at the break-even. */
  readonly tier: GpuTier | null;
  /** Hosts of that tier at the break-even. */
  readonly hosts: number;
  /** Both costs at the break-even (equal there), GBP/month. */
  readonly costAtBreakEven: number | null;
  readonly why: string;
}

interface Interval {
  readonly from: number;
  readonly to: number;
  readonly tier: GpuTier;
}

function tierIntervals(tier: GpuTier, ctx: CostContext, p: number): Interval[] {
  const rate = ctx.engineerGbpPerHour;
  const f = PEAK_TO_AVERAGE[ctx.shape];
  const w = tier.peakTokensPerMonth / f;
  const a0 = rate * (OPS_HOURS.selfHostedFixed + OPS_HOURS.perFineTuneSelfHosted * ctx.fineTunes);
  const c = tier.rentGbp + rate * OPS_HOURS.perHost;
  const m0 = rate * opsHours({ hosts: 0, managed: true, frontier: false, fineTunes: ctx.fineTunes });
  const x = (k: number) => (a0 + c * k - m0) / p;
  const lo = (k: number) => (k - 1) * w;
  const hi = (k: number) => k * w;
  const out: Interval[] = [];
  const window = (k: number) => {
    if (x(k) <= hi(k)) out.push({ from: Math.max(lo(k), x(k)), to: hi(k), tier });
  };
  if (c < p * w) {
    const kTail = Math.max(1, Math.ceil((p * w + a0 - m0) / (p * w - c)));
    if (kTail > MAX_HOSTS) return [];
    out.push({ from: kTail === 1 ? Math.max(0, x(1)) : Math.max(lo(kTail - 1), x(kTail - 1)), to: Infinity, tier });
    for (let i = 0, k = kTail - 2; i < MAX_WINDOWS_PER_TIER && k >= 1; i++, k--) window(k);
  } else {
    // x(k) - hi(k) grows with k here, so windows exist only for the first steps.
    for (let k = 1; k <= MAX_WINDOWS_PER_TIER && x(k) <= hi(k); k++) window(k);
  }
  return out;
}

export function breakEven(tiers: readonly GpuTier[], ctx: CostContext): BreakEven {
  const p = ctx.managedGbpPerToken;
  if (p === null) return { tokensPerMonth: null, tier: null, hosts: 0, costAtBreakEven: null, why: "no managed provider serves this model" };
  if (tiers.length === 0) return { tokensPerMonth: null, tier: null, hosts: 0, costAtBreakEven: null, why: "the model fits no GPU host configuration" };
  if (p <= 0) return { tokensPerMonth: null, tier: null, hosts: 0, costAtBreakEven: null, why: "the managed price is zero" };
  const intervals = tiers.flatMap((t) => tierIntervals(t, ctx, p)).sort((a, b) => b.to - a.to || a.from - b.from);
  if (intervals.length === 0 || intervals[0]!.to !== Infinity) {
    const f = PEAK_TO_AVERAGE[ctx.shape];
    const cheapest = Math.min(...tiers.map((t) => ((t.rentGbp + ctx.engineerGbpPerHour * OPS_HOURS.perHost) * f) / t.peakTokensPerMonth));
    return {
      tokensPerMonth: null, tier: null, hosts: 0, costAtBreakEven: null,
      why: `a self-hosted token costs at least £${(cheapest * 1e6).toFixed(3)}/M at this traffic shape (rent and per-host ops over a host's tokens), ` +
        `the managed API £${(p * 1e6).toFixed(3)}/M: self-hosting never catches up`,
    };
  }
  let from = Infinity;
  let via: GpuTier = intervals[0]!.tier;
  for (const iv of intervals) {
    // Sorted by `to` descending: once an interval ends below the component, none can reach it.
    // A window that ends where the next step's interval begins is contiguous with it; the
    // tolerance absorbs rounding in (a0 + c k - M0) / p against k w at such a shared boundary.
    if (iv.to < from * (1 - ADJACENT)) break;
    if (iv.from < from) {
      from = iv.from;
      via = iv.tier;
    }
  }
  const at = selfHostedCost(from, via, ctx);
  return {
    tokensPerMonth: from,
    tier: via,
    hosts: hostsForPeak(from, via, PEAK_TO_AVERAGE[ctx.shape]),
    costAtBreakEven: at.total,
    why: `from here up, ${via.gpuCount}x ${via.gpu} hosts cost no more than the managed API`,
  };
}
