/**
 * The post-deploy benchmark of the docker target: on each host, once its engine is up, vLLM's own
 * `vllm bench serve` from the engine image runs against it (random prompts of the stack's request
 * shape, one run per concurrency level), and the results are published as a file on the host,
 * a line on stdout the component turns into the `measuredCapacity` stack output, and input for
 * `npm run calibrate --from`.
 *
 * The engine's API key reaches the benchmark without touching a command line, a rendered file or
 * a log: the step's command reads it from the first line of its stdin (the script follows), and
 * the script hands it to `docker run` by name (`--env OPENAI_API_KEY`), which is the variable
 * `vllm bench serve` reads for its Authorization header
 * (vllm/benchmarks/lib/endpoint_request_func.py:173, v0.33.0).
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import { BENCHMARK_DEFAULTS } from "../config/defaults";
import type { StackSpec } from "../config/schema";
import type { DeploymentPlan } from "../plan/types";
import { dockerEngineInstance, engineContainer, imageName } from "./containers";
import { dockerPart } from "../plan/docker";
import { type BootstrapStep, makeStep, renderStepCommand, shellQuote } from "./host-bootstrap";
import { renderScript } from "./script";

export const BENCHMARK_STEP = "benchmark";

/** `kind` of the file the step writes, which `npm run calibrate --from` recognises. */
export const BENCHMARK_FILE_KIND = "hybrid-inference/benchmark";
export const BENCHMARK_FILE_VERSION = 1;
/** The stdout line carrying the file, compact JSON after the prefix. */
export const BENCHMARK_RESULT_PREFIX = "HI_BENCHMARK_RESULT=";
/** Where on the host runs are kept: `<dir>/<UTC time>/` per run, and `<dir>/<host>-latest.json`. */
export const BENCHMARK_DIR = "/var/lib/hybrid-inference/benchmarks";

/** The file the step writes (and prints): vLLM's own results and start-up lines, with what they measured. */
export interface BenchmarkFile {
  readonly kind: typeof BENCHMARK_FILE_KIND;
  readonly version: number;
  readonly stack: string;
  readonly host: string;
  readonly engine_image: string;
  /** sha256 of the engine's image and arguments: a changed engine is a new measurement. */
  readonly engine_fingerprint: string;
  /** UTC, ISO 8601. */
  readonly started_at: string;
  readonly finished_at: string;
  /** `vllm bench serve --save-result` JSON, one per level, as vLLM wrote them. */
  readonly results: readonly unknown[];
  /** The engine's start-up lines on model memory and KV cache size (no other log line). */
  readonly startup_log: readonly string[];
}

/** Whether the stack runs the benchmark: `benchmark.enabled`, else on in the environments BENCHMARK_DEFAULTS names; docker target and vLLM only. */
export function benchmarkEnabled(spec: StackSpec): boolean {
  if (spec.target !== "docker" || spec.engine.kind !== "vllm" || !spec.workloads) return false;
  return spec.benchmark.enabled ?? BENCHMARK_DEFAULTS.enabled_in.includes(spec.environment);
}

export interface BenchmarkLevel {
  /** `--max-concurrency`. */
  readonly concurrency: number;
  /** `--num-prompts`. */
  readonly numPrompts: number;
}

/** The levels the stack runs: its `concurrency` list, each with `num_prompts` or 4 requests per client (at least 16). */
export function benchmarkLevels(spec: StackSpec): BenchmarkLevel[] {
  return [...spec.benchmark.concurrency].sort((a, b) => a - b).map((c) => ({
    concurrency: c,
    numPrompts: spec.benchmark.num_prompts ?? Math.max(BENCHMARK_DEFAULTS.min_prompts, BENCHMARK_DEFAULTS.prompts_per_client * c),
  }));
}

/** Seconds one level may take before the step gives up: three times the planned time at saturation latencies, plus 5 minutes for the container to start. */
export function levelTimeoutSeconds(plan: DeploymentPlan, host: DeploymentPlan["hosts"][number], level: BenchmarkLevel): number {
  const sat = host.replicaCapacity.saturation;
  const requestSeconds = (sat.ttftMs + plan.spec.traffic.avg_output_tokens * sat.tpotMs) / 1000;
  return Math.ceil(300 + 3 * Math.ceil(level.numPrompts / level.concurrency) * requestSeconds);
}

/** One host's benchmark: its step (script and quoted data) and the command that runs it. */
export interface HostBenchmark {
  readonly host: string;
  readonly step: BootstrapStep;
}

/** The benchmark step of each host of a docker-target plan; none when the stack does not run it. */
export function benchmarkSteps(plan: DeploymentPlan): HostBenchmark[] {
  if (!benchmarkEnabled(plan.spec)) return [];
  const target = dockerPart(plan);
  const script = renderScript(path.join("engine", `${BENCHMARK_STEP}.sh`));
  const levels = benchmarkLevels(plan.spec);
  return target.hosts.map((t) => {
    const host = plan.hosts.find((h) => h.name === t.name)!;
    const engine = engineContainer(plan, dockerEngineInstance(host, t));
    const fingerprint = createHash("sha256").update(JSON.stringify([imageName(engine.image), engine.command])).digest("hex");
    return {
      host: t.name,
      step: makeStep(BENCHMARK_STEP, script, {
        HI_STACK: plan.spec.stack,
        HI_HOST: t.name,
        HI_ENGINE_IMAGE: imageName(plan.engine.image),
        HI_ENGINE_CONTAINER: t.engineContainerName,
        HI_ENGINE_FINGERPRINT: fingerprint,
        HI_NETWORK: target.networkName,
        // The benchmark container joins the engine's private network and reaches it by name.
        HI_ENGINE_URL: `http://${t.engineContainerName}:${plan.engine.port}`,
        HI_SERVED_MODEL: plan.engine.servedModelName,
        HI_TOKENIZER: plan.engine.hfRepo,
        HI_CACHE_DIR: plan.spec.access.cache_dir,
        HI_INPUT_LEN: String(plan.spec.traffic.avg_input_tokens),
        HI_OUTPUT_LEN: String(plan.spec.traffic.avg_output_tokens),
        HI_LEVELS: levels.map((l) => String(l.concurrency)).join(","),
        HI_PROMPTS: levels.map((l) => String(l.numPrompts)).join(","),
        HI_RESULT_DIR: BENCHMARK_DIR,
        HI_FILE_KIND: BENCHMARK_FILE_KIND,
        HI_READY_TIMEOUT_S: String(Math.ceil(plan.engine.startupSeconds + 120)),
        HI_LEVEL_TIMEOUT_S: String(Math.max(...levels.map((l) => levelTimeoutSeconds(plan, host, l)))),
      }),
    };
  });
}

/** What the step's command runs under sudo: read the key from stdin's first line, then the script from the rest. */
const READ_KEY_THEN_SCRIPT = "IFS= read -r OPENAI_API_KEY && export OPENAI_API_KEY && exec bash -s";

/**
 * The command line of a benchmark step: the step's quoted variables, like every step
 * (renderStepCommand), but bash first reads the engine key from stdin. The key is in no argument.
 */
export function benchmarkCommand(step: BootstrapStep): string {
  const base = renderStepCommand(step);
  if (!base.endsWith(" bash -s")) throw new Error(`step ${step.name}: unexpected command shape ${base}`);
  return `${base.slice(0, -"bash -s".length)}bash -c ${shellQuote(READ_KEY_THEN_SCRIPT)}`;
}

/** The step's stdin: the key on the first line, the script after it. */
export function benchmarkStdin(step: BootstrapStep, engineKey: string): string {
  if (engineKey.includes("\n") || engineKey === "") throw new Error("the engine key must be one non-empty line");
  return `${engineKey}\n${step.script}`;
}

/**
 * The file the step printed on its `HI_BENCHMARK_RESULT=` line. Undefined when there is no such
 * line (a preview, the offline plan's mocks: the step has not run); throws when the line is not
 * such a file. On a host the step succeeds only after printing it.
 */
export function parseBenchmarkOutput(stdout: string): BenchmarkFile | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith(BENCHMARK_RESULT_PREFIX));
  if (line === undefined) return undefined;
  const v: unknown = JSON.parse(line.slice(BENCHMARK_RESULT_PREFIX.length));
  if (typeof v !== "object" || v === null || (v as { kind?: unknown }).kind !== BENCHMARK_FILE_KIND || !Array.isArray((v as { results?: unknown }).results)) {
    throw new Error(`the ${BENCHMARK_RESULT_PREFIX} line is not a ${BENCHMARK_FILE_KIND} file`);
  }
  return v as BenchmarkFile;
}
