/**
 * Capacity measured on a deployed host, and the one rule that decides how it takes precedence
 * over the capacity model's estimate. `replicaCapacity` (core/plan/hosts.ts), which every
 * planner calls, applies it; nothing else reads the stack's `measured:` block.
 *
 * The rule:
 *  - A measurement applies while the host is what it was measured as: the same card, card
 *    count and checkpoint (else the model plans the host again, with a warning). A changed
 *    `gpu_memory_utilization` or `kv_cache_dtype` drops only the measured KV cache size.
 *  - Measured KV tokens (vLLM's "GPU KV cache size: N tokens") replace the memory model's for
 *    every concurrency limit: at most kv_tokens / (in + out) requests run at once.
 *  - Measured points (`vllm bench serve` at several `--max-concurrency` levels) replace the
 *    model's latency–throughput curve. Between two measured levels each quantity (TTFT, time
 *    per output token, requests/s) is interpolated linearly in the requests in flight; outside
 *    the measured range it is the model's value scaled to agree with the nearest measured
 *    level. When the stack's request shape differs from the benchmark's, every value is further
 *    scaled by the model's own ratio between the two shapes at the same load.
 *  - The operating point is then chosen as the model's is (core/plan/capacity/curve.ts): the
 *    highest whole concurrency at which TTFT and time per token meet the SLO, and at most
 *    SATURATION_HEADROOM of the saturated rate. Measured latencies can be noisy, so the search
 *    walks up from one request and stops at the first level that misses the SLO.
 *
 * A benchmark against a docker engine container measures all its data-parallel replicas at
 * once: a level's requests in flight and rates are divided by the replicas behind it to get one
 * replica's, and latencies are kept (vLLM spreads requests evenly over its replicas).
 */
import { type ConfigIssue, keyPath, warning } from "../config/issues";
import type { HostMeasurementConfig, TrafficConfig } from "../config/schema";
import { type CapacityInputs, type CapacityReport, type CurvePoint, DEFAULT_SLO, type OperatingPoint, type Slo, capacityFor, capacityReport, engineFor } from "./capacity";
import { SATURATION_HEADROOM, curveLevels } from "./capacity/curve";
import { type Engine, loadAt, prefillTokensPerSecond } from "./capacity/load";

/** One measured level, as `vllm bench serve` reports it for the benchmarked endpoint. */
export interface MeasuredPoint {
  readonly concurrency: number;
  readonly requestsPerSecond: number;
  readonly outputTokensPerSecond: number;
  readonly ttftMs: number;
  readonly tpotMs: number;
}

/** A measured curve and the mean request it was measured with. */
export interface MeasuredCurve {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly points: readonly MeasuredPoint[];
}

/** A host's measurement as the planner uses it, after the checks that it still applies. */
export interface Measurement {
  readonly measuredOn: string;
  readonly source: string;
  /** Engine replicas behind the benchmarked endpoint. */
  readonly replicas: number;
  /** KV cache tokens of one replica. */
  readonly kvTokens?: number;
  /** Per benchmarked endpoint (all `replicas`). */
  readonly curve?: MeasuredCurve;
}

/** What a host of the stack is now, to tell whether a measurement still applies. */
export interface HostNow {
  readonly gpu: string;
  readonly gpuCount: number;
  readonly checkpoint: string;
  readonly gpuMemoryUtilization: number;
  readonly kvCacheDtype: "auto" | "fp8";
}

/** The stack file's entry as plain data, and which of its parts still apply to the host. */
export function usableMeasurement(m: HostMeasurementConfig, now: HostNow): { readonly measurement?: Measurement; readonly ignored: readonly string[] } {
  const w = m.measured_with;
  const changed = [
    w.gpu !== now.gpu ? `the card (measured on ${w.gpu}, now ${now.gpu})` : "",
    w.gpu_count !== now.gpuCount ? `the card count (measured with ${w.gpu_count}, now ${now.gpuCount})` : "",
    w.checkpoint !== now.checkpoint ? `the weights (measured serving ${w.checkpoint}, now ${now.checkpoint})` : "",
  ].filter((s) => s !== "");
  if (changed.length > 0) return { ignored: [`nothing measured is used: the host changed ${changed.join(" and ")}`] };
  const ignored: string[] = [];
  let kvTokens = m.kv_tokens;
  if (kvTokens !== undefined && (w.gpu_memory_utilization !== now.gpuMemoryUtilization || w.kv_cache_dtype !== now.kvCacheDtype)) {
    ignored.push(`the measured KV cache size is not used: it was measured with gpu_memory_utilization ${w.gpu_memory_utilization} and kv_cache_dtype ${w.kv_cache_dtype}, ` +
      `the stack now sets ${now.gpuMemoryUtilization} and ${now.kvCacheDtype}`);
    kvTokens = undefined;
  }
  const curve = m.points !== undefined && m.request_shape !== undefined
    ? {
      inputTokens: m.request_shape.input_tokens,
      outputTokens: m.request_shape.output_tokens,
      points: m.points.map((p) => ({ concurrency: p.concurrency, requestsPerSecond: p.requests_per_s, outputTokensPerSecond: p.output_tokens_per_s, ttftMs: p.ttft_ms, tpotMs: p.tpot_ms })),
    }
    : undefined;
  return {
    measurement: {
      measuredOn: m.measured_on,
      source: m.source,
      replicas: w.replicas,
      ...(kvTokens !== undefined ? { kvTokens } : {}),
      ...(curve !== undefined ? { curve } : {}),
    },
    ignored,
  };
}

/** How a host's capacity came from measurements: what was used, and the estimate it replaced. */
export interface MeasuredBasis {
  readonly measuredOn: string;
  readonly source: string;
  /** The measured KV tokens of one replica and the memory model's figure they replaced; null when not used. */
  readonly kvTokens: { readonly measured: number; readonly estimated: number } | null;
  /** One replica's measured points at the benchmark's request shape; null when not used. */
  readonly curve: {
    readonly points: readonly MeasuredPoint[];
    readonly inputTokens: number;
    readonly outputTokens: number;
    /** The stack's request shape differs from the benchmark's: the model's ratio between the two scales every value. */
    readonly shapeScaled: boolean;
  } | null;
  /** The model's estimate with the same inputs: what the measurement replaced. */
  readonly estimate: Pick<CapacityReport, "routerRpm" | "operatingPoint" | "curve" | "maxConcurrency">;
  /** Parts of the stack's `measured` entry that do not apply, and why. */
  readonly ignored: readonly string[];
}

/** True when the host's limits use any measured figure. */
export function usesMeasurement(b: MeasuredBasis | undefined): boolean {
  return b !== undefined && (b.kvTokens !== null || b.curve !== null);
}

/** Request shapes within 1% of each other are the same benchmark shape (random prompts are exact; outputs end at max tokens). */
function sameShape(a: { inputTokens: number; outputTokens: number }, b: { inputTokens: number; outputTokens: number }): boolean {
  const close = (x: number, y: number) => Math.abs(x - y) <= 0.01 * Math.max(x, y);
  return close(a.inputTokens, b.inputTokens) && close(a.outputTokens, b.outputTokens);
}

interface Values {
  readonly ttftMs: number;
  readonly tpotMs: number;
  readonly requestsPerSecond: number;
}

function modelValues(e: Engine, concurrency: number): Values {
  const p = loadAt(e, concurrency);
  return { ttftMs: p.ttftSeconds * 1000, tpotMs: p.tpotSeconds * 1000, requestsPerSecond: p.requestsPerSecond };
}

const times = (a: Values, b: Values): Values => ({ ttftMs: a.ttftMs * b.ttftMs, tpotMs: a.tpotMs * b.tpotMs, requestsPerSecond: a.requestsPerSecond * b.requestsPerSecond });
const over = (a: Values, b: Values): Values => ({ ttftMs: a.ttftMs / b.ttftMs, tpotMs: a.tpotMs / b.tpotMs, requestsPerSecond: a.requestsPerSecond / b.requestsPerSecond });

/**
 * One replica's curve as a function of requests in flight: measured between the measured
 * levels, the model scaled to the nearest measured level outside them, and the model's shape
 * ratio on top when the stack's request shape is not the benchmark's.
 */
export function effectiveCurve(stackEngine: Engine, benchEngine: Engine, points: readonly MeasuredPoint[]): (concurrency: number) => CurvePoint {
  const sorted = [...points].sort((a, b) => a.concurrency - b.concurrency);
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const same = stackEngine === benchEngine;
  const bench = (c: number): Values => modelValues(benchEngine, c);
  const shapeRatio = (c: number): Values => (same ? { ttftMs: 1, tpotMs: 1, requestsPerSecond: 1 } : over(modelValues(stackEngine, c), bench(c)));
  return (c: number): CurvePoint => {
    let v: Values;
    const exact = sorted.find((p) => p.concurrency === c);
    if (exact !== undefined) {
      v = times(exact, shapeRatio(c));
    } else if (c < first.concurrency || c > last.concurrency) {
      const nearest = c <= first.concurrency ? first : last;
      v = times(modelValues(stackEngine, c), over(nearest, bench(nearest.concurrency)));
    } else {
      const i = sorted.findIndex((p) => p.concurrency >= c);
      const [a, b] = [sorted[i - 1]!, sorted[i]!];
      const t = (c - a.concurrency) / (b.concurrency - a.concurrency);
      const lerp = (x: number, y: number) => x + t * (y - x);
      v = times({ ttftMs: lerp(a.ttftMs, b.ttftMs), tpotMs: lerp(a.tpotMs, b.tpotMs), requestsPerSecond: lerp(a.requestsPerSecond, b.requestsPerSecond) }, shapeRatio(c));
    }
    return { concurrency: c, ...v, outputTokensPerSecond: v.requestsPerSecond * stackEngine.request.outputTokens };
  };
}

function meets(p: CurvePoint, slo: Slo): boolean {
  return (slo.ttftMs === undefined || p.ttftMs <= slo.ttftMs) && (slo.tpotMs === undefined || p.tpotMs <= slo.tpotMs);
}

/**
 * The operating point on a measured curve: the highest whole concurrency reached from one
 * request without missing the SLO, held to SATURATION_HEADROOM of the rate at the engine's
 * limit (then the load where the curve's rate equals that cap).
 */
export function measuredOperatingPoint(curve: (c: number) => CurvePoint, maxConcurrency: number, slo: Slo): OperatingPoint {
  const limit = Math.max(1, Math.floor(maxConcurrency));
  const sloMet = meets(curve(1), slo);
  let best = 1;
  if (sloMet) while (best < limit && meets(curve(best + 1), slo)) best++;
  const atSlo = curve(best);
  const cap = SATURATION_HEADROOM * curve(limit).requestsPerSecond;
  if (atSlo.requestsPerSecond <= cap) return { ...atSlo, sloMet, boundBy: "slo" };
  let lo = 0;
  let hi = best;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (curve(mid).requestsPerSecond < cap) lo = mid;
    else hi = mid;
  }
  return { ...curve(hi), sloMet, boundBy: "headroom" };
}

/** A replica's report from the stack's inputs and a measurement: the precedence rule above. */
export function measuredCapacity(i: CapacityInputs, m: Measurement, slo: Slo | undefined, utilisation: number): { readonly report: CapacityReport; readonly basis: MeasuredBasis } {
  const estimate = capacityFor(i, slo, utilisation);
  const inputs: CapacityInputs = m.kvTokens !== undefined ? { ...i, kvTokens: m.kvTokens } : i;
  const base = {
    measuredOn: m.measuredOn,
    source: m.source,
    kvTokens: m.kvTokens !== undefined ? { measured: m.kvTokens, estimated: i.kvTokens ?? Number.NaN } : null,
    estimate: { routerRpm: estimate.routerRpm, operatingPoint: estimate.operatingPoint, curve: estimate.curve, maxConcurrency: estimate.maxConcurrency },
  };
  const stackEngine = engineFor(inputs);
  const replicas = Math.max(1, m.replicas);
  const perReplica = (m.curve?.points ?? []).map((p) => ({
    concurrency: p.concurrency / replicas,
    requestsPerSecond: p.requestsPerSecond / replicas,
    outputTokensPerSecond: p.outputTokensPerSecond / replicas,
    ttftMs: p.ttftMs,
    tpotMs: p.tpotMs,
  }));
  // Levels above what the engine runs at once measured requests queueing in front of it, not the engine.
  const used = perReplica.filter((p) => p.concurrency <= stackEngine.maxConcurrency + 1e-9);
  const beyond = perReplica.filter((p) => !used.includes(p)).map((p) => Number(p.concurrency.toFixed(2)));
  const ignored = beyond.length === 0 ? [] : [
    `measured level${beyond.length > 1 ? "s" : ""} ${beyond.join(", ")} (requests in flight per replica) ${beyond.length > 1 ? "are" : "is"} above the ${stackEngine.maxConcurrency} requests ` +
    `one replica runs at once: not used${used.length === 0 ? ", so the model's curve is used" : ""}`,
  ];
  if (m.curve === undefined || used.length === 0) {
    return { report: m.kvTokens === undefined ? estimate : capacityFor(inputs, slo, utilisation), basis: { ...base, curve: null, ignored } };
  }
  const shape = { inputTokens: m.curve.inputTokens, outputTokens: m.curve.outputTokens };
  const scaled = !sameShape(shape, { inputTokens: inputs.avgInputTokens, outputTokens: inputs.avgOutputTokens });
  const benchEngine = scaled ? engineFor({ ...inputs, avgInputTokens: shape.inputTokens, avgOutputTokens: shape.outputTokens }) : stackEngine;
  const curve = effectiveCurve(stackEngine, benchEngine, used);
  const effectiveSlo = slo ?? DEFAULT_SLO;
  const maxC = stackEngine.maxConcurrency;
  const levels = [...new Set([...curveLevels(maxC), ...used.map((p) => p.concurrency)])].sort((a, b) => a - b);
  const report = capacityReport(inputs, {
    slo: effectiveSlo,
    curve: levels.map(curve),
    operatingPoint: measuredOperatingPoint(curve, maxC, effectiveSlo),
    saturation: curve(maxC),
    maxConcurrency: maxC,
    singleStreamTokensPerSecond: 1000 / curve(1).tpotMs,
    prefillTokensPerSecond: prefillTokensPerSecond(stackEngine),
  }, utilisation);
  return { report, basis: { ...base, curve: { points: used, ...shape, shapeScaled: scaled }, ignored } };
}

/** The basis of a host whose `measured` entry applies in no part: only why, and the estimate in use. */
export function unusedBasis(m: HostMeasurementConfig, estimate: CapacityReport, ignored: readonly string[]): MeasuredBasis {
  return {
    measuredOn: m.measured_on,
    source: m.source,
    kvTokens: null,
    curve: null,
    estimate: { routerRpm: estimate.routerRpm, operatingPoint: estimate.operatingPoint, curve: estimate.curve, maxConcurrency: estimate.maxConcurrency },
    ignored,
  };
}

/** Request shapes further apart than this (either length) make the scaled measured curve worth re-measuring. */
const SHAPE_WARNING_RATIO = 1.25;

/**
 * The plan's warnings about measurements: parts that no longer apply, and a curve measured at a
 * request shape far from the stack's (the model's ratio then carries more of the figure).
 */
export function measurementIssues(hosts: readonly { readonly name: string; readonly measured?: MeasuredBasis }[], traffic: Pick<TrafficConfig, "avg_input_tokens" | "avg_output_tokens">): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const remeasure = (host: string) => `re-measure: run the benchmark (benchmark.enabled) or \`vllm bench serve --save-result\`, then \`npm run calibrate -- --host ${host} --from <file>\`; or remove measured.${host}`;
  for (const h of hosts) {
    const b = h.measured;
    if (b === undefined) continue;
    if (b.ignored.length > 0) out.push(warning(keyPath("measured", [h.name]), `(measured on ${b.measuredOn}): ${b.ignored.join("; ")}`, remeasure(h.name)));
    const c = b.curve;
    if (c === null || !c.shapeScaled) continue;
    const far = (x: number, y: number) => Math.max(x, y) / Math.min(x, y) > SHAPE_WARNING_RATIO;
    if (far(c.inputTokens, traffic.avg_input_tokens) || far(c.outputTokens, traffic.avg_output_tokens)) {
      out.push(warning(keyPath("measured", [h.name, "request_shape"]),
        `was measured with requests of ${Math.round(c.inputTokens)} in / ${Math.round(c.outputTokens)} out tokens, but traffic is ${traffic.avg_input_tokens} / ${traffic.avg_output_tokens}: ` +
        "the router limit scales the measured curve by the model's ratio between the two", remeasure(h.name)));
    }
  }
  return out;
}

/**
 * The `plan` report's lines on measurements: which hosts plan from measured figures, from when
 * and from what, and what the estimate would have been; nothing when no host has an entry.
 */
export function measuredSummary(hosts: readonly { readonly name: string; readonly measured?: MeasuredBasis; readonly capacity: CapacityReport; readonly replicas: number }[]): string[] {
  const entries = hosts.filter((h) => h.measured !== undefined);
  if (entries.length === 0) return [];
  const int = (n: number) => Math.round(n).toLocaleString("en-GB");
  const lines = entries.map((h) => {
    const b = h.measured!;
    if (!usesMeasurement(b)) return `  ${h.name}: the estimate (the entry measured on ${b.measuredOn} does not apply; see the warnings)`;
    const parts = [
      b.kvTokens ? `KV cache ${int(b.kvTokens.measured)} tokens per replica (estimate ${int(b.kvTokens.estimated)})` : "",
      b.curve ? `the latency-throughput curve at ${b.curve.points.length} level${b.curve.points.length > 1 ? "s" : ""} (${b.curve.points.map((p) => Number(p.concurrency.toFixed(2))).join(", ")} requests in flight per replica)` +
        (b.curve.shapeScaled ? `, scaled from ${Math.round(b.curve.inputTokens)}/${Math.round(b.curve.outputTokens)}-token requests` : "") : "",
    ].filter((p) => p !== "");
    return `  ${h.name}: ${parts.join(" and ")}, measured on ${b.measuredOn} (${b.source}); router rpm ${h.capacity.routerRpm} (estimate ${b.estimate.routerRpm * h.replicas})`;
  });
  const others = hosts.filter((h) => !usesMeasurement(h.measured)).length;
  return ["", "Measured capacity (takes precedence over the estimate)", ...lines, ...(others > 0 && others < hosts.length ? [`  other hosts: the estimate`] : [])];
}
