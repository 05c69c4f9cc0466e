#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "verify-gpus".
#
# Checks the host really has the GPUs the stack declares, every run (drivers and cards change
# under a host; GPUs installed or reset after onboarding go unnoticed otherwise), and that
# Docker can hand them to containers. Fails naming what was expected and what was found when
# the card count or model differs, the driver branch is too old, the driver's CUDA version is
# below what the engine image requires (its NVIDIA_REQUIRE_CUDA, which the container toolkit
# enforces at container start), or Docker lacks the nvidia runtime. On success it prints exactly one line on stdout for the component to parse:
#   HI_GPU_INVENTORY={"gpus":[{"name":"NVIDIA GeForce RTX 4090","memoryMiB":24564}],"driverVersion":"570.133.07","cudaVersion":"12.8"}
# (compact JSON; cudaVersion is null when nvidia-smi does not print one) and keeps a copy in
# /var/lib/hybrid-inference/gpu-inventory.json.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_GPU_COUNT      required. Number of GPUs the stack declares (1-64).
#   HI_GPU_NAME       required. Exact name nvidia-smi reports, e.g. "NVIDIA GeForce RTX 4090".
#   HI_GPU_MEMORY_MIB optional. Nominal memory of the declared card in MiB (24 GiB = 24576).
#                     Names are not unique (an RTX 3050 6GB and 8GB print the same name), so
#                     each card's memory.total must be within 5% below to 2% above it.
#   HI_DRIVER_BRANCH  required. Minimum driver branch, e.g. 570.
#   HI_ENGINE_IMAGE   optional. The engine image the host will run, for messages.
#   HI_CUDA_REQUIREMENT optional. That image's NVIDIA_REQUIRE_CUDA as the plan knows it
#                     (core/versions.json, for the pinned tags), e.g. "cuda>=13.0"; checked
#                     against the CUDA version nvidia-smi reports. This step runs before the
#                     image is pulled, so the plan's copy is what it can check; with another
#                     image tag it is unset and the prefetch-weights step checks the pulled
#                     image's own variable instead.
#   HI_ROOT           tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_GPU_COUNT=2 HI_GPU_NAME='NVIDIA GeForce RTX 4090' HI_DRIVER_BRANCH=570 bash -s < verify-gpus.sh
# Idempotent: reads only (and rewrites the inventory copy).
STEP=verify-gpus
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

validate() {
  require HI_GPU_COUNT "pass the number of GPUs the stack declares, e.g. HI_GPU_COUNT=1"
  require HI_GPU_NAME "pass the GPU name as nvidia-smi prints it, e.g. HI_GPU_NAME='NVIDIA GeForce RTX 4090'"
  require HI_DRIVER_BRANCH "pass the minimum NVIDIA driver branch, e.g. HI_DRIVER_BRANCH=570"
  if ! [[ "$HI_GPU_COUNT" =~ ^[1-9][0-9]?$ ]] || ((HI_GPU_COUNT > 64)); then
    die "HI_GPU_COUNT must be a whole number from 1 to 64, got '$HI_GPU_COUNT'"
  fi
  [[ "$HI_DRIVER_BRANCH" =~ ^[1-9][0-9]{2}$ ]] || die "HI_DRIVER_BRANCH must be a driver branch number like 570, got '$HI_DRIVER_BRANCH'"
  if [[ -n "${HI_GPU_MEMORY_MIB:-}" ]] && ! [[ "$HI_GPU_MEMORY_MIB" =~ ^[1-9][0-9]{2,6}$ ]]; then
    die "HI_GPU_MEMORY_MIB must be a number of MiB like 24576, got '$HI_GPU_MEMORY_MIB'"
  fi
  if [[ -n "${HI_CUDA_REQUIREMENT:-}" && -z "$(cuda_required "$HI_CUDA_REQUIREMENT")" ]]; then
    die "HI_CUDA_REQUIREMENT must contain a term like cuda>=13.0, got '$HI_CUDA_REQUIREMENT'"
  fi
}

trim() {
  local s=$1
  s="${s#"${s%%[![:space:]]*}"}"
  printf '%s' "${s%"${s##*[![:space:]]}"}"
}

json_string() {
  local s=$1
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="$(printf '%s' "$s" | tr -d '\000-\037')"
  printf '"%s"' "$s"
}

main() {
  local out line name mem driver names=() mems=() drivers=() problems=() i cuda json gpus=""
  validate
  command -v nvidia-smi >/dev/null 2>&1 ||
    die "nvidia-smi not found: the nvidia-driver step has not run (or nvidia-utils is missing); run it and the reboot step, then re-run"
  if ! out="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits 2>&1)"; then
    if [[ "$out" == *"version mismatch"* ]]; then
      die "nvidia-smi failed: $(tr '\n' ' ' <<<"$out"). The loaded NVIDIA kernel module is older than the installed driver libraries (they were upgraded without a reboot): run the reboot-if-required step (it re-runs on the next 'pulumi up') or reboot the host, then re-run"
    fi
    die "nvidia-smi failed: $(tr '\n' ' ' <<<"$out"). The driver is not working: if the driver step just ran, reboot (reboot-if-required step); otherwise check 'dkms status', Secure Boot ('mokutil --sb-state') and 'journalctl -k | grep -i nvrm'"
  fi
  while IFS= read -r line; do
    [[ -n "$(trim "$line")" ]] || continue
    IFS=, read -r name mem driver <<<"$line"
    names+=("$(trim "$name")")
    mems+=("$(trim "$mem")")
    drivers+=("$(trim "$driver")")
  done <<<"$out"

  local found="${#names[@]}" listing=""
  for ((i = 0; i < found; i++)); do listing+="${listing:+, }[$i] '${names[$i]}' ${mems[$i]} MiB"; done
  if ((found != HI_GPU_COUNT)); then
    problems+=("GPU count: the stack declares $HI_GPU_COUNT x '$HI_GPU_NAME' but nvidia-smi found $found${listing:+: $listing}. Fix gpu.count in the stack, or check every card is seated, powered and visible ('nvidia-smi -L', 'lspci | grep -i nvidia')")
  fi
  for ((i = 0; i < found; i++)); do
    if [[ "${names[$i]}" != "$HI_GPU_NAME" ]]; then
      problems+=("GPU model: GPU $i is '${names[$i]}' but the stack declares '$HI_GPU_NAME'. Fix the GPU model in the stack (the plan sizes the model and quantization for it) or use the host that has that card")
    fi
    if ! [[ "${mems[$i]}" =~ ^[0-9]+$ ]]; then
      problems+=("GPU $i: nvidia-smi reported memory '${mems[$i]}', not a number of MiB")
    elif [[ -n "${HI_GPU_MEMORY_MIB:-}" ]] &&
      ((mems[i] * 100 < HI_GPU_MEMORY_MIB * 95 || mems[i] * 100 > HI_GPU_MEMORY_MIB * 102)); then
      problems+=("GPU memory: GPU $i has ${mems[$i]} MiB but the declared card has ${HI_GPU_MEMORY_MIB} MiB: it is another variant of '${names[$i]}'. Fix the GPU id in the stack (e.g. the 6GB or 8GB variant) so the plan sizes the model for the real card")
    fi
  done
  driver="${drivers[0]:-}"
  if [[ ! "$driver" =~ ^[0-9]+\. ]]; then
    problems+=("driver: nvidia-smi reported driver version '$driver', which is not a version number")
  elif ((${driver%%.*} < HI_DRIVER_BRANCH)); then
    problems+=("driver: version $driver is below the required branch $HI_DRIVER_BRANCH. Re-run the nvidia-driver and reboot-if-required steps")
  fi

  # The CUDA version the driver supports is printed only in nvidia-smi's table header.
  cuda="$(driver_cuda_version)"
  if [[ -n "${HI_CUDA_REQUIREMENT:-}" ]]; then
    line="$(cuda_requirement_problem "${HI_ENGINE_IMAGE:-the engine image}" "$HI_CUDA_REQUIREMENT" "$driver" "$cuda")"
    if [[ -n "$line" ]]; then
      problems+=("$line")
    elif [[ -z "$cuda" ]]; then
      say "cannot check the engine image's CUDA requirement ($HI_CUDA_REQUIREMENT): nvidia-smi prints no CUDA version"
    fi
  fi

  local runtimes
  if ! runtimes="$(docker info --format '{{json .Runtimes}}' 2>&1)"; then
    problems+=("docker: 'docker info' failed ($(tr '\n' ' ' <<<"$runtimes")). Re-run the docker step; see 'systemctl status docker'")
  elif [[ "$runtimes" != *'"nvidia"'* ]]; then
    problems+=("docker: the nvidia runtime is not registered (docker info lists runtimes $runtimes). Re-run the docker step, which runs 'nvidia-ctk runtime configure --runtime=docker' and restarts Docker")
  fi

  if ((${#problems[@]} > 0)); then
    for line in "${problems[@]}"; do fail "$line"; done
    exit 1
  fi

  for ((i = 0; i < found; i++)); do
    gpus+="${gpus:+,}{\"name\":$(json_string "${names[$i]}"),\"memoryMiB\":${mems[$i]}}"
  done
  json="{\"gpus\":[$gpus],\"driverVersion\":$(json_string "$driver"),\"cudaVersion\":$(if [[ -n "$cuda" ]]; then json_string "$cuda"; else printf null; fi)}"
  mkdir -p "$ROOT/var/lib/hybrid-inference"
  printf '%s\n' "$json" >"$ROOT/var/lib/hybrid-inference/gpu-inventory.json"
  say "verified $found x '$HI_GPU_NAME', driver $driver, CUDA ${cuda:-unknown}${HI_CUDA_REQUIREMENT:+ (the engine image needs ${HI_CUDA_REQUIREMENT%% *})}, Docker nvidia runtime present"
  printf 'HI_GPU_INVENTORY=%s\n' "$json"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
