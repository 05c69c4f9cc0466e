/**
 * Turns what was read from vLLM's files into a host's `measured:` entry for the stack file:
 * the KV cache size from the start-up log, one point per benchmark level, the request shape
 * they were measured at, and what the host was (card, count, weights, memory settings) so the
 * planner can tell later whether the entry still applies (core/plan/measured.ts).
 */
import { type HostMeasurementConfig, hostMeasurementSchema } from "../config/schema";
import type { DeploymentPlan, HostPlan } from "../plan/types";
import { CalibrationError } from "./errors";
import type { HostReadings } from "./read";
import type { BenchRun } from "./vllm-bench";

export interface EntryOptions {
  /** YYYY-MM-DD; default the date the files carry, else today. */
  readonly measuredOn?: string;
  /** Today, for a log's month-day (vLLM's log has no year) and as the last default. */
  readonly today: Date;
  /** Engine replicas behind the benchmarked endpoint; default the host's (one container serves them all on the docker target). */
  readonly replicas?: number;
}

export interface Entry {
  readonly host: string;
  readonly entry: HostMeasurementConfig;
  /** Facts worth printing next to the entry (how it compares with the plan). */
  readonly notes: readonly string[];
}

const baseName = (file: string) => file.replace(/\s\(.*\)$/, "").split(/[\\/]/).pop() ?? file;
const round = (x: number, digits: number) => Number(x.toFixed(digits));
const int = (n: number) => Math.round(n).toLocaleString("en-GB");

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** The latest date on or before today with this month and day. */
export function dateFromMonthDay(monthDay: string, today: Date): string {
  const year = today.getUTCFullYear();
  const candidate = `${year}-${monthDay}`;
  return candidate <= isoDay(today) ? candidate : `${year - 1}-${monthDay}`;
}

/** The served model a run measured must be the stack's: its name, its repo, or the repo as the tokenizer. */
function checkModel(run: BenchRun, plan: DeploymentPlan, host: HostPlan): void {
  const names = [plan.engine.servedModelName, plan.engine.hfRepo];
  const ok = (run.modelId === undefined || names.includes(run.modelId)) || run.tokenizerId === plan.engine.hfRepo;
  if (!ok) {
    throw new CalibrationError(run.file, `measured model "${run.modelId ?? "?"}"${run.tokenizerId ? ` (tokenizer ${run.tokenizerId})` : ""}, but host ${host.name} serves "${plan.engine.servedModelName}" (${plan.engine.hfRepo})`,
      `a benchmark of the stack's model: --model ${plan.engine.servedModelName} --tokenizer ${plan.engine.hfRepo}`);
  }
}

/** One host's `measured:` entry from its readings; throws CalibrationError naming the file at fault. */
export function measuredEntry(plan: DeploymentPlan, hostName: string, readings: readonly HostReadings[], opts: EntryOptions): Entry {
  const host = plan.hosts.find((h) => h.name === hostName);
  if (!host) throw new Error(`host ${hostName} is not in the plan`);
  const runs = readings.flatMap((r) => r.runs);
  const startups = readings.flatMap((r) => (r.startup ? [r.startup] : []));
  const notes: string[] = [];

  const sizes = [...new Set(startups.map((s) => s.kvTokens))];
  if (sizes.length > 1) {
    throw new CalibrationError(startups.map((s) => baseName(s.file)).join(", "), `disagree on the KV cache size (${sizes.map(int).join(" vs ")} tokens)`,
      "start-up logs of one engine configuration, or one of them");
  }
  const startup = startups[startups.length - 1];

  for (const run of runs) checkModel(run, plan, host);
  const byLevel = new Map<number, BenchRun>();
  for (const run of runs) {
    const level = round(run.concurrency, 2);
    const seen = byLevel.get(level);
    if (seen) throw new CalibrationError(run.file, `measures ${level} requests in flight, as ${seen.file} does`, "one run per concurrency level (drop one of the two files)");
    byLevel.set(level, run);
  }
  let shape: { input_tokens: number; output_tokens: number } | undefined;
  if (runs.length > 0) {
    const completed = runs.reduce((s, r) => s + r.completed, 0);
    const mean = (f: (r: BenchRun) => number) => runs.reduce((s, r) => s + f(r) * r.completed, 0) / completed;
    shape = { input_tokens: round(mean((r) => r.inputTokens), 1), output_tokens: round(mean((r) => r.outputTokens), 1) };
    const first = runs[0]!;
    const off = runs.find((r) => Math.abs(r.inputTokens / first.inputTokens - 1) > 0.1 || Math.abs(r.outputTokens / first.outputTokens - 1) > 0.1);
    if (off) {
      throw new CalibrationError(off.file, `measured requests of ${round(off.inputTokens, 1)} in / ${round(off.outputTokens, 1)} out tokens, unlike ${baseName(first.file)} (${round(first.inputTokens, 1)} / ${round(first.outputTokens, 1)})`,
        "runs of one request shape (the same --random-input-len and --random-output-len)");
    }
  }

  const dates = readings.flatMap((r) => (r.date ? [r.date] : [])).sort();
  const measuredOn = opts.measuredOn ?? dates[dates.length - 1] ?? (startup?.monthDay ? dateFromMonthDay(startup.monthDay, opts.today) : isoDay(opts.today));
  const tools = [...new Set(readings.map((r) => r.tool))];
  const source = tools.map((t) => `${t}: ${[...new Set(readings.filter((r) => r.tool === t).map((r) => baseName(r.file)))].join(", ")}`).join("; ");

  const entry: HostMeasurementConfig = {
    measured_on: measuredOn,
    source: source.length > 500 ? `${source.slice(0, 497)}...` : source,
    measured_with: {
      gpu: host.gpu.id,
      gpu_count: host.gpuCount,
      checkpoint: plan.engine.hfRepo,
      gpu_memory_utilization: plan.engine.gpuMemoryUtilization,
      kv_cache_dtype: plan.engine.kvCacheDtype,
      replicas: opts.replicas ?? host.replicas,
    },
    ...(startup ? { kv_tokens: startup.kvTokens } : {}),
    ...(startup?.weightsGiB !== undefined ? { weights_gib: startup.weightsGiB } : {}),
    ...(startup?.kvCacheGiB !== undefined ? { kv_cache_gib: startup.kvCacheGiB } : {}),
    ...(shape ? { request_shape: shape } : {}),
    ...(runs.length > 0 ? {
      points: [...byLevel.entries()].sort((a, b) => a[0] - b[0]).map(([level, r]) => ({
        concurrency: level,
        requests_per_s: round(r.requestsPerSecond, 4),
        output_tokens_per_s: round(r.outputTokensPerSecond, 1),
        ttft_ms: round(r.ttftMs, 1),
        tpot_ms: round(r.tpotMs, 2),
      })),
    } : {}),
  };
  const checked = hostMeasurementSchema.safeParse(entry);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new CalibrationError(readings.map((r) => baseName(r.file)).join(", "), `gives ${issue.path.join(".") || "the entry"} that ${issue.message}`, "figures within the ranges of the stack file's measured key");
  }

  if (startup) {
    const est = host.memory.kvTokens;
    notes.push(`KV cache: ${int(startup.kvTokens)} tokens per replica measured, ${int(est)} estimated (${startup.kvTokens >= est ? "+" : ""}${Math.round((startup.kvTokens / est - 1) * 100)}%)`);
    if (startup.maxModelLen !== plan.engine.maxModelLen) {
      notes.push(`the start-up log's engine ran with max_model_len ${int(startup.maxModelLen)}, the stack plans ${int(plan.engine.maxModelLen)}: the KV cache size in tokens still applies`);
    }
  }
  return { host: host.name, entry: checked.data, notes };
}
