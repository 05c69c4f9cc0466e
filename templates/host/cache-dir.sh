#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "cache-dir".
#
# Creates the model cache directory the engine containers mount as their Hugging Face cache:
# owned by root, mode 0755 (the vLLM and LoRAX images run as root inside the container, and
# nothing else on the host needs to write there). It must be on a local disk: engines
# memory-map multi-GB weight files at start, which is slow over NFS/SMB and the reason the
# stack asks for local NVMe.
#
# Inside it, the engines' compile caches (vLLM's torch.compile cache, FlashInfer's JIT
# kernels): directories the engine container mounts at their default places, so a restarted
# or recreated engine reuses what the last one compiled instead of compiling again.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_CACHE_DIR           required. Absolute path, e.g. /var/lib/hybrid-inference/models.
#   HI_COMPILE_CACHE_DIRS  optional. Comma-separated directories relative to HI_CACHE_DIR,
#                          e.g. compile-cache/vllm,compile-cache/flashinfer (from
#                          core/render/containers.ts, the same list the engine mounts).
#   HI_ROOT                tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_CACHE_DIR=/var/lib/hybrid-inference/models bash -s < cache-dir.sh
# Idempotent: creates what is missing and fixes owner/mode only when they differ.
STEP=cache-dir
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

validate() {
  require HI_CACHE_DIR "pass the model cache directory, e.g. HI_CACHE_DIR=/var/lib/hybrid-inference/models"
  [[ "$HI_CACHE_DIR" =~ ^(/[A-Za-z0-9._+@=-]+)+/?$ ]] ||
    die "HI_CACHE_DIR must be an absolute path of letters, digits and ._+@=- (no spaces), got '$HI_CACHE_DIR'"
  [[ "/$HI_CACHE_DIR/" != *"/../"* && "/$HI_CACHE_DIR/" != *"/./"* ]] ||
    die "HI_CACHE_DIR must not contain '.' or '..' components, got '$HI_CACHE_DIR'"
  local sub
  IFS=, read -ra COMPILE_CACHES <<<"${HI_COMPILE_CACHE_DIRS:-}"
  for sub in "${COMPILE_CACHES[@]}"; do
    [[ "$sub" =~ ^[a-z0-9_-][a-z0-9._-]*(/[a-z0-9_-][a-z0-9._-]*)*$ ]] ||
      die "HI_COMPILE_CACHE_DIRS must list relative paths of lower-case letters, digits and ._- (no . or .. parts), got '$sub'"
  done
  case "${HI_CACHE_DIR%/}" in
  "" | /bin | /boot | /dev | /etc | /home | /lib | /lib64 | /opt | /proc | /root | /run | /sbin | /srv | /sys | /tmp | /usr | /var | /var/lib | /var/lib/docker | /mnt | /media)
    die "HI_CACHE_DIR=$HI_CACHE_DIR is a system directory: use a dedicated one such as /var/lib/hybrid-inference/models"
    ;;
  esac
}

check_local_disk() {
  local dir="$ROOT$HI_CACHE_DIR" fstype
  while [[ ! -e "$dir" ]]; do dir="$(dirname "$dir")"; done
  fstype="$(stat -f -c %T -- "$dir")"
  case "$fstype" in
  nfs | nfs4 | cifs | smb2 | smbfs | 9p | ceph | glusterfs | afs | fuse.sshfs | fuse.s3fs | fuse.rclone)
    die "HI_CACHE_DIR=$HI_CACHE_DIR would be on a network filesystem ($fstype): engines memory-map the weights at start, so put the cache on a local disk (mount the NVMe there) and re-run"
    ;;
  esac
}

main() {
  local dir owner mode sub
  validate
  dir="$ROOT${HI_CACHE_DIR%/}"
  check_local_disk
  if [[ -L "$dir" ]]; then
    die "$HI_CACHE_DIR is a symbolic link: point HI_CACHE_DIR at the real directory on the local disk"
  fi
  if [[ -e "$dir" && ! -d "$dir" ]]; then
    die "$HI_CACHE_DIR exists and is not a directory: move it away or choose another cacheDir"
  fi
  if [[ ! -d "$dir" ]]; then
    mkdir -p -- "$dir"
    say "created $HI_CACHE_DIR"
  fi
  read -r owner mode < <(stat -c '%u:%g %a' -- "$dir")
  if [[ "$owner" != 0:0 ]]; then
    chown root:root -- "$dir"
    say "set owner of $HI_CACHE_DIR to root:root (was $owner)"
  fi
  if [[ "$mode" != 755 ]]; then
    chmod 0755 -- "$dir"
    say "set mode of $HI_CACHE_DIR to 0755 (was $mode)"
  fi
  say "model cache directory ready: $HI_CACHE_DIR"
  for sub in "${COMPILE_CACHES[@]}"; do
    ensure_root_dir "$dir/$sub" "${HI_CACHE_DIR%/}/$sub"
  done
  ((${#COMPILE_CACHES[@]} == 0)) || say "compile caches ready: ${COMPILE_CACHES[*]} under $HI_CACHE_DIR"
}

# A directory owned by root with mode 0755, created when missing; refuses a symbolic link or a
# file in its place (the engine would write its compiled kernels somewhere else).
ensure_root_dir() {
  local path=$1 shown=$2 owner mode
  if [[ -L "$path" || (-e "$path" && ! -d "$path") ]]; then
    die "$shown exists and is not a plain directory: move it away and re-run"
  fi
  [[ -d "$path" ]] || mkdir -p -- "$path"
  read -r owner mode < <(stat -c '%u:%g %a' -- "$path")
  [[ "$owner" == 0:0 ]] || chown root:root -- "$path"
  [[ "$mode" == 755 ]] || chmod 0755 -- "$path"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
