#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "verify-gpus".
#
# Checks the host really has the GPUs the stack declares, every run (drivers and cards change
# under a host; GPUs installed or reset after onboarding go unnoticed otherwise), and that
# Docker can hand them to containers. Fails naming what was expected and what was found when
# the card count or model differs, the driver branch is too old, or Docker lacks the nvidia
# runtime. On success it prints exactly one line on stdout for the component to parse:
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

  # The CUDA version the driver supports is printed only in nvidia-smi's table header.
  cuda="$(nvidia-smi 2>/dev/null | sed -nE 's/.*CUDA Version: *([0-9]+(\.[0-9]+)*).*/\1/p' | head -n 1 || true)"
  for ((i = 0; i < found; i++)); do
    gpus+="${gpus:+,}{\"name\":$(json_string "${names[$i]}"),\"memoryMiB\":${mems[$i]}}"
  done
  json="{\"gpus\":[$gpus],\"driverVersion\":$(json_string "$driver"),\"cudaVersion\":$(if [[ -n "$cuda" ]]; then json_string "$cuda"; else printf null; fi)}"
  mkdir -p "$ROOT/var/lib/hybrid-inference"
  printf '%s\n' "$json" >"$ROOT/var/lib/hybrid-inference/gpu-inventory.json"
  say "verified $found x '$HI_GPU_NAME', driver $driver, CUDA ${cuda:-unknown}, Docker nvidia runtime present"
  printf 'HI_GPU_INVENTORY=%s\n' "$json"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
