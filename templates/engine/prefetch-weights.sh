#!/usr/bin/env bash
# hybrid-inference engine step "prefetch-weights".
#
# Downloads the model (and any Hugging Face adapters) into the host's model cache BEFORE the
# engine container is replaced, so a model, quantization or engine upgrade costs the time
# to restart the engine, not the time to download tens of GB. While the engine restarts
# the router sends traffic to the managed tier.
#
# It runs huggingface_hub's snapshot_download inside the engine image itself (both vLLM's
# and LoRAX's images ship it), with the cache mounted where the engine will read it.
# Downloads resume: an interrupted run continues where it stopped, and files already in
# the cache are not fetched again (so re-running is cheap).
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_ENGINE_IMAGE   required. The engine image, pinned (repository:tag[@digest]).
#   HI_CACHE_DIR      required. The host's model cache (mounted as the Hugging Face cache).
#   HI_MODEL_REPO     required. Hugging Face repo id of the weights, e.g. Qwen/Qwen2.5-7B-Instruct.
#   HI_ADAPTER_REPOS  optional. Comma-separated Hugging Face repo ids of LoRA adapters.
#   HF_TOKEN          optional. Passed to the container by name only (never on a command line).
#   HI_ROOT           tests only.
#
# Usage: sudo env HI_ENGINE_IMAGE=vllm/vllm-openai:v0.33.0 HI_CACHE_DIR=... HI_MODEL_REPO=... bash -s < prefetch-weights.sh
STEP=prefetch-weights
# ---- common helpers: begin (identical in every step script; test/host-bootstrap enforces it) ----
set -euo pipefail
set -o errtrace
umask 022
export LC_ALL=C
# Tests point HI_ROOT at a scratch directory that stands in for "/"; on a host it is unset.
ROOT="${HI_ROOT:-}"
if [[ -n "$ROOT" && "$ROOT" != /* ]]; then
  printf '[hybrid-inference:%s] HI_ROOT must be unset or an absolute path\n' "$STEP" >&2
  exit 2
fi

# Every line carries "[hybrid-inference:<step>]" so the Pulumi log and the cloud-init journal
# say which step spoke; failures go to stderr.
say() { printf '[hybrid-inference:%s] %s\n' "$STEP" "$*"; }
fail() { printf '[hybrid-inference:%s] %s\n' "$STEP" "$*" >&2; }
die() {
  fail "$@"
  exit 1
}
# A command failing outside an explicit check still gets a prefixed message naming it, so a
# bare "exit 100" from apt never reaches the user without context.
on_err() {
  # Subshells inherit the trap (errtrace): only the top-level shell reports.
  if [[ "$BASHPID" == "$$" ]]; then
    fail "unexpected failure (exit $1) at line $2 running: $3. Fix the cause reported above and re-run this step; it is safe to re-run."
  fi
  exit "$1"
}
trap 'on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR

is_uint() { [[ "$1" =~ ^[0-9]{1,9}$ ]]; }
require() {
  [[ -n "${!1:-}" ]] || die "$1 is not set: $2"
}
pkg_installed() {
  local status
  # shellcheck disable=SC2016 # ${db:Status-Abbrev} is a dpkg-query field, not a shell expansion
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == ii* ]]
}
APT_FRESH=0
apt_get() {
  # The lock timeout matters on first boot, when unattended-upgrades holds the dpkg lock for
  # minutes; confold keeps any config file an operator already edited.
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
apt_install() {
  if [[ "$APT_FRESH" == 0 ]]; then
    apt_get update || return 1
    APT_FRESH=1
  fi
  apt_get install --no-install-recommends "$@"
}
os_release() {
  local file="$ROOT/etc/os-release"
  [[ -r "$file" ]] || return 1
  sed -n "s/^$1=//p" "$file" | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}
# ---- common helpers: end ----

REPO_RE='^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$'

validate() {
  require HI_ENGINE_IMAGE "pass the pinned engine image, e.g. HI_ENGINE_IMAGE=vllm/vllm-openai:v0.33.0"
  require HI_CACHE_DIR "pass the model cache directory, e.g. HI_CACHE_DIR=/var/lib/hybrid-inference/models"
  require HI_MODEL_REPO "pass the Hugging Face repo of the weights, e.g. HI_MODEL_REPO=Qwen/Qwen2.5-7B-Instruct"
  [[ "$HI_ENGINE_IMAGE" =~ ^[a-z0-9./_-]+:[A-Za-z0-9_.-]+(@sha256:[a-f0-9]{64})?$ ]] ||
    die "HI_ENGINE_IMAGE must be a pinned image reference repository:tag[@sha256:...], got '$HI_ENGINE_IMAGE'"
  [[ "$HI_CACHE_DIR" =~ ^(/[A-Za-z0-9._+@=-]+)+/?$ ]] || die "HI_CACHE_DIR must be an absolute path, got '$HI_CACHE_DIR'"
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

main() {
  validate
  [[ -d "$ROOT$HI_CACHE_DIR" ]] || die "the model cache $HI_CACHE_DIR does not exist: run the host bootstrap (cache-dir step) first"
  command -v docker >/dev/null 2>&1 || die "docker not found: run the host bootstrap (docker step) first"
  say "downloading $HI_MODEL_REPO${ADAPTERS[*]:+ and adapters ${ADAPTERS[*]}} into $HI_CACHE_DIR with $HI_ENGINE_IMAGE"
  if ! docker run --rm --pull missing \
    --volume "$HI_CACHE_DIR:/root/.cache/huggingface" \
    --env HF_HOME=/root/.cache/huggingface --env HF_TOKEN \
    --env HF_HUB_DISABLE_TELEMETRY=1 \
    --entrypoint python3 "$HI_ENGINE_IMAGE" -c "$DOWNLOAD" "$HI_MODEL_REPO" "${ADAPTERS[@]}"; then
    die "the download of $HI_MODEL_REPO failed (see above): check the repo id, the Hugging Face token for gated models (access.hf_token_secret) and free disk; re-running resumes it"
  fi
  say "weights ready; the engine can be replaced without waiting for a download"
}

main "$@" </dev/null
