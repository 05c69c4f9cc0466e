/**
 * An engine replica under load: latency and throughput as functions of the number of
 * requests inside it (`concurrency`), the steady state for an arrival rate, and finite
 * closed-loop runs (what a benchmark with N requests and C clients measures).
 *
 * The steady state at concurrency n (each request: `u` uncached prompt tokens to prefill,
 * then `d = out - 1` decode steps after the token that ends its prefill):
 *  - Chunked prefill: a waiting prompt gets what the running decodes leave of the token
 *    budget B (`max_num_batched_tokens`) each step, so its prefill takes
 *    k0 = max(1, u / (B - decoding)) steps (fractional: chunks share steps).
 *  - Requests complete c per step: c = min(n / (k0 + d), B / (u + d)); the second bound
 *    is the budget itself (every completion costs u prefill + d decode tokens of it).
 *    Then `c x d` sequences decode in an average step and `c x u` prompt tokens prefill.
 *  - A fraction f = min(1, c x k0) of steps carries prefill; those take longer (a
 *    compute-bound chunk), the rest are pure decode steps. TPOT is the mean step, the time
 *    between two tokens of a decoding sequence.
 *  - Throughput c / TPOT requests/s; TTFT = half a step of waiting for the running step
 *    (when others are running), k0 prefill steps, plus queueing for budget when prefill
 *    is the bottleneck (n / c - d - k0 further steps).
 * Everything is a pure function of (engine, n); nothing here is stateful.
 */
import type { Efficiency } from "./efficiency";
import { type EngineShape, type StepLoad, stepSeconds } from "./step";

/** The stack's request shape as the engine sees it. */
export interface RequestShape {
  readonly inputTokens: number;
  /** Prompt tokens served from the prefix cache (0 for distinct prompts). */
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
}

/** One engine replica: its step-time shape, scheduler limits, request shape and efficiencies. */
export interface Engine {
  readonly shape: EngineShape;
  /** `max_num_batched_tokens`: the token budget of one step. */
  readonly maxNumBatchedTokens: number;
  /** Most requests the engine runs at once: `max_num_seqs`, bounded by the KV cache. */
  readonly maxConcurrency: number;
  readonly request: RequestShape;
  readonly efficiency: Efficiency;
}

/** Latency and throughput of one replica with `concurrency` requests inside it. */
export interface LoadPoint {
  readonly concurrency: number;
  /** Mean sequences decoding in a step. */
  readonly decodingSeqs: number;
  readonly ttftSeconds: number;
  /** Time per output token after the first (the mean step). */
  readonly tpotSeconds: number;
  /** End-to-end time of one request. */
  readonly latencySeconds: number;
  readonly requestsPerSecond: number;
  readonly outputTokensPerSecond: number;
}

function uncachedInput(r: RequestShape): number {
  return Math.max(1, r.inputTokens - r.cachedInputTokens);
}

function decodeSteps(r: RequestShape): number {
  return Math.max(0, r.outputTokens - 1);
}

/** Mean tokens of KV a decoding sequence reads: its prompt plus half its output. */
function decodeContext(r: RequestShape): number {
  return r.inputTokens + r.outputTokens / 2;
}

/** Completions per step and prefill steps per request at concurrency n (the fixed point above). */
export function completionsPerStep(e: Engine, n: number): { readonly completions: number; readonly prefillSteps: number } {
  const u = uncachedInput(e.request);
  const d = decodeSteps(e.request);
  const budget = e.maxNumBatchedTokens;
  const budgetBound = budget / (u + d);
  let completions = Math.min(n / (1 + d), budgetBound);
  let prefillSteps = 1;
  // Three rounds settle it: k0 moves only through the decodes' share of the budget.
  for (let round = 0; round < 3; round++) {
    const left = Math.max(1, budget - completions * d);
    prefillSteps = Math.max(1, u / left);
    completions = Math.min(n / (prefillSteps + d), budgetBound);
  }
  return { completions, prefillSteps };
}

/** The two kinds of step of the steady state at concurrency n, and how often prefill is in one. */
function stepsAt(e: Engine, n: number) {
  const r = e.request;
  const u = uncachedInput(r);
  const { completions, prefillSteps } = completionsPerStep(e, n);
  const decodingSeqs = completions * decodeSteps(r);
  const prefillShare = Math.min(1, completions * prefillSteps);
  const base = { decodeSeqs: decodingSeqs, decodeContext: decodeContext(r), prefillContext: r.cachedInputTokens + u / 2 };
  const prefillLoad: StepLoad = {
    ...base,
    prefillTokens: prefillShare > 0 ? (completions * u) / prefillShare : 0,
    sampledSeqs: decodingSeqs + (prefillShare > 0 ? completions / prefillShare : 0),
  };
  const decodeLoad: StepLoad = { ...base, prefillTokens: 0, sampledSeqs: decodingSeqs };
  const prefillStep = stepSeconds(e.shape, prefillLoad, e.efficiency);
  const decodeStep = stepSeconds(e.shape, decodeLoad, e.efficiency);
  const meanStep = prefillShare * prefillStep + (1 - prefillShare) * decodeStep;
  return { completions, prefillSteps, decodingSeqs, prefillStep, meanStep };
}

/** The steady state of one replica with `concurrency` requests inside it (0 < n <= maxConcurrency). */
export function loadAt(e: Engine, concurrency: number): LoadPoint {
  const n = Math.max(1e-9, Math.min(concurrency, e.maxConcurrency));
  const d = decodeSteps(e.request);
  const s = stepsAt(e, n);
  const requestsPerSecond = s.completions / s.meanStep;
  const waitForRunningStep = 0.5 * s.meanStep * Math.min(1, Math.max(0, n - 1));
  const queuedSteps = Math.max(0, n / s.completions - d - s.prefillSteps);
  const ttftSeconds = waitForRunningStep + queuedSteps * s.meanStep + s.prefillSteps * s.prefillStep;
  return {
    concurrency: n,
    decodingSeqs: s.decodingSeqs,
    ttftSeconds,
    tpotSeconds: s.meanStep,
    latencySeconds: ttftSeconds + d * s.meanStep,
    requestsPerSecond,
    outputTokensPerSecond: requestsPerSecond * e.request.outputTokens,
  };
}

/** The replica full: `maxConcurrency` requests inside it. */
export function saturation(e: Engine): LoadPoint {
  return loadAt(e, e.maxConcurrency);
}

/** A closed loop of `clients` clients: beyond the engine's limit, requests wait outside it. */
export function closedLoop(e: Engine, clients: number): LoadPoint {
  const inside = loadAt(e, Math.min(clients, e.maxConcurrency));
  const waiting = Math.max(0, clients - e.maxConcurrency);
  if (waiting === 0) return inside;
  const queueSeconds = waiting / inside.requestsPerSecond;
  return {
    ...inside,
    concurrency: clients,
    ttftSeconds: inside.ttftSeconds + queueSeconds,
    latencySeconds: inside.latencySeconds + queueSeconds,
  };
}

/**
 * The steady state for requests arriving at `requestsPerSecond`: the concurrency at which
 * the replica completes them as fast as they come (bisection; throughput rises with
 * concurrency). Undefined when the rate is at or above saturation: the queue then grows
 * without bound.
 */
export function atRate(e: Engine, requestsPerSecond: number): LoadPoint | undefined {
  if (requestsPerSecond >= saturation(e).requestsPerSecond) return undefined;
  let lo = 0;
  let hi = e.maxConcurrency;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (loadAt(e, mid).requestsPerSecond < requestsPerSecond) lo = mid;
    else hi = mid;
  }
  return loadAt(e, hi);
}

/**
 * One round of `m` requests that start together (a benchmark's clients all sending at
 * once): their prompts prefill first, a full token budget per step, then `d` decode steps
 * with all m decoding. Prefill bursts like this cannot hide under memory-bound decode
 * steps the way staggered arrivals do, which is why such runs measure less than the
 * steady state.
 */
export function roundSeconds(e: Engine, m: number): { readonly prefillSteps: number; readonly prefillSeconds: number; readonly decodeSeconds: number } {
  const r = e.request;
  const u = uncachedInput(r);
  const prefillTokens = m * u;
  const chunk = Math.min(e.maxNumBatchedTokens, prefillTokens);
  const prefillStep = stepSeconds(
    e.shape,
    { decodeSeqs: 0, decodeContext: 0, prefillTokens: chunk, prefillContext: r.cachedInputTokens + u / 2, sampledSeqs: (chunk / prefillTokens) * m },
    e.efficiency,
  );
  const decodeStep = stepSeconds(e.shape, { decodeSeqs: m, decodeContext: decodeContext(r), prefillTokens: 0, prefillContext: 0, sampledSeqs: m }, e.efficiency);
  const prefillSteps = prefillTokens / chunk;
  return { prefillSteps, prefillSeconds: prefillSteps * prefillStep, decodeSeconds: decodeSteps(r) * decodeStep };
}

/**
 * Output tokens/s a finite closed-loop run measures: `requests` requests through `clients`
 * clients, in synchronised rounds of at most the engine's limit (requests of one length
 * start and end together), the last round partly full.
 */
export function finiteClosedRunTokensPerSecond(e: Engine, clients: number, requests: number): number {
  const perRound = Math.max(1, Math.min(clients, e.maxConcurrency, requests));
  const fullRounds = Math.floor(requests / perRound);
  const remainder = requests - fullRounds * perRound;
  const seconds = (m: number) => {
    const round = roundSeconds(e, m);
    return round.prefillSeconds + round.decodeSeconds;
  };
  const total = fullRounds * seconds(perRound) + (remainder > 0 ? seconds(remainder) : 0);
  return (requests * e.request.outputTokens) / total;
}

/** Prompt tokens/s of a replica doing nothing but prefill, a full token budget per step. */
export function prefillTokensPerSecond(e: Engine): number {
  const u = uncachedInput(e.request);
  const budget = e.maxNumBatchedTokens;
  const load: StepLoad = { decodeSeqs: 0, decodeContext: 0, prefillTokens: budget, prefillContext: e.request.cachedInputTokens + u / 2, sampledSeqs: budget / u };
  return budget / stepSeconds(e.shape, load, e.efficiency);
}
