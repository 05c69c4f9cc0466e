/**
 * Reading vLLM's own formats (fixtures written to v0.33.0's source; see fixtures/README.md):
 * what is taken from each, and the message a foreign or broken file gets.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CalibrationError } from "../../core/calibrate/errors";
import { dateFromMonthDay, measuredEntry } from "../../core/calibrate/measurement";
import { readMeasurementFile } from "../../core/calibrate/read";
import { readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { BENCHMARK_FILE_KIND } from "../../core/render/benchmark";

const FIXTURES = path.join(__dirname, "fixtures");
const fixture = (f: string) => readFileSync(path.join(FIXTURES, f), "utf8");
const read = (f: string, text = fixture(f)) => readMeasurementFile(f, text);

/** The CalibrationError `fn` throws, as the CLI prints its parts. */
function refusal(fn: () => unknown): { file: string; problem: string; expected: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof CalibrationError) return { file: e.file, problem: e.problem, expected: e.expected };
    throw e;
  }
  throw new Error("expected a CalibrationError");
}

const staging = loadPlan(readStackFile(path.join(__dirname, "..", "..", "stacks", "Pulumi.staging.yaml"), "staging")).plan!;

describe("vllm bench serve --save-result", () => {
  it("gives a level: requests in flight, throughput, median TTFT and TPOT, and the request shape", () => {
    const [r] = read("bench-c4.json");
    expect(r!.host).toBeUndefined();
    expect(r!.date).toBe("2026-11-30");
    const run = r!.runs[0]!;
    expect(run).toMatchObject({ concurrency: 4, ttftMs: 240.7, tpotMs: 19.8, inputTokens: 1500, outputTokens: 400, completed: 16, modelId: "mistral-small-24b-instruct" });
    expect(run.requestsPerSecond).toBeCloseTo(0.49135, 4);
    expect(run.outputTokensPerSecond).toBeCloseTo(196.54, 2);
  });

  it("reads --append-result's one result per line", () => {
    const [r] = read("bench-appended.json");
    expect(r!.runs.map((x) => x.concurrency)).toEqual([1, 4, 16]);
  });

  it("takes the requests in flight of an open-loop run from Little's law", () => {
    const v = JSON.parse(fixture("bench-c4.json")) as Record<string, unknown>;
    const open: Record<string, unknown> = { ...v, request_rate: 0.5, max_concurrency: null };
    const [r] = read("open.json", JSON.stringify(open));
    expect(r!.runs[0]!.concurrency).toBeCloseTo(0.49135 * (Number(v["mean_e2el_ms"]) / 1000), 4);
    const { mean_e2el_ms: _, ...noE2el } = open;
    expect(refusal(() => read("open.json", JSON.stringify(noE2el))).problem).toBe("ran at request_rate 0.5 without max_concurrency or mean_e2el_ms: the requests in flight are unknown");
  });

  it("refuses a run with failed requests, naming how many", () => {
    expect(refusal(() => read("bench-failed.json"))).toEqual({
      file: "bench-failed.json",
      problem: "has 3 failed requests of 64: a run with errors measures the errors, not the engine",
      expected: "a run with failed: 0; fix what the benchmark printed (timeouts, 4xx/5xx) and run it again",
    });
  });

  it("refuses another tool's JSON, saying which tool it looks like", () => {
    expect(refusal(() => read("throughput.json")).problem).toBe("is the output of `vllm bench throughput` (offline throughput, no latencies), not of `vllm bench serve`");
    expect(refusal(() => read("package.json", '{"name": "x", "version": "1.0.0"}'))).toEqual({
      file: "package.json",
      problem: "is JSON, but not a `vllm bench serve --save-result` result: it lacks completed, duration, output_throughput, request_throughput",
      expected: "the JSON `vllm bench serve --save-result` writes, a vLLM start-up log, the benchmark step's benchmark.json, or `pulumi stack output measuredCapacity --json`",
    });
  });

  it("refuses numbers out of range or edited out of agreement, and a burst", () => {
    const v = JSON.parse(fixture("bench-c4.json")) as Record<string, unknown>;
    expect(refusal(() => read("x.json", JSON.stringify({ ...v, median_tpot_ms: -3 }))).problem).toBe("has median_tpot_ms -3 ms, out of range");
    expect(refusal(() => read("x.json", JSON.stringify({ ...v, output_throughput: 900 }))).problem).toMatch(/^has throughputs that disagree with its counts \(request_throughput 0\.49\d+ vs completed \/ duration 0\.4913, output_throughput 900 vs total_output_tokens \/ duration 196\.54\)$/);
    expect(refusal(() => read("x.json", JSON.stringify({ ...v, max_concurrency: null }))).problem).toBe("sent all 16 requests at once (request_rate inf, no max_concurrency): a burst, not a steady load");
    const { median_ttft_ms: _t, ...noTtft } = v;
    expect(refusal(() => read("x.json", JSON.stringify(noTtft))).problem).toBe("has no median_ttft_ms / median_tpot_ms: vLLM reports them only for a streaming generation run with a tokenizer");
  });
});

describe("a vLLM start-up log", () => {
  it("gives the KV cache size, the memory figures and the day", () => {
    const [r] = read("engine-startup.log");
    expect(r!.startup).toEqual({
      file: "engine-startup.log", kvTokens: 35_984, maxModelLen: 28_672, maxConcurrency: 1.26, pools: "GPU", weightsGiB: 23.41, kvCacheGiB: 5.49, monthDay: "11-30",
    });
  });

  it("reads the lines with VLLM_LOGGING_PREFIX, colour codes and several data-parallel engine cores", () => {
    const dp = "\x1b[32mmyprefix (EngineCore_DP0 pid=245) INFO 11-30 13:59:38 [kv_cache_utils.py:1148] GPU KV cache size: 35,984 tokens, Maximum concurrency for 28,672 tokens per request: 1.26x\x1b[0m\n" +
      "myprefix (EngineCore_DP1 pid=246) INFO 11-30 13:59:39 [kv_cache_utils.py:1148] GPU KV cache size: 35,984 tokens, Maximum concurrency for 28,672 tokens per request: 1.26x\n";
    expect(read("dp.log", dp)[0]!.startup?.kvTokens).toBe(35_984);
  });

  it("refuses a log without the lines, one of an engine that never finished starting, and several different starts", () => {
    expect(refusal(() => read("notes.txt", "hello\nworld\n"))).toEqual({
      file: "notes.txt",
      problem: "is neither JSON nor a vLLM start-up log: it has no \"KV cache size: N tokens\" line",
      expected: 'a vLLM start-up log (e.g. `docker logs <engine container>`) with the line "GPU KV cache size: N tokens, Maximum concurrency for M tokens per request: Xx"',
    });
    const partial = fixture("engine-startup.log").split("\n").filter((l) => !l.includes("KV cache size")).join("\n");
    expect(refusal(() => read("partial.log", partial)).problem).toBe('has vLLM\'s memory lines but no "GPU KV cache size" line: the engine did not finish starting');
    const twice = `${fixture("engine-startup.log")}\n(EngineCore_DP0 pid=9) INFO 12-01 09:00:00 [kv_cache_utils.py:1148] GPU KV cache size: 20,480 tokens, Maximum concurrency for 28,672 tokens per request: 0.71x\n`;
    expect(refusal(() => read("two.log", twice)).problem).toBe("holds several start-ups with different KV cache sizes (35,984, 20,480 tokens)");
    const edited = "INFO 11-30 13:59:38 [kv_cache_utils.py:1148] GPU KV cache size: 99,999 tokens, Maximum concurrency for 28,672 tokens per request: 1.26x";
    expect(refusal(() => read("edited.log", edited)).problem).toMatch(/whose numbers disagree: 99999 \/ 28672 is not 1\.26$/);
    expect(refusal(() => read("empty.log", "  \n")).problem).toBe("is empty");
    expect(refusal(() => read("model.safetensors", "\u0000\u0001binary")).problem).toBe("is a binary file");
  });

  it("dates a log by its month and day, in the latest year that is not in the future", () => {
    expect(dateFromMonthDay("11-30", new Date("2026-12-02T10:00:00Z"))).toBe("2026-11-30");
    expect(dateFromMonthDay("12-31", new Date("2027-01-02T10:00:00Z"))).toBe("2026-12-31");
  });
});

describe("the benchmark step's file and the stack output", () => {
  const file = {
    kind: BENCHMARK_FILE_KIND, version: 1, stack: "staging", host: "stg-gpu-1", engine_image: "vllm/vllm-openai:v0.33.0", engine_fingerprint: "ab",
    started_at: "2026-11-30T14:05:00Z", finished_at: "2026-11-30T14:09:00Z",
    results: ["bench-c1.json", "bench-c4.json", "bench-c16.json"].map((f) => JSON.parse(fixture(f)) as unknown),
    startup_log: fixture("engine-startup.log").split("\n").filter((l) => /KV cache|Model loading/.test(l)),
  };

  it("names its host and carries both the levels and the start-up lines", () => {
    const [r] = read("benchmark.json", JSON.stringify(file));
    expect(r!.host).toBe("stg-gpu-1");
    expect(r!.tool).toBe("hybrid-inference benchmark step (vllm/vllm-openai:v0.33.0)");
    expect(r!.runs.map((x) => x.concurrency)).toEqual([1, 4, 16]);
    expect(r!.startup?.kvTokens).toBe(35_984);
    expect(r!.date).toBe("2026-11-30");
  });

  it("reads `pulumi stack output measuredCapacity --json`, one file per host", () => {
    const output = { "stg-gpu-1": file, "stg-gpu-2": { ...file, host: "stg-gpu-2" } };
    expect(read("measured.json", JSON.stringify(output)).map((r) => r.host)).toEqual(["stg-gpu-1", "stg-gpu-2"]);
    expect(refusal(() => read("measured.json", JSON.stringify({ "stg-gpu-9": file }))).problem).toBe('has the benchmark of host "stg-gpu-1" under "stg-gpu-9"');
  });
});

describe("a host's entry", () => {
  const readings = ["bench-c1.json", "bench-c4.json", "bench-c16.json", "engine-startup.log"].flatMap((f) => read(f));

  it("holds the KV cache size, one point per level, the request shape and what the host was", () => {
    const { entry, notes } = measuredEntry(staging, "stg-gpu-1", readings, { today: new Date("2026-12-01T00:00:00Z") });
    expect(entry).toMatchObject({
      measured_on: "2026-11-30",
      source: "vllm bench serve: bench-c1.json, bench-c4.json, bench-c16.json; vLLM start-up log: engine-startup.log",
      measured_with: { gpu: "rtx-5090", gpu_count: 1, checkpoint: "RedHatAI/Mistral-Small-24B-Instruct-2501-FP8-dynamic", gpu_memory_utilization: 0.9, kv_cache_dtype: "auto", replicas: 1 },
      kv_tokens: 35_984, weights_gib: 23.41, kv_cache_gib: 5.49,
      request_shape: { input_tokens: 1500, output_tokens: 400 },
    });
    expect(entry.points).toEqual([
      { concurrency: 1, requests_per_s: 0.1444, output_tokens_per_s: 57.8, ttft_ms: 182.4, tpot_ms: 16.9 },
      { concurrency: 4, requests_per_s: 0.4913, output_tokens_per_s: 196.5, ttft_ms: 240.7, tpot_ms: 19.8 },
      { concurrency: 16, requests_per_s: 1.2309, output_tokens_per_s: 492.4, ttft_ms: 390.2, tpot_ms: 31.6 },
    ]);
    expect(notes).toEqual([`KV cache: 35,984 tokens per replica measured, ${staging.hosts[0]!.memory.kvTokens.toLocaleString("en-GB")} estimated (+24%)`]);
  });

  it("refuses a benchmark of another model, two runs at one level, and runs of different request shapes", () => {
    const v = JSON.parse(fixture("bench-c4.json")) as Record<string, unknown>;
    const other = read("llama.json", JSON.stringify({ ...v, model_id: "llama-3.3-70b", tokenizer_id: "meta-llama/Llama-3.3-70B-Instruct" }));
    expect(refusal(() => measuredEntry(staging, "stg-gpu-1", other, { today: new Date() })).problem)
      .toBe('measured model "llama-3.3-70b" (tokenizer meta-llama/Llama-3.3-70B-Instruct), but host stg-gpu-1 serves "mistral-small-24b-instruct" (RedHatAI/Mistral-Small-24B-Instruct-2501-FP8-dynamic)');
    expect(refusal(() => measuredEntry(staging, "stg-gpu-1", [...read("bench-c4.json"), ...read("again.json", fixture("bench-c4.json"))], { today: new Date() })).problem)
      .toBe("measures 4 requests in flight, as bench-c4.json does");
    const longer = read("long.json", JSON.stringify({ ...JSON.parse(fixture("bench-c16.json")) as object, total_input_tokens: 64 * 3000 }));
    expect(refusal(() => measuredEntry(staging, "stg-gpu-1", [...read("bench-c1.json"), ...longer], { today: new Date() })).problem)
      .toBe("measured requests of 3000 in / 400 out tokens, unlike bench-c1.json (1500 / 400)");
  });
});
