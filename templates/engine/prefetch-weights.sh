#!/usr/bin/env bash
# hybrid-inference engine step "prefetch-weights".
#
# Downloads the model (and any Hugging Face adapters) into the host's model cache BEFORE the
# engine container is replaced, so a model, quantization or engine upgrade costs the time
# to restart the engine, not the time to download tens of GB. While the engine restarts
# the router sends traffic to the managed tier.
#
# It runs huggingface_hub's snapshot_download inside the engine image itself (both vLLM's
# and LoRAX's images ship it), with the cache mounted exactly as the engine container mounts
# it and the hub cache set explicitly: LoRAX's image sets HUGGINGFACE_HUB_CACHE=/data, which
# wins over HF_HOME, and its huggingface_hub (0.23.5) reads only that name where newer ones
# prefer HF_HUB_CACHE, so both are set to the engine's hub cache.
# Downloads resume: an interrupted run continues where it stopped, and files already in
# the cache are not fetched again (so re-running is cheap).
#
# It pulls the image first and checks its own NVIDIA_REQUIRE_CUDA against the CUDA version the
# host's driver supports (nvidia-smi), naming both when the driver is too old: the container
# toolkit would otherwise refuse the engine at start, after the download. verify-gpus runs the
# same check earlier from the plan's copy of the requirement (pinned image tags only); this
# one reads the image itself, so an `engine.version` override is covered too.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_ENGINE_IMAGE   required. The engine image, pinned (repository:tag[@digest]).
#   HI_CACHE_DIR      required. The host's model cache (made by the cache-dir step).
#   HI_ENGINE_CACHE_DIR    required. The host directory the engine mounts: HI_CACHE_DIR or a
#                          directory inside it (created here when missing).
#   HI_ENGINE_CACHE_MOUNT  required. Where the engine mounts it, e.g. /root/.cache/huggingface or /data.
#   HI_HUB_CACHE           required. The Hugging Face hub cache inside the engine container.
#   HI_MODEL_REPO     required. Hugging Face repo id of the weights, e.g. Qwen/Qwen2.5-7B-Instruct.
#   HI_ADAPTER_REPOS  optional. Comma-separated Hugging Face repo ids of LoRA adapters.
#   HF_TOKEN          optional. Passed to the container by name only (never on a command line).
#   HI_ROOT           tests only.
#
# Usage: sudo env HI_ENGINE_IMAGE=vllm/vllm-openai:v0.33.0 HI_CACHE_DIR=... HI_ENGINE_CACHE_DIR=... \
#          HI_ENGINE_CACHE_MOUNT=... HI_HUB_CACHE=... HI_MODEL_REPO=... bash -s < prefetch-weights.sh
STEP=prefetch-weights
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

REPO_RE='^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$'

validate() {
  require HI_ENGINE_IMAGE "pass the pinned engine image, e.g. HI_ENGINE_IMAGE=vllm/vllm-openai:v0.33.0"
  require HI_CACHE_DIR "pass the model cache directory, e.g. HI_CACHE_DIR=/var/lib/hybrid-inference/models"
  require HI_MODEL_REPO "pass the Hugging Face repo of the weights, e.g. HI_MODEL_REPO=Qwen/Qwen2.5-7B-Instruct"
  [[ "$HI_ENGINE_IMAGE" =~ ^[a-z0-9./_-]+:[A-Za-z0-9_.-]+(@sha256:[a-f0-9]{64})?$ ]] ||
    die "HI_ENGINE_IMAGE must be a pinned image reference repository:tag[@sha256:...], got '$HI_ENGINE_IMAGE'"
  [[ "$HI_CACHE_DIR" =~ ^(/[A-Za-z0-9._+@=-]+)+/?$ ]] || die "HI_CACHE_DIR must be an absolute path, got '$HI_CACHE_DIR'"
  require HI_ENGINE_CACHE_DIR "pass the host directory the engine mounts, e.g. HI_ENGINE_CACHE_DIR=$HI_CACHE_DIR"
  require HI_ENGINE_CACHE_MOUNT "pass where the engine mounts it, e.g. HI_ENGINE_CACHE_MOUNT=/root/.cache/huggingface"
  require HI_HUB_CACHE "pass the engine's hub cache, e.g. HI_HUB_CACHE=/root/.cache/huggingface/hub"
  local path
  for path in "$HI_ENGINE_CACHE_DIR" "$HI_ENGINE_CACHE_MOUNT" "$HI_HUB_CACHE"; do
    [[ "$path" =~ ^(/[A-Za-z0-9._+@=-]+)+/?$ && ! "$path" =~ (^|/)\.\.?(/|$) ]] ||
      die "HI_ENGINE_CACHE_DIR, HI_ENGINE_CACHE_MOUNT and HI_HUB_CACHE must be absolute paths without . or .. parts, got '$path'"
  done
  [[ "${HI_ENGINE_CACHE_DIR%/}" == "${HI_CACHE_DIR%/}" || "$HI_ENGINE_CACHE_DIR" == "${HI_CACHE_DIR%/}"/* ]] ||
    die "HI_ENGINE_CACHE_DIR ($HI_ENGINE_CACHE_DIR) must be HI_CACHE_DIR ($HI_CACHE_DIR) or a directory inside it"
  [[ "${HI_HUB_CACHE%/}" == "${HI_ENGINE_CACHE_MOUNT%/}" || "$HI_HUB_CACHE" == "${HI_ENGINE_CACHE_MOUNT%/}"/* ]] ||
    die "HI_HUB_CACHE ($HI_HUB_CACHE) must be HI_ENGINE_CACHE_MOUNT ($HI_ENGINE_CACHE_MOUNT) or inside it, so the download lands on the host"
  [[ "$HI_MODEL_REPO" =~ $REPO_RE ]] || die "HI_MODEL_REPO must be a Hugging Face repo id <org>/<name>, got '$HI_MODEL_REPO'"
  local repo
  IFS=, read -ra ADAPTERS <<<"${HI_ADAPTER_REPOS:-}"
  for repo in "${ADAPTERS[@]}"; do
    [[ "$repo" =~ $REPO_RE ]] || die "HI_ADAPTER_REPOS must list Hugging Face repo ids <org>/<name>, got '$repo'"
  done
}

# The download itself, as Python run by the image's interpreter. Repo ids arrive as argv.
read -r -d '' DOWNLOAD <<'PY' || true
import sys
from huggingface_hub import snapshot_download
for repo in sys.argv[1:]:
    path = snapshot_download(repo_id=repo)
    print(f"[hybrid-inference:prefetch-weights] {repo} is in the cache at {path}", flush=True)
PY

# The pulled image's NVIDIA_REQUIRE_CUDA against the driver's CUDA version.
check_cuda() {
  local env requirement have driver problem
  if ! docker image inspect "$HI_ENGINE_IMAGE" >/dev/null 2>&1; then
    say "pulling $HI_ENGINE_IMAGE"
    docker pull --quiet "$HI_ENGINE_IMAGE" >/dev/null ||
      die "could not pull $HI_ENGINE_IMAGE: check the tag exists and the host reaches its registry"
  fi
  env="$(docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$HI_ENGINE_IMAGE")" ||
    die "could not inspect $HI_ENGINE_IMAGE after pulling it"
  requirement="$(sed -n 's/^NVIDIA_REQUIRE_CUDA=//p' <<<"$env" | sed -n 1p)"
  if [[ -z "$(cuda_required "$requirement")" ]]; then
    say "$HI_ENGINE_IMAGE states no CUDA requirement (NVIDIA_REQUIRE_CUDA); nothing to check"
    return 0
  fi
  have="$(driver_cuda_version)"
  if [[ -z "$have" ]]; then
    say "cannot check $HI_ENGINE_IMAGE's CUDA requirement (${requirement%% *}): nvidia-smi prints no CUDA version on this host"
    return 0
  fi
  # The same table header that gives the CUDA version names the driver.
  driver="$({ nvidia-smi 2>/dev/null || true; } | sed -nE 's/.*Driver Version: *([0-9.]+).*/\1/p' | sed -n 1p)"
  problem="$(cuda_requirement_problem "$HI_ENGINE_IMAGE" "$requirement" "$driver" "$have")"
  [[ -z "$problem" ]] || die "$problem"
  say "$HI_ENGINE_IMAGE needs ${requirement%% *}; the driver supports CUDA $have"
}

main() {
  validate
  [[ -d "$ROOT$HI_CACHE_DIR" ]] || die "the model cache $HI_CACHE_DIR does not exist: run the host bootstrap (cache-dir step) first"
  command -v docker >/dev/null 2>&1 || die "docker not found: run the host bootstrap (docker step) first"
  check_cuda
  mkdir -p "$ROOT$HI_ENGINE_CACHE_DIR"
  say "downloading $HI_MODEL_REPO${ADAPTERS[*]:+ and adapters ${ADAPTERS[*]}} into $HI_ENGINE_CACHE_DIR with $HI_ENGINE_IMAGE"
  if ! docker run --rm --pull missing \
    --volume "$HI_ENGINE_CACHE_DIR:$HI_ENGINE_CACHE_MOUNT" \
    --env HF_HUB_CACHE="$HI_HUB_CACHE" --env HUGGINGFACE_HUB_CACHE="$HI_HUB_CACHE" --env HF_TOKEN \
    --env HF_HUB_DISABLE_TELEMETRY=1 \
    --entrypoint python3 "$HI_ENGINE_IMAGE" -c "$DOWNLOAD" "$HI_MODEL_REPO" "${ADAPTERS[@]}"; then
    die "the download of $HI_MODEL_REPO failed (see above): check the repo id, the Hugging Face token for gated models (access.hf_token_secret) and free disk; re-running resumes it"
  fi
  say "weights ready; the engine can be replaced without waiting for a download"
}

main "$@" </dev/null
