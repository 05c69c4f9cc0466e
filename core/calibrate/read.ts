/**
 * What a `--from` file holds, told from its content: `vllm bench serve --save-result` JSON (one
 * result, a list, or one per line), a vLLM start-up log, the file the post-deploy benchmark step
 * writes (core/render/benchmark.ts), or the `measuredCapacity` stack output (one such file per
 * host). Anything else is refused with what was expected.
 */
import { BENCHMARK_FILE_KIND } from "../render/benchmark";
import { CalibrationError } from "./errors";
import { type BenchRun, benchRun, isRecord, jsonDocuments, looksLikeBenchResult, otherVllmTool } from "./vllm-bench";
import { type StartupFigures, startupFigures } from "./vllm-log";

/** Measurements of one host (named when the file names it). */
export interface HostReadings {
  /** The host the file says it measured (benchmark files); undefined for vLLM's own files. */
  readonly host?: string;
  readonly runs: readonly BenchRun[];
  readonly startup?: StartupFigures;
  /** YYYY-MM-DD the measurement was taken, when the file says. */
  readonly date?: string;
  /** What made the file, for the `source` line. */
  readonly tool: string;
  readonly file: string;
}

const EXPECTED = "the JSON `vllm bench serve --save-result` writes, a vLLM start-up log, the benchmark step's benchmark.json, or `pulumi stack output measuredCapacity --json`";

/** The readings in one file's text; `file` is the name messages use. */
export function readMeasurementFile(file: string, text: string): HostReadings[] {
  if (text.trim() === "") throw new CalibrationError(file, "is empty", EXPECTED);
  if (text.includes("\0")) throw new CalibrationError(file, "is a binary file", EXPECTED);
  const docs = jsonDocuments(text);
  if (docs === undefined) {
    const t = text.trimStart();
    if (t.startsWith("{") || t.startsWith("[")) throw new CalibrationError(file, "starts like JSON but does not parse as JSON", EXPECTED);
    const startup = startupFigures(file, text);
    return [{ runs: [], startup, tool: "vLLM start-up log", file }];
  }
  if (docs.length === 1 && isBenchmarkFile(docs[0])) return [benchmarkReadings(file, docs[0])];
  if (docs.length === 1 && isRecord(docs[0]) && Object.keys(docs[0]).length > 0 && Object.values(docs[0]).every(isBenchmarkFile)) {
    const output = docs[0];
    return Object.entries(output).map(([key, value]) => {
      const r = benchmarkReadings(`${file} (${key})`, value as Record<string, unknown>);
      if (r.host !== key) throw new CalibrationError(file, `has the benchmark of host "${r.host ?? "?"}" under "${key}"`, "the stack output as Pulumi printed it");
      return r;
    });
  }
  const runs = docs.map((d, i) => {
    const label = docs.length > 1 ? `${file} (result ${i + 1})` : file;
    if (!looksLikeBenchResult(d)) {
      const other = isRecord(d) ? otherVllmTool(d) : undefined;
      throw new CalibrationError(label, other ? `is the output of ${other}, not of \`vllm bench serve\`` : "is JSON, but not a `vllm bench serve --save-result` result: it lacks completed, duration, output_throughput, request_throughput",
        EXPECTED);
    }
    return benchRun(label, d);
  });
  const dates = runs.flatMap((r) => (r.date ? [r.date] : [])).sort();
  return [{ runs, tool: "vllm bench serve", file, ...(dates.length > 0 ? { date: dates[dates.length - 1]! } : {}) }];
}

function isBenchmarkFile(v: unknown): v is Record<string, unknown> {
  return isRecord(v) && v["kind"] === BENCHMARK_FILE_KIND;
}

function benchmarkReadings(file: string, v: Record<string, unknown>): HostReadings {
  const host = v["host"];
  const results = v["results"];
  const log = v["startup_log"];
  if (typeof host !== "string" || !Array.isArray(results) || (log !== undefined && !(Array.isArray(log) && log.every((l) => typeof l === "string")))) {
    throw new CalibrationError(file, `is a ${BENCHMARK_FILE_KIND} file without host, results or startup_log in their shapes`, "the file as the benchmark step wrote it");
  }
  const runs = results.map((r, i) => {
    const label = `${file} (result ${i + 1})`;
    if (!looksLikeBenchResult(r)) throw new CalibrationError(label, "is not a `vllm bench serve` result", "the file as the benchmark step wrote it");
    return benchRun(label, r);
  });
  const lines = (log as string[] | undefined) ?? [];
  const startup = lines.length > 0 ? startupFigures(`${file} (startup_log)`, lines.join("\n")) : undefined;
  const started = typeof v["started_at"] === "string" ? /^(\d{4}-\d{2}-\d{2})T/.exec(v["started_at"])?.[1] : undefined;
  const image = typeof v["engine_image"] === "string" ? v["engine_image"] : undefined;
  return {
    host, runs, file,
    tool: `hybrid-inference benchmark step${image ? ` (${image})` : ""}`,
    ...(startup !== undefined ? { startup } : {}),
    ...(started !== undefined ? { date: started } : {}),
  };
}
