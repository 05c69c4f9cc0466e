/**
 * The post-deploy benchmark step (templates/engine/benchmark.sh, rendered by
 * core/render/benchmark.ts), run for real with bash against the host-script harness: a stub
 * docker that answers `inspect` and `logs` and, for `docker run … vllm bench serve`, writes the
 * result file vLLM would. The key's path (stdin -> environment -> docker by name) is followed.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { measuredEntry } from "../../core/calibrate/measurement";
import { readMeasurementFile } from "../../core/calibrate/read";
import { readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { BENCHMARK_DIR, benchmarkCommand, benchmarkEnabled, benchmarkSteps, benchmarkStdin, parseBenchmarkOutput } from "../../core/render/benchmark";
import { rawConfig, withValues } from "../fixtures";
import { Sandbox } from "../host-bootstrap/harness";
import { shellcheckRendered } from "../host-bootstrap/shellcheck";
import benchFlags from "./fixtures/vllm-bench-serve-flags-v0.33.0.json";

const root = path.join(__dirname, "..", "..");
const stackPlan = (stack: string) => loadPlan(readStackFile(path.join(root, "stacks", `Pulumi.${stack}.yaml`), stack)).plan!;
const staging = stackPlan("staging");
const [bench] = benchmarkSteps(staging);
const KEY = "engine-key-canary-7f3a";
const FIXTURES = path.join(__dirname, "fixtures");

/**
 * docker: `inspect` prints state/health (default healthy) or the start time; `logs` prints
 * state/engine-log; `run` records OPENAI_API_KEY from its environment and, unless state/run-rc
 * says otherwise, writes the fixture result of its --max-concurrency level (with state/failed
 * failed requests) where --result-dir is mounted, as vLLM does.
 */
const DOCKER_STUB = String.raw`
case "$1" in
  inspect)
    if [[ "$3" == *StartedAt* ]]; then echo 2026-11-30T13:58:00.000000000Z; exit 0; fi
    cat "$S/health" 2>/dev/null || echo healthy ;;
  logs) cat "$S/engine-log" ;;
  rm) exit 0 ;;
  run)
    printf 'OPENAI_API_KEY=%s\n' "${"${"}OPENAI_API_KEY-<unset>}" >>"$S/run-env"
    rc="$(cat "$S/run-rc" 2>/dev/null || echo 0)"
    [[ "$rc" == 0 ]] || exit "$rc"
    python3 - "$HI_ROOT" "$S" "$@" <<'PY'
import json, sys
root, state, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
mount = next(a.split(":")[0] for a in argv if a.endswith(":/results"))
level = argv[argv.index("--max-concurrency") + 1]
name = argv[argv.index("--result-filename") + 1]
with open(f"{state}/bench-c{level}.json") as f:
    result = json.load(f)
try:
    result["failed"] = int(open(f"{state}/failed").read())
except FileNotFoundError:
    pass
with open(f"{root}{mount}/{name}", "w") as f:
    json.dump(result, f)
PY
    ;;
esac`;

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
  sb.stub("docker", DOCKER_STUB);
  sb.stub("timeout", 'while [[ "$1" == --* ]]; do shift; done; shift; exec "$@"');
  sb.stub("sleep", "exit 0");
  sb.file("var/lib/hybrid-inference/models/.keep", "");
  for (const c of [1, 4, 16]) sb.set(`bench-c${c}.json`, readFileSync(path.join(FIXTURES, `bench-c${c}.json`), "utf8"));
  sb.set("engine-log", readFileSync(path.join(FIXTURES, "engine-startup.log"), "utf8"));
});
afterEach(() => sb.cleanup());

/** Runs the step as the component does: the rendered command, the key then the script on stdin. */
function runStep(key = KEY, step = bench!.step) {
  return sb.runCommand(benchmarkCommand(step).replace(/^sudo -n /, ""), benchmarkStdin(step, key));
}

describe("the benchmark step, rendered", () => {
  it("runs in staging by default, elsewhere only when asked, and never where it cannot", () => {
    expect(benchmarkEnabled(staging.spec)).toBe(true);
    expect(benchmarkEnabled(stackPlan("prod").spec)).toBe(false);
    expect(benchmarkEnabled(stackPlan("dev").spec)).toBe(false);
    expect(benchmarkEnabled(loadPlan(rawConfig(withValues({ benchmark: { enabled: true } }))).plan!.spec)).toBe(true);
    expect(benchmarkEnabled(stackPlan("prod-k8s").spec)).toBe(false);
  });

  it("measures the stack's request shape at the levels, against the host's engine on its network, with the stack's weights as tokenizer", () => {
    expect(bench!.host).toBe("stg-gpu-1");
    expect(bench!.step.env).toMatchObject({
      HI_STACK: "staging", HI_HOST: "stg-gpu-1", HI_ENGINE_IMAGE: "vllm/vllm-openai:v0.33.0", HI_ENGINE_CONTAINER: "stg-gpu-1-engine",
      HI_NETWORK: "staging-inference", HI_ENGINE_URL: "http://stg-gpu-1-engine:8000", HI_SERVED_MODEL: "mistral-small-24b-instruct",
      HI_TOKENIZER: "RedHatAI/Mistral-Small-24B-Instruct-2501-FP8-dynamic", HI_INPUT_LEN: "1500", HI_OUTPUT_LEN: "400",
      HI_LEVELS: "1,4,16", HI_PROMPTS: "16,16,64", HI_RESULT_DIR: BENCHMARK_DIR, HI_FILE_KIND: "hybrid-inference/benchmark",
    });
    // The shipped level timeout: 5 minutes plus 3x the longest level at saturation latencies, which is
    // one request at a time: 16 rounds of one request (about 15 s at saturation, about 7 s measured).
    const sat = staging.hosts[0]!.replicaCapacity.saturation;
    const timeout = Math.ceil(300 + 3 * 16 * ((sat.ttftMs + 400 * sat.tpotMs) / 1000));
    expect(Number(bench!.step.env["HI_LEVEL_TIMEOUT_S"])).toBe(timeout);
    expect(timeout).toBe(1008);
  });

  it("keeps the key out of the command line and the step's hash", () => {
    const command = benchmarkCommand(bench!.step);
    expect(command).toMatch(/^sudo -n env HI_[A-Z_]+='/);
    expect(command.endsWith(" bash -c 'IFS= read -r OPENAI_API_KEY && export OPENAI_API_KEY && exec bash -s'")).toBe(true);
    expect(command).not.toContain(KEY);
    expect(JSON.stringify(bench!.step)).not.toContain(KEY);
    expect(benchmarkStdin(bench!.step, KEY).startsWith(`${KEY}\n#!/usr/bin/env bash\n`)).toBe(true);
  });

  it("passes shellcheck as it runs", () => {
    expect(shellcheckRendered([path.join(root, "templates", "engine", "benchmark.sh")])).toBe("");
  });
});

describe("the benchmark step, run", () => {
  it("runs vllm bench serve per level with flags vLLM v0.33.0 has, the key by name only, and publishes a file calibrate reads", () => {
    const r = runStep();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const runs = sb.calls("docker").filter((argv) => argv[1] === "run");
    expect(runs).toHaveLength(3);
    const first = runs[0]!;
    const afterImage = first.slice(first.indexOf("vllm/vllm-openai:v0.33.0") + 1);
    expect(afterImage.slice(0, 2)).toEqual(["bench", "serve"]);
    expect(first).toEqual(expect.arrayContaining(["--network", "staging-inference", "--entrypoint", "vllm", "--env", "OPENAI_API_KEY", "--env", "HF_HUB_OFFLINE=1",
      "--volume", "/var/lib/hybrid-inference/models:/root/.cache/huggingface"]));
    const flag = (argv: string[], name: string) => argv[argv.indexOf(name) + 1];
    expect(runs.map((a) => [flag(a, "--max-concurrency"), flag(a, "--num-prompts"), flag(a, "--result-filename")])).toEqual([["1", "16", "c1.json"], ["4", "16", "c4.json"], ["16", "64", "c16.json"]]);
    expect([flag(first, "--backend"), flag(first, "--base-url"), flag(first, "--endpoint"), flag(first, "--model"), flag(first, "--tokenizer"), flag(first, "--dataset-name"),
      flag(first, "--random-input-len"), flag(first, "--random-output-len")])
      .toEqual(["openai-chat", "http://stg-gpu-1-engine:8000", "/v1/chat/completions", "mistral-small-24b-instruct", "RedHatAI/Mistral-Small-24B-Instruct-2501-FP8-dynamic", "random", "1500", "400"]);
    // Every option after `bench serve` is one vllm/benchmarks/serve.py (v0.33.0) defines.
    const options = afterImage.filter((a) => a.startsWith("--"));
    expect(options.filter((o) => !benchFlags.flags.includes(o))).toEqual([]);
    // The key: in docker's environment for every level, in no argument, no output.
    expect(sb.getState("run-env")).toBe(`OPENAI_API_KEY=${KEY}\n`.repeat(3));
    for (const argv of sb.calls()) expect(argv.join(" ")).not.toContain(KEY);
    expect(r.stdout).not.toContain(KEY);

    const published = parseBenchmarkOutput(r.stdout)!;
    expect(published).toMatchObject({ kind: "hybrid-inference/benchmark", version: 1, stack: "staging", host: "stg-gpu-1", engine_image: "vllm/vllm-openai:v0.33.0" });
    expect(published.results).toHaveLength(3);
    // Only the memory and KV cache lines of the log, not its other lines (which can hold request contents).
    expect(published.startup_log).toHaveLength(3);
    expect(published.startup_log.every((l) => /Model loading took|Available KV cache memory|KV cache size/.test(l))).toBe(true);
    expect(sb.calls("docker").find((a) => a[1] === "logs")).toEqual(["docker", "logs", "--since", "2026-11-30T13:58:00.000000000Z", "stg-gpu-1-engine"]);

    // The same file on the host, which `npm run calibrate --from` turns into the host's entry.
    const latest = sb.read(`${BENCHMARK_DIR.slice(1)}/stg-gpu-1-latest.json`);
    expect(JSON.parse(latest)).toEqual(published);
    const entry = measuredEntry(staging, "stg-gpu-1", readMeasurementFile("stg-gpu-1-latest.json", latest), { today: new Date("2026-12-01T00:00:00Z") });
    expect(entry.entry.kv_tokens).toBe(35_984);
    expect(entry.entry.points?.map((p) => p.concurrency)).toEqual([1, 4, 16]);
  });

  it("waits for the engine to report healthy, and gives up with the engine's name", () => {
    sb.set("health", "starting");
    const r = runStep(KEY, { ...bench!.step, env: { ...bench!.step.env, HI_READY_TIMEOUT_S: "30" } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("[hybrid-inference:benchmark] the engine stg-gpu-1-engine is still 'starting' after 30s: see `docker logs stg-gpu-1-engine`");
    expect(sb.calls("sleep")).toHaveLength(3);
    expect(sb.calls("docker").filter((a) => a[1] === "run")).toEqual([]);
  });

  it("fails, publishing nothing, when vllm bench fails, a level times out or requests fail", () => {
    sb.set("run-rc", "1");
    const failed = runStep();
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toContain("vllm bench serve failed at level 1 (exit 1; its output is above)");
    sb.set("run-rc", "124");
    expect(runStep().stderr).toContain("level 1 took longer than");
    sb.set("run-rc", "0");
    sb.set("failed", "2");
    const errors = runStep();
    expect(errors.status).not.toBe(0);
    expect(errors.stderr).toContain("level 1: 2 of 18 requests failed; a run with errors measures the errors, not the engine");
    expect(errors.stdout).not.toContain("HI_BENCHMARK_RESULT=");
    expect(sb.exists(`${BENCHMARK_DIR.slice(1)}/stg-gpu-1-latest.json`)).toBe(false);
  });

  it("refuses to run without the key on stdin", () => {
    const r = sb.runCommand(benchmarkCommand(bench!.step).replace(/^sudo -n /, ""), `\n${bench!.step.script}`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("OPENAI_API_KEY is not set: the step's command reads the engine key from the first line of stdin");
  });
});
