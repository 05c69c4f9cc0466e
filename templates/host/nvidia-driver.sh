#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "nvidia-driver".
#
# Ensures an NVIDIA driver of branch >= HI_DRIVER_BRANCH is installed, from Ubuntu's archive.
# If one is installed and loaded, nothing is done. After installing (or when an installed
# driver is not the one loaded), it leaves reboot markers and prints the line
#   HI_REBOOT_REQUIRED=1
# on stdout; the reboot-if-required step acts on it.
#
# Package family: nvidia-headless-<branch>-server[-open] plus nvidia-utils-<branch>-server.
#  * "-server" is Ubuntu's Enterprise Ready Driver line, built from NVIDIA's production
#    branches and supported for longer; it is what 'ubuntu-drivers install --gpgpu' picks for
#    compute hosts, and the same unified driver drives GeForce cards.
#    https://documentation.ubuntu.com/server/how-to/graphics/install-nvidia-drivers/
#  * "headless" carries the kernel module (built by DKMS) and the CUDA/NVML user space without
#    the Xorg driver and GL/Vulkan stack a display needs, so fewer packages to patch on a
#    server with no monitor. It lacks nvidia-smi, hence nvidia-utils-* (the verify step and
#    the container toolkit need it). https://packages.ubuntu.com/noble/nvidia-headless-580-server-open
#  * If a branch is not published in the -server line for this Ubuntu release (new consumer
#    branches reach the desktop line first), the same packages without "-server" are used.
#  * "-open" selects NVIDIA's open kernel modules, the only ones that support Blackwell
#    (RTX 50xx); the planner sets HI_OPEN_KERNEL_MODULES=true for such cards.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_DRIVER_BRANCH        required. Minimum driver branch, e.g. 570 (three digits).
#   HI_OPEN_KERNEL_MODULES  required. "true" for open kernel modules, "false" for either.
#   HI_ROOT                 tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_DRIVER_BRANCH=570 HI_OPEN_KERNEL_MODULES=true bash -s < nvidia-driver.sh
# Idempotent: an installed driver of the branch or newer (with the right module flavour) is kept.
STEP=nvidia-driver
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

validate() {
  require HI_DRIVER_BRANCH "pass the minimum NVIDIA driver branch, e.g. HI_DRIVER_BRANCH=570"
  require HI_OPEN_KERNEL_MODULES "pass HI_OPEN_KERNEL_MODULES=true (open kernel modules, required for Blackwell) or false"
  [[ "$HI_DRIVER_BRANCH" =~ ^[1-9][0-9]{2}$ ]] || die "HI_DRIVER_BRANCH must be a driver branch number like 570, got '$HI_DRIVER_BRANCH'"
  [[ "$HI_OPEN_KERNEL_MODULES" == true || "$HI_OPEN_KERNEL_MODULES" == false ]] ||
    die "HI_OPEN_KERNEL_MODULES must be 'true' or 'false', got '$HI_OPEN_KERNEL_MODULES'"
}

# Version and flavour of the module the running kernel has loaded ("570.133.07 open"), or
# nothing. /proc/driver/nvidia/version exists only while the module is loaded, and its first
# line names the open modules "Open Kernel Module".
loaded_driver() {
  local file="$ROOT/proc/driver/nvidia/version" line version flavour=proprietary
  [[ -r "$file" ]] || return 0
  line="$(head -n 1 "$file")"
  version="$(grep -oE '[0-9]{3}\.[0-9]+(\.[0-9]+)?' <<<"$line" | head -n 1)" || true
  [[ "$line" == *"Open Kernel Module"* ]] && flavour=open
  [[ -n "$version" ]] && printf '%s %s\n' "$version" "$flavour"
  return 0
}

# Installed NVIDIA kernel-module packages as "<branch> <open|proprietary>" lines, from DKMS
# packages (nvidia-dkms-570-server-open) or Ubuntu's prebuilt ones (linux-modules-nvidia-570-...).
installed_module_packages() {
  # shellcheck disable=SC2016 # dpkg-query format fields, not shell expansions
  { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'nvidia-dkms-*' 'linux-modules-nvidia-*' 2>/dev/null || true; } |
    awk '$1 == "ii" { print $2 }' |
    sed -nE 's/^(nvidia-dkms-|linux-modules-nvidia-)([0-9]{3})(-server)?(-open)?([-].*)?$/\2 \4/p' |
    awk '{ print $1, ($2 == "-open" ? "open" : "proprietary") }'
}

# Upstream version of the installed driver user space (libnvidia-compute-*), e.g. 570.133.07.
installed_userspace_version() {
  # shellcheck disable=SC2016 # dpkg-query format fields, not shell expansions
  { dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' 'libnvidia-compute-*' 2>/dev/null || true; } |
    awk '$1 == "ii" { sub(/-.*/, "", $3); print $3 }' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}

flavour_ok() {
  [[ "$HI_OPEN_KERNEL_MODULES" == false || "$1" == open ]]
}

mark_reboot_required() {
  local why=$1
  mkdir -p "$ROOT/var/run/hybrid-inference"
  printf '%s\n' "$why" >"$ROOT/var/run/hybrid-inference/driver-reboot-required"
  # Ubuntu's own marker (shown at login by update-motd); /var/run is a tmpfs, so both markers
  # disappear with the reboot that clears them.
  printf '*** System restart required ***\n' >"$ROOT/var/run/reboot-required"
  if ! grep -qx 'nvidia-driver' "$ROOT/var/run/reboot-required.pkgs" 2>/dev/null; then
    printf 'nvidia-driver\n' >>"$ROOT/var/run/reboot-required.pkgs"
  fi
  say "$why; a reboot is required before the driver can be used"
  printf 'HI_REBOOT_REQUIRED=1\n'
}

refuse_secure_boot() {
  # A DKMS-built module is unsigned: with Secure Boot on, it builds and installs but the kernel
  # refuses to load it, which would only surface after the reboot.
  if command -v mokutil >/dev/null 2>&1 && mokutil --sb-state 2>/dev/null | grep -q 'SecureBoot enabled'; then
    die "Secure Boot is enabled, so the DKMS-built NVIDIA module would not load: disable Secure Boot in the server's firmware settings (or enrol a MOK key at the console) and re-run"
  fi
}

install_driver() {
  local want=$HI_DRIVER_BRANCH suffix="" headless="" utils="" line
  [[ "$HI_OPEN_KERNEL_MODULES" == true ]] && suffix="-open"
  refuse_secure_boot
  apt_get update || die "apt-get update failed: check the host's network and /etc/apt/sources.list* (the 'restricted' component must be enabled for NVIDIA drivers)"
  APT_FRESH=1
  for line in "-server" ""; do
    if apt-cache show --no-all-versions "nvidia-headless-${want}${line}${suffix}" >/dev/null 2>&1; then
      headless="nvidia-headless-${want}${line}${suffix}"
      utils="nvidia-utils-${want}${line}"
      break
    fi
  done
  [[ -n "${headless:-}" ]] ||
    die "no package nvidia-headless-${want}-server${suffix} or nvidia-headless-${want}${suffix} in this host's apt sources: check the branch exists for this Ubuntu release (apt-cache search nvidia-headless-${want}) and that the 'restricted' component is enabled, or pick another driver branch in the stack"
  say "installing $headless $utils (DKMS builds the module for kernel $(uname -r); this takes a few minutes)"
  apt_install "$headless" "$utils" ||
    die "installing $headless $utils failed: see the apt output above; 'dkms status' and /var/lib/dkms/nvidia/*/build/make.log show module build errors (missing kernel headers: re-run the preflight step)"
}

main() {
  validate
  local loaded loaded_version="" loaded_flavour="" userspace best="" branch flavour
  loaded="$(loaded_driver)"
  if [[ -n "$loaded" ]]; then read -r loaded_version loaded_flavour <<<"$loaded"; fi
  userspace="$(installed_userspace_version)"
  while read -r branch flavour; do
    [[ -n "$branch" ]] || continue
    if ((branch >= HI_DRIVER_BRANCH)) && flavour_ok "$flavour" && ((branch > ${best:-0})); then best=$branch; fi
  done < <(installed_module_packages)

  if [[ -z "$best" ]]; then
    if [[ -n "$loaded_version" && -z "$(installed_module_packages)" ]] &&
      ((${loaded_version%%.*} >= HI_DRIVER_BRANCH)) && flavour_ok "$loaded_flavour"; then
      # Installed outside apt (provider image, .run installer): good enough, and replacing it
      # with packages would fight whatever manages it.
      say "driver $loaded_version ($loaded_flavour kernel module) is loaded and was not installed from Ubuntu packages; keeping it"
      return 0
    fi
    install_driver
    mark_reboot_required "installed NVIDIA driver branch $HI_DRIVER_BRANCH"
    return 0
  fi

  if [[ -z "$loaded_version" ]]; then
    mark_reboot_required "NVIDIA driver branch $best is installed but its kernel module is not loaded"
  elif [[ -n "$userspace" && "$loaded_version" != "$userspace" ]]; then
    mark_reboot_required "loaded NVIDIA kernel module $loaded_version differs from the installed driver $userspace (upgraded without a reboot; nvidia-smi would report a version mismatch)"
  elif ((${loaded_version%%.*} < HI_DRIVER_BRANCH)) || ! flavour_ok "$loaded_flavour"; then
    mark_reboot_required "loaded NVIDIA module $loaded_version ($loaded_flavour) is not the installed branch $best"
  else
    say "driver $loaded_version ($loaded_flavour kernel module) is installed and loaded; nothing to do"
  fi
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
