#!/usr/bin/env bash
# hybrid-inference engine step "benchmark".
#
# Measures what this host's engine really serves: vLLM's own benchmark (`vllm bench serve`, run
# from the engine image itself) against the running engine on its private Docker network, with
# random prompts of the stack's request shape, one run per concurrency level. It then keeps the
# engine's start-up lines on model memory and KV cache size, and writes everything as one file
# that `npm run calibrate -- --from <file>` reads:
#   $HI_RESULT_DIR/<UTC time>/c<level>.json   vLLM's --save-result JSON of each level
#   $HI_RESULT_DIR/<UTC time>/benchmark.json  the file calibrate reads (also printed on stdout
#   $HI_RESULT_DIR/<host>-latest.json         as the HI_BENCHMARK_RESULT= line, for the stack output)
#
# Flags are vLLM v0.33.0's (vllm/benchmarks/serve.py `add_cli_args`, datasets/datasets.py
# `add_dataset_parser`): --backend openai-chat needs an endpoint ending in chat/completions;
# --model is the served name the requests carry and /tokenize is asked for, --tokenizer the
# weights' repo (read from the host's model cache, offline); --ignore-eos makes every reply as
# long as --random-output-len (the random dataset already defaults to it for OpenAI backends).
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   OPENAI_API_KEY        required. The engine's API key, which `vllm bench serve` sends as its
#                         bearer token; the step's command reads it from stdin. It reaches
#                         docker by name only, never on a command line.
#   HI_STACK, HI_HOST     names written into the result file.
#   HI_ENGINE_IMAGE       the engine image, pinned (repository:tag[@digest]).
#   HI_ENGINE_CONTAINER   the engine's container (its health and start-up log).
#   HI_ENGINE_FINGERPRINT sha256 of the engine's image and arguments, recorded in the file.
#   HI_NETWORK            the Docker network the engine is on.
#   HI_ENGINE_URL         http://<engine container>:<port>.
#   HI_SERVED_MODEL       the model name the engine serves.
#   HI_TOKENIZER          Hugging Face repo id of the weights (in the model cache).
#   HI_CACHE_DIR          the host's model cache.
#   HI_INPUT_LEN, HI_OUTPUT_LEN   prompt and reply tokens per request.
#   HI_LEVELS             comma-separated --max-concurrency levels, e.g. 1,4,16.
#   HI_PROMPTS            comma-separated --num-prompts, one per level.
#   HI_RESULT_DIR         where runs are kept on the host.
#   HI_FILE_KIND          the result file's kind (core/render/benchmark.ts).
#   HI_READY_TIMEOUT_S    how long to wait for the engine to report healthy.
#   HI_LEVEL_TIMEOUT_S    how long one level may take.
#   HI_ROOT               tests only.
STEP=benchmark
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

NAME_RE='^[A-Za-z0-9][A-Za-z0-9_.-]*$'

validate() {
  require OPENAI_API_KEY "the step's command reads the engine key from the first line of stdin"
  local v
  for v in HI_STACK HI_HOST HI_ENGINE_IMAGE HI_ENGINE_CONTAINER HI_ENGINE_FINGERPRINT HI_NETWORK HI_ENGINE_URL HI_SERVED_MODEL \
    HI_TOKENIZER HI_CACHE_DIR HI_INPUT_LEN HI_OUTPUT_LEN HI_LEVELS HI_PROMPTS HI_RESULT_DIR HI_FILE_KIND HI_READY_TIMEOUT_S HI_LEVEL_TIMEOUT_S; do
    require "$v" "core/render/benchmark.ts renders every variable of this step"
  done
  [[ "$HI_ENGINE_IMAGE" =~ ^[a-z0-9./_-]+:[A-Za-z0-9_.-]+(@sha256:[a-f0-9]{64})?$ ]] ||
    die "HI_ENGINE_IMAGE must be a pinned image reference repository:tag[@sha256:...], got '$HI_ENGINE_IMAGE'"
  for v in HI_STACK HI_HOST HI_ENGINE_CONTAINER HI_NETWORK HI_SERVED_MODEL; do
    [[ "${!v}" =~ $NAME_RE ]] || die "$v must be a name of letters, digits, '.', '_' and '-', got '${!v}'"
  done
  [[ "$HI_TOKENIZER" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "HI_TOKENIZER must be a Hugging Face repo id <org>/<name>, got '$HI_TOKENIZER'"
  [[ "$HI_ENGINE_URL" =~ ^http://[A-Za-z0-9.-]+:[0-9]{1,5}$ ]] || die "HI_ENGINE_URL must be http://<container>:<port>, got '$HI_ENGINE_URL'"
  [[ "$HI_CACHE_DIR" =~ ^(/[A-Za-z0-9._+@=-]+)+/?$ ]] || die "HI_CACHE_DIR must be an absolute path, got '$HI_CACHE_DIR'"
  [[ "$HI_RESULT_DIR" =~ ^(/[A-Za-z0-9._+@=-]+)+/?$ ]] || die "HI_RESULT_DIR must be an absolute path, got '$HI_RESULT_DIR'"
  for v in HI_INPUT_LEN HI_OUTPUT_LEN HI_READY_TIMEOUT_S HI_LEVEL_TIMEOUT_S; do
    if ! is_uint "${!v}" || ((${!v} == 0)); then die "$v must be a whole number above 0, got '${!v}'"; fi
  done
  IFS=, read -ra LEVELS <<<"$HI_LEVELS"
  IFS=, read -ra PROMPTS <<<"$HI_PROMPTS"
  ((${#LEVELS[@]} > 0 && ${#LEVELS[@]} == ${#PROMPTS[@]})) || die "HI_LEVELS and HI_PROMPTS must list as many numbers, got '$HI_LEVELS' and '$HI_PROMPTS'"
  for v in "${LEVELS[@]}" "${PROMPTS[@]}"; do
    if ! is_uint "$v" || ((v == 0)); then die "HI_LEVELS and HI_PROMPTS must be whole numbers above 0, got '$HI_LEVELS' and '$HI_PROMPTS'"; fi
  done
}

# The engine container's health (its Docker health check polls /health); the port opens only
# once the weights are loaded, so a fresh engine is waited for.
wait_healthy() {
  local status waited=0
  while :; do
    status="$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$HI_ENGINE_CONTAINER" 2>/dev/null)" ||
      die "the engine container $HI_ENGINE_CONTAINER does not exist: the benchmark runs after the engine is deployed"
    [[ "$status" == healthy ]] && return 0
    ((waited < HI_READY_TIMEOUT_S)) ||
      die "the engine $HI_ENGINE_CONTAINER is still '$status' after ${HI_READY_TIMEOUT_S}s: see \`docker logs $HI_ENGINE_CONTAINER\`; the benchmark measures a serving engine only"
    sleep 10
    waited=$((waited + 10))
  done
}

run_level() {
  local level=$1 prompts=$2 run_dir=$3 rc=0
  local name="hi-benchmark-$HI_HOST-c$level"
  say "level $level: $prompts requests of $HI_INPUT_LEN in / $HI_OUTPUT_LEN out tokens, at most $level in flight"
  docker rm -f "$name" >/dev/null 2>&1 || true
  # timeout's TERM reaches vllm through docker run's signal proxy; the rm below is the backstop.
  timeout --kill-after=30 "$HI_LEVEL_TIMEOUT_S" docker run --rm --name "$name" \
    --network "$HI_NETWORK" \
    --volume "$HI_CACHE_DIR:/root/.cache/huggingface" \
    --volume "$run_dir:/results" \
    --env HF_HOME=/root/.cache/huggingface --env HF_HUB_OFFLINE=1 --env HF_HUB_DISABLE_TELEMETRY=1 \
    --env VLLM_NO_USAGE_STATS=1 --env OPENAI_API_KEY \
    --entrypoint vllm "$HI_ENGINE_IMAGE" bench serve \
    --backend openai-chat --base-url "$HI_ENGINE_URL" --endpoint /v1/chat/completions \
    --model "$HI_SERVED_MODEL" --tokenizer "$HI_TOKENIZER" \
    --dataset-name random --random-input-len "$HI_INPUT_LEN" --random-output-len "$HI_OUTPUT_LEN" --ignore-eos --seed 0 \
    --num-prompts "$prompts" --max-concurrency "$level" \
    --percentile-metrics ttft,tpot,itl,e2el --disable-tqdm \
    --save-result --result-dir /results --result-filename "c$level.json" || rc=$?
  if ((rc != 0)); then
    docker rm -f "$name" >/dev/null 2>&1 || true
    ((rc == 124)) && die "level $level took longer than ${HI_LEVEL_TIMEOUT_S}s and was stopped: is the engine stuck? (docker logs $HI_ENGINE_CONTAINER)"
    die "vllm bench serve failed at level $level (exit $rc; its output is above): check the engine's health and that the weights of $HI_TOKENIZER are in $HI_CACHE_DIR"
  fi
  [[ -s "$ROOT$run_dir/c$level.json" ]] || die "vllm bench serve wrote no result for level $level in $run_dir"
}

# Joins the levels' results and the engine's start-up lines into the file calibrate reads, and
# prints it on one line for the stack output. Paths and names arrive as argv, never as code.
read -r -d '' ASSEMBLE <<'PY' || true
import json, sys
(run_dir, latest, kind, stack, host, image, fingerprint, started, finished, levels) = sys.argv[1:11]
results = []
for level in levels.split(","):
    with open(f"{run_dir}/c{level}.json", encoding="utf-8") as f:
        result = json.load(f)
    failed = result.get("failed") or 0
    if failed:
        sys.exit(f"level {level}: {failed} of {failed + result.get('completed', 0)} requests failed; "
                 "a run with errors measures the errors, not the engine (see vllm bench's output above)")
    results.append(result)
with open(f"{run_dir}/startup.log", encoding="utf-8", errors="replace") as f:
    startup = [line.rstrip("\n") for line in f][-200:]
doc = {"kind": kind, "version": 1, "stack": stack, "host": host, "engine_image": image,
       "engine_fingerprint": fingerprint, "started_at": started, "finished_at": finished,
       "results": results, "startup_log": startup}
for path in (f"{run_dir}/benchmark.json", latest):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
print("HI_BENCHMARK_RESULT=" + json.dumps(doc, separators=(",", ":")), flush=True)
PY

main() {
  validate
  command -v docker >/dev/null 2>&1 || die "docker not found: run the host bootstrap (docker step) first"
  [[ -d "$ROOT$HI_CACHE_DIR" ]] || die "the model cache $HI_CACHE_DIR does not exist: run the host bootstrap (cache-dir step) first"
  wait_healthy
  local stamp started finished run_dir i
  TZ=UTC printf -v stamp '%(%Y%m%dT%H%M%SZ)T' -1
  TZ=UTC printf -v started '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  run_dir="${HI_RESULT_DIR%/}/$stamp"
  mkdir -p "$ROOT$run_dir"
  say "benchmarking $HI_SERVED_MODEL on $HI_ENGINE_CONTAINER with $HI_ENGINE_IMAGE; results in $run_dir"
  for i in "${!LEVELS[@]}"; do
    run_level "${LEVELS[$i]}" "${PROMPTS[$i]}" "$run_dir"
  done
  # Only this start's lines (since the container started), and only the memory and KV cache ones:
  # the rest of an engine log can hold request contents.
  local since
  since="$(docker inspect --format '{{.State.StartedAt}}' "$HI_ENGINE_CONTAINER")"
  docker logs --since "$since" "$HI_ENGINE_CONTAINER" 2>&1 |
    grep -E 'Model loading took [0-9.]+ GiB|Available KV cache memory: |KV cache size: [0-9,]+ tokens' >"$ROOT$run_dir/startup.log" || true
  TZ=UTC printf -v finished '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  python3 -c "$ASSEMBLE" "$ROOT$run_dir" "$ROOT${HI_RESULT_DIR%/}/$HI_HOST-latest.json" "$HI_FILE_KIND" "$HI_STACK" "$HI_HOST" \
    "$HI_ENGINE_IMAGE" "$HI_ENGINE_FINGERPRINT" "$started" "$finished" "$HI_LEVELS" ||
    die "the benchmark's results could not be used (see above); nothing was published"
  say "done: $run_dir/benchmark.json (and ${HI_RESULT_DIR%/}/$HI_HOST-latest.json); read it with npm run calibrate -- --stack $HI_STACK --from <copy of it>"
}

main "$@" </dev/null
