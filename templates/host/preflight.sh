#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "preflight".
#
# Refuses hosts the rest of the bootstrap cannot handle, before anything is installed:
# Ubuntu 22.04 or 24.04 only (the driver, toolkit and Docker repositories used later are
# chosen for those releases), root via sudo, enough free disk where the model cache will
# live, and kernel headers for the running kernel (DKMS builds the NVIDIA module against
# them in the driver step; without them the driver installs but never loads).
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_CACHE_DIR    required. Absolute path of the model cache directory; it need not exist
#                   yet (the cache-dir step creates it). Free space is measured on the
#                   filesystem that will hold it.
#   HI_MIN_FREE_GB  required. Minimum free space in GiB (units of 1024^3 bytes, as df -BG).
#   HI_ROOT         tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_CACHE_DIR=... HI_MIN_FREE_GB=... bash -s < preflight.sh
# Idempotent: only reads, except installing missing kernel headers once.
STEP=preflight
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

validate() {
  require HI_CACHE_DIR "pass the model cache directory, e.g. HI_CACHE_DIR=/var/lib/hybrid-inference/models"
  require HI_MIN_FREE_GB "pass the minimum free disk space in GiB, e.g. HI_MIN_FREE_GB=200"
  [[ "$HI_CACHE_DIR" == /* ]] || die "HI_CACHE_DIR must be an absolute path, got '$HI_CACHE_DIR'"
  is_uint "$HI_MIN_FREE_GB" || die "HI_MIN_FREE_GB must be a whole number of GiB, got '$HI_MIN_FREE_GB'"
  # Force base 10: in bash arithmetic "010" would otherwise mean 8.
  HI_MIN_FREE_GB=$((10#$HI_MIN_FREE_GB))
}

check_os() {
  local id version pretty
  id="$(os_release ID)" || die "cannot read $ROOT/etc/os-release: this bootstrap supports Ubuntu Server 22.04 and 24.04 LTS only"
  version="$(os_release VERSION_ID)"
  pretty="$(os_release PRETTY_NAME)"
  if [[ "$id" != ubuntu ]] || [[ "$version" != 22.04 && "$version" != 24.04 ]]; then
    die "unsupported OS '${pretty:-$id $version}' (ID=$id, VERSION_ID=$version): reinstall the host with Ubuntu Server 22.04 or 24.04 LTS, the releases the NVIDIA driver, NVIDIA Container Toolkit and Docker repositories used here are set up for"
  fi
  say "OS: ${pretty:-Ubuntu $version}"
}

check_root() {
  local uid
  uid="$(id -u)"
  [[ "$uid" == 0 ]] || die "running as uid $uid, not root: run the step through sudo (the component runs 'sudo -n env ... bash -s'), and give the SSH user passwordless sudo"
}

check_disk() {
  local dir="$ROOT$HI_CACHE_DIR" avail_kib avail_gib mount
  # The cache directory usually does not exist yet: measure the nearest existing ancestor,
  # which is on the filesystem the directory will be created on.
  while [[ ! -e "$dir" ]]; do dir="$(dirname "$dir")"; done
  # -P keeps each filesystem on one line, so field 4 is always "Available" (in KiB with -k).
  read -r avail_kib mount < <(df -Pk -- "$dir" | awk 'NR == 2 { print $4, $6 }') || true
  is_uint "${avail_kib:-}" || die "could not read free space for $dir from 'df -Pk' (got '${avail_kib:-}')"
  avail_gib=$((avail_kib / 1048576))
  if ((avail_gib < HI_MIN_FREE_GB)); then
    die "only ${avail_gib} GiB free on ${mount:-$dir} (the filesystem for HI_CACHE_DIR=$HI_CACHE_DIR), need at least ${HI_MIN_FREE_GB} GiB for model weights: free space, mount a larger local disk there, or lower minFreeDiskGB in the stack"
  fi
  say "disk: ${avail_gib} GiB free on ${mount:-$dir} (need ${HI_MIN_FREE_GB} GiB)"
}

ensure_kernel_headers() {
  local kernel pkg
  kernel="$(uname -r)"
  [[ "$kernel" =~ ^[A-Za-z0-9._+~-]+$ ]] || die "unexpected kernel release '$kernel' from 'uname -r'"
  pkg="linux-headers-$kernel"
  if pkg_installed "$pkg"; then
    say "kernel headers: $pkg already installed"
    return 0
  fi
  say "kernel headers: installing $pkg"
  apt_install "$pkg" ||
    die "could not install $pkg: the running kernel $kernel has no Ubuntu headers package (often a hosting provider's custom kernel). Install and boot Ubuntu's kernel ('apt-get install linux-generic', select it in GRUB, reboot), then re-run"
}

main() {
  validate
  check_os
  check_root
  check_disk
  ensure_kernel_headers
  say "preflight passed"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
