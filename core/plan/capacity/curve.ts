/**
 * The latency–throughput curve of one engine replica and the operating point a stack's
 * SLO allows on it.
 *
 * The router's limit comes from the operating point, not from saturation: the highest
 * concurrency whose TTFT and time per output token both meet the SLO, and the request
 * rate the replica completes there. Near saturation an engine fed at random (Poisson)
 * arrival times queues without bound, so the rate is also held to at most
 * SATURATION_HEADROOM of saturation even when the SLO would allow more.
 */
import { type Engine, type LoadPoint, atRate, loadAt, saturation } from "./load";

/** Latency targets, ms; a missing target does not constrain. TTFT is the median-ish (p50) time to first token. */
export interface Slo {
  readonly ttftMs?: number;
  readonly tpotMs?: number;
}

/**
 * The SLO when a stack sets none: interactive chat. The first token within 2 s, and then
 * at least 10 tokens/s per stream (100 ms per token): about twice the pace an adult
 * reads at (4-5 words/s, ~1.3 tokens/word), so a reader never waits on the stream.
 */
export const DEFAULT_SLO: Required<Slo> = { ttftMs: 2000, tpotMs: 100 };

/**
 * Router limits stay at or below this share of the saturated rate: an M/D/1 queue at 85%
 * utilisation waits ~2.8 service times on average, at 95% ~9.5 (Pollaczek–Khinchine).
 */
export const SATURATION_HEADROOM = 0.85;

/** Concurrency levels a curve reports: powers of two up to the engine's limit, and the limit. */
export function curveLevels(maxConcurrency: number): number[] {
  const levels: number[] = [];
  for (let c = 1; c < maxConcurrency; c *= 2) levels.push(c);
  levels.push(Math.max(1, Math.floor(maxConcurrency)));
  return levels;
}

export interface CurvePoint {
  readonly concurrency: number;
  readonly ttftMs: number;
  readonly tpotMs: number;
  readonly outputTokensPerSecond: number;
  readonly requestsPerSecond: number;
}

function toCurvePoint(p: LoadPoint): CurvePoint {
  return {
    concurrency: p.concurrency,
    ttftMs: p.ttftSeconds * 1000,
    tpotMs: p.tpotSeconds * 1000,
    outputTokensPerSecond: p.outputTokensPerSecond,
    requestsPerSecond: p.requestsPerSecond,
  };
}

/** TTFT, TPOT, output tokens/s and requests/s of one replica at each curve level. */
export function latencyThroughputCurve(e: Engine): CurvePoint[] {
  return curveLevels(e.maxConcurrency).map((c) => toCurvePoint(loadAt(e, c)));
}

export function meetsSlo(p: LoadPoint, slo: Slo): boolean {
  const ttftOk = slo.ttftMs === undefined || p.ttftSeconds * 1000 <= slo.ttftMs;
  const tpotOk = slo.tpotMs === undefined || p.tpotSeconds * 1000 <= slo.tpotMs;
  return ttftOk && tpotOk;
}

export interface OperatingPoint extends CurvePoint {
  /** False when even one request at a time misses the SLO: the point is then concurrency 1. */
  readonly sloMet: boolean;
  /** What bounds the point: the SLO, or the headroom kept below saturation. */
  readonly boundBy: "slo" | "headroom";
}

/**
 * The highest whole concurrency whose steady state meets the SLO (TTFT and TPOT only grow
 * with concurrency, so a binary search finds it). When that point's request rate is above
 * SATURATION_HEADROOM of saturation, the point is instead the steady state at that rate.
 */
export function operatingPoint(e: Engine, slo: Slo): OperatingPoint {
  const limit = Math.max(1, Math.floor(e.maxConcurrency));
  const sloMet = meetsSlo(loadAt(e, 1), slo);
  let best = 1;
  if (sloMet) {
    let lo = 1;
    let hi = limit;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (meetsSlo(loadAt(e, mid), slo)) lo = mid;
      else hi = mid - 1;
    }
    best = lo;
  }
  const atSlo = loadAt(e, best);
  const rateCap = SATURATION_HEADROOM * saturation(e).requestsPerSecond;
  if (atSlo.requestsPerSecond <= rateCap) {
    return { ...toCurvePoint(atSlo), sloMet, boundBy: "slo" };
  }
  // Below saturation, so atRate is defined.
  const atCap = atRate(e, rateCap) ?? atSlo;
  return { ...toCurvePoint(atCap), sloMet, boundBy: "headroom" };
}
