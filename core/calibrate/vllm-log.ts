/**
 * Reads the start-up figures vLLM v0.33.0 logs about memory and the KV cache.
 *
 * Each line is prefixed by vllm/logger.py's format (see the comment on
 * `CapacityInputs.kvTokens` in core/plan/capacity.ts): `(<process> pid=<pid>) INFO <MM-DD
 * HH:MM:SS> [<file>:<line>] ` (VLLM_LOGGING_PREFIX first, when set). The messages:
 *  - vllm/v1/worker/gpu_model_runner.py:5089 "Model loading took %s GiB memory and %.6f seconds"
 *    (per GPU worker);
 *  - vllm/v1/worker/gpu_worker.py:773 "Available KV cache memory: %s GiB" (per GPU worker);
 *  - vllm/v1/core/kv_cache_utils.py:1148 "%s KV cache size: %s tokens, Maximum concurrency for
 *    %s tokens per request: %.2fx", the first %s "GPU" (`_kv_cache_device_name`, "+ host" with
 *    a host pool), the counts with thousands separators (`f"{n:,}"`), the tokens being
 *    int(max concurrency x max_model_len) (`get_kv_cache_capacity`). Logged once per engine
 *    core, so once per data-parallel replica.
 * GiB figures are round(bytes / 2^30, 2).
 */
import { CalibrationError } from "./errors";

export interface StartupFigures {
  readonly file: string;
  /** KV cache tokens of one replica. */
  readonly kvTokens: number;
  /** The engine's max_model_len and the concurrency vLLM computed for it. */
  readonly maxModelLen: number;
  readonly maxConcurrency: number;
  /** "GPU", or "GPU + host". */
  readonly pools: string;
  /** Per GPU: the largest "Model loading took" and the smallest "Available KV cache memory" of the workers. */
  readonly weightsGiB?: number;
  readonly kvCacheGiB?: number;
  /** MM-DD of the KV cache line (vLLM's log has no year). */
  readonly monthDay?: string;
}

const KV_LINE = /(GPU(?: \+ host)?|[A-Z]{2,8}(?: \+ host)?) KV cache size: ([\d,]+) tokens, Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x/;
const WEIGHTS_LINE = /Model loading took ([\d.]+) GiB memory and [\d.]+ seconds/;
const KV_MEMORY_LINE = /Available KV cache memory: (-?[\d.]+) GiB/;
const DATE = /\b(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) (\d{2})-(\d{2}) \d{2}:\d{2}:\d{2}/;
// A terminal's colour codes, when the log was captured from a TTY.
const ANSI = /\x1b\[[0-9;]*m/g;

const EXPECTED = 'a vLLM start-up log (e.g. `docker logs <engine container>`) with the line "GPU KV cache size: N tokens, Maximum concurrency for M tokens per request: Xx"';

const count = (s: string) => Number(s.replace(/,/g, ""));

/** The figures of a start-up log; throws CalibrationError naming the file when the lines are missing or disagree. */
export function startupFigures(file: string, text: string): StartupFigures {
  const lines = text.replace(ANSI, "").split("\n");
  const kv = lines.flatMap((l) => {
    const m = KV_LINE.exec(l);
    return m ? [{ line: l, pools: m[1]!, tokens: count(m[2]!), maxModelLen: count(m[3]!), concurrency: Number(m[4]!) }] : [];
  });
  const weights = lines.flatMap((l) => { const m = WEIGHTS_LINE.exec(l); return m ? [Number(m[1])] : []; });
  const kvMemory = lines.flatMap((l) => { const m = KV_MEMORY_LINE.exec(l); return m ? [Number(m[1])] : []; });
  if (kv.length === 0) {
    if (weights.length > 0 || kvMemory.length > 0) {
      throw new CalibrationError(file, 'has vLLM\'s memory lines but no "GPU KV cache size" line: the engine did not finish starting', `${EXPECTED}, from a start that reached "Starting vLLM API server"`);
    }
    throw new CalibrationError(file, "is neither JSON nor a vLLM start-up log: it has no \"KV cache size: N tokens\" line", EXPECTED);
  }
  const distinct = [...new Set(kv.map((k) => k.tokens))];
  if (distinct.length > 1) {
    throw new CalibrationError(file, `holds several start-ups with different KV cache sizes (${distinct.map((t) => t.toLocaleString("en-GB")).join(", ")} tokens)`,
      "the log of one start-up of the current settings, e.g. `docker logs --since <time of the last start> <engine container>`");
  }
  const last = kv[kv.length - 1]!;
  if (!(last.tokens >= 1 && last.tokens <= 1e9) || !(last.maxModelLen >= 1) || !(last.concurrency > 0)) {
    throw new CalibrationError(file, `has "${last.line.trim()}", whose numbers are out of range`, "KV tokens from 1 to 10^9 and a positive max_model_len and concurrency");
  }
  // tokens = int(concurrency x max_model_len), the concurrency printed to 2 decimals.
  if (Math.abs(last.tokens / last.maxModelLen - last.concurrency) > 0.006 + 1 / last.maxModelLen) {
    throw new CalibrationError(file, `has "${last.line.trim()}", whose numbers disagree: ${last.tokens} / ${last.maxModelLen} is not ${last.concurrency}`, "the log as vLLM wrote it, unedited");
  }
  for (const [what, values] of [["Model loading took", weights], ["Available KV cache memory", kvMemory]] as const) {
    const bad = values.find((g) => !(g > 0 && g <= 1024));
    if (bad !== undefined) throw new CalibrationError(file, `has "${what}: ${bad} GiB", out of range`, "a figure above 0 and at most 1024 GiB per GPU (a negative KV cache memory means the engine could not start)");
  }
  const date = DATE.exec(last.line);
  return {
    file,
    kvTokens: last.tokens,
    maxModelLen: last.maxModelLen,
    maxConcurrency: last.concurrency,
    pools: last.pools,
    ...(weights.length > 0 ? { weightsGiB: Math.max(...weights) } : {}),
    ...(kvMemory.length > 0 ? { kvCacheGiB: Math.min(...kvMemory) } : {}),
    ...(date ? { monthDay: `${date[1]}-${date[2]}` } : {}),
  };
}
