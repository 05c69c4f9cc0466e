/**
 * Reads what `vllm bench serve --save-result` writes (vLLM v0.33.0), one run per
 * `--max-concurrency` level, into a measured level of a latency–throughput curve.
 *
 * The result JSON (vllm/benchmarks/serve.py, `main_async`, lines 2305-2336, and `benchmark`,
 * lines 1318-1341 and 1403-1430): `date` ("%Y%m%d-%H%M%S"), `backend`, `model_id`,
 * `tokenizer_id`, `num_prompts`, `request_rate` (a number, or "inf" when every request is sent
 * at once), `max_concurrency` (null when not set), then the metrics: `duration` (s),
 * `completed`, `failed`, `total_input_tokens`, `total_output_tokens`, `request_throughput`
 * (completed / duration), `output_throughput` (output tokens / duration), and for each metric of
 * `--percentile-metrics` (default "ttft,tpot,itl" for generative backends, line 2255)
 * `mean_<m>_ms`, `median_<m>_ms`, `std_<m>_ms` and `p<q>_<m>_ms`. TTFT and TPOT are only
 * reported with a tokenizer (`task_type == GENERATION and tokenizer`, line 1434), so a run with
 * `--skip-tokenizer-init` has none. `--append-result` appends one JSON document per line.
 */
import { CalibrationError } from "./errors";

/** One `vllm bench serve` run as a measured level. */
export interface BenchRun {
  /** The file it came from, for messages and the `source` line. */
  readonly file: string;
  /** Requests in flight: `--max-concurrency` of a closed loop, else Little's law (throughput x mean latency). */
  readonly concurrency: number;
  readonly requestsPerSecond: number;
  readonly outputTokensPerSecond: number;
  /** Medians, ms. */
  readonly ttftMs: number;
  readonly tpotMs: number;
  /** Mean tokens per request. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly completed: number;
  /** The run's date, YYYY-MM-DD, when it has one. */
  readonly date?: string;
  readonly modelId?: string;
  readonly tokenizerId?: string;
}

type Json = Record<string, unknown>;

/** Keys every generative `vllm bench serve` result has: what tells one from another tool's JSON. */
const RESULT_KEYS = ["completed", "duration", "output_throughput", "request_throughput", "total_input_tokens", "total_output_tokens"] as const;

export function isRecord(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True when the value looks like a `vllm bench serve` result (it may still be a bad one). */
export function looksLikeBenchResult(v: unknown): v is Json {
  return isRecord(v) && RESULT_KEYS.filter((k) => k in v).length >= 3;
}

/** What another vLLM tool's JSON is, to say so instead of "unknown JSON". */
export function otherVllmTool(v: Json): string | undefined {
  // vllm/benchmarks/throughput.py and latency.py --output-json keys.
  if ("requests_per_second" in v && "tokens_per_second" in v && "elapsed_time" in v) return "`vllm bench throughput` (offline throughput, no latencies)";
  if ("avg_latency" in v && "latencies" in v) return "`vllm bench latency` (one batch's latency, no serving load)";
  return undefined;
}

function num(file: string, v: Json, key: string, what: string): number {
  const x = v[key];
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new CalibrationError(file, x === undefined ? `has no "${key}" (${what})` : `has "${key}": ${JSON.stringify(x)}, not a number (${what})`,
      "the JSON `vllm bench serve --save-result` writes (vLLM v0.33.0)");
  }
  return x;
}

function inRange(file: string, key: string, x: number, lo: number, hi: number, unit: string): number {
  if (!(x > lo) || x > hi) throw new CalibrationError(file, `has ${key} ${x}${unit}, out of range`, `a value above ${lo} and at most ${hi}${unit}`);
  return x;
}

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

/** `YYYYMMDD-HHMMSS` (serve.py line 2306) as YYYY-MM-DD. */
function runDate(v: Json): string | undefined {
  const d = v["date"];
  const m = typeof d === "string" ? /^(\d{4})(\d{2})(\d{2})-\d{6}$/.exec(d) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** One result object as a measured level; throws CalibrationError naming the file and the key. */
export function benchRun(file: string, v: Json): BenchRun {
  const completed = num(file, v, "completed", "requests that succeeded");
  if (!Number.isInteger(completed) || completed < 1) throw new CalibrationError(file, `has completed ${completed}: no request succeeded`, "a run in which requests completed; check the engine's address and API key");
  const failed = v["failed"] === undefined ? 0 : num(file, v, "failed", "requests that failed");
  if (failed > 0) {
    throw new CalibrationError(file, `has ${failed} failed request${failed > 1 ? "s" : ""} of ${completed + failed}: a run with errors measures the errors, not the engine`,
      "a run with failed: 0; fix what the benchmark printed (timeouts, 4xx/5xx) and run it again");
  }
  const duration = inRange(file, "duration", num(file, v, "duration", "seconds the run took"), 0, 7 * 24 * 3600, " s");
  const requestThroughput = inRange(file, "request_throughput", num(file, v, "request_throughput", "requests per second"), 0, 100_000, " req/s");
  const outputThroughput = inRange(file, "output_throughput", num(file, v, "output_throughput", "output tokens per second"), 0, 10_000_000, " tok/s");
  const totalIn = num(file, v, "total_input_tokens", "prompt tokens of the completed requests");
  const totalOut = num(file, v, "total_output_tokens", "output tokens of the completed requests");
  if (!close(requestThroughput, completed / duration, 0.01) || !close(outputThroughput, totalOut / duration, 0.01)) {
    throw new CalibrationError(file, `has throughputs that disagree with its counts (request_throughput ${requestThroughput} vs completed / duration ${(completed / duration).toFixed(4)}, ` +
      `output_throughput ${outputThroughput} vs total_output_tokens / duration ${(totalOut / duration).toFixed(2)})`, "the file as vLLM wrote it, unedited");
  }
  const inputTokens = totalIn / completed;
  const outputTokens = totalOut / completed;
  if (!(inputTokens >= 1)) throw new CalibrationError(file, `has ${inputTokens} prompt tokens per request`, "requests with a prompt (--random-input-len)");
  if (!(outputTokens > 1)) throw new CalibrationError(file, `has ${outputTokens} output tokens per request: time per output token is undefined`, "requests with more than one output token (--random-output-len)");
  if (v["median_ttft_ms"] === undefined || v["median_tpot_ms"] === undefined) {
    throw new CalibrationError(file, "has no median_ttft_ms / median_tpot_ms: vLLM reports them only for a streaming generation run with a tokenizer",
      "a run without --skip-tokenizer-init, with --percentile-metrics including ttft and tpot (the default)");
  }
  const ttftMs = inRange(file, "median_ttft_ms", num(file, v, "median_ttft_ms", "median time to first token"), 0, 3_600_000, " ms");
  const tpotMs = inRange(file, "median_tpot_ms", num(file, v, "median_tpot_ms", "median time per output token"), 0, 60_000, " ms");
  const concurrency = inFlight(file, v, completed, requestThroughput);
  const date = runDate(v);
  const modelId = typeof v["model_id"] === "string" ? v["model_id"] : undefined;
  const tokenizerId = typeof v["tokenizer_id"] === "string" ? v["tokenizer_id"] : undefined;
  return {
    file, concurrency, requestsPerSecond: requestThroughput, outputTokensPerSecond: outputThroughput, ttftMs, tpotMs, inputTokens, outputTokens, completed,
    ...(date !== undefined ? { date } : {}), ...(modelId !== undefined ? { modelId } : {}), ...(tokenizerId !== undefined ? { tokenizerId } : {}),
  };
}

/**
 * Requests in flight during a run. A closed loop (`--request-rate inf` with `--max-concurrency c`)
 * keeps c in flight (fewer when it had fewer prompts); an open loop at a request rate has, by
 * Little's law, throughput x mean end-to-end latency in flight (needs `e2el` in
 * `--percentile-metrics`). Every request sent at once is a burst, not a load.
 */
function inFlight(file: string, v: Json, completed: number, requestThroughput: number): number {
  const rate = v["request_rate"];
  const maxConcurrency = v["max_concurrency"];
  if (maxConcurrency !== undefined && maxConcurrency !== null && (typeof maxConcurrency !== "number" || !Number.isInteger(maxConcurrency) || maxConcurrency < 1)) {
    throw new CalibrationError(file, `has max_concurrency ${JSON.stringify(maxConcurrency)}`, "a whole number of at least 1, or null");
  }
  const closed = rate === "inf" || rate === undefined;
  if (closed && typeof maxConcurrency === "number") {
    const prompts = typeof v["num_prompts"] === "number" ? v["num_prompts"] : completed;
    return Math.min(maxConcurrency, prompts);
  }
  const e2el = v["mean_e2el_ms"];
  if (!closed && typeof e2el === "number" && e2el > 0) return requestThroughput * (e2el / 1000);
  if (closed) {
    throw new CalibrationError(file, `sent all ${completed} requests at once (request_rate inf, no max_concurrency): a burst, not a steady load`,
      "a run with --max-concurrency <requests in flight>, one run per level");
  }
  throw new CalibrationError(file, `ran at request_rate ${JSON.stringify(rate)} without max_concurrency or mean_e2el_ms: the requests in flight are unknown`,
    "a run with --max-concurrency, or with --percentile-metrics ttft,tpot,itl,e2el");
}

/**
 * The result documents in a file's text: one JSON object, a list of them, or one per line
 * (`--append-result`). Returns undefined when the text is not JSON at all.
 */
export function jsonDocuments(text: string): unknown[] | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : [v];
  } catch {
    const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
    if (lines.length < 2 || !lines.every((l) => l.startsWith("{"))) return undefined;
    try {
      return lines.map((l) => JSON.parse(l) as unknown);
    } catch {
      return undefined;
    }
  }
}
