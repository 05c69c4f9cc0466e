#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "reboot-if-required".
#
# Reboots the host only when the NVIDIA driver needs it: the driver step left its marker, an
# NVIDIA driver of branch >= HI_DRIVER_BRANCH is installed but its module is not loaded, or
# the loaded module differs from the installed user space (the "Driver/library version
# mismatch": libraries upgraded since boot, by this bootstrap or out of band). It decides from
# the host's state, not from what changed, and the GpuHost component re-runs it after any
# bootstrap change (core/render/host-bootstrap.ts hostSteps), so a pending driver reboot
# happens before the card check whatever triggered the run. Other pending reboots (kernel
# updates) are reported but not acted on: rebooting a serving host for them is the operator's
# call (driver.refresh does it deliberately).
#
# The reboot is scheduled 5 s ahead (systemd-run timer) so this SSH command returns cleanly.
# When it schedules one it prints, on stdout:
#   HI_BOOT_ID=<boot id before the reboot>
#   HI_REBOOT_SCHEDULED=1
# and the caller must wait until the host is back with a different boot id
# (/proc/sys/kernel/random/boot_id) before the next step.
# If the host already rebooted once for the driver and the module still is not loaded, it
# fails with diagnostics instead of rebooting again (no reboot loops).
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_DRIVER_BRANCH  required. Minimum driver branch, as given to the nvidia-driver step.
#   HI_ROOT           tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_DRIVER_BRANCH=570 bash -s < reboot-if-required.sh
STEP=reboot-if-required
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

validate() {
  require HI_DRIVER_BRANCH "pass the minimum NVIDIA driver branch, e.g. HI_DRIVER_BRANCH=570"
  [[ "$HI_DRIVER_BRANCH" =~ ^[1-9][0-9]{2}$ ]] || die "HI_DRIVER_BRANCH must be a driver branch number like 570, got '$HI_DRIVER_BRANCH'"
}

loaded_version() {
  local file="$ROOT/proc/driver/nvidia/version"
  [[ -r "$file" ]] || return 0
  head -n 1 "$file" | grep -oE '[0-9]{3}\.[0-9]+(\.[0-9]+)?' | sed -n 1p || true
}

# Highest installed NVIDIA kernel-module branch (DKMS or Ubuntu's prebuilt modules), or nothing.
installed_branch() {
  # shellcheck disable=SC2016 # dpkg-query format fields, not shell expansions
  { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'nvidia-dkms-*' 'linux-modules-nvidia-*' 2>/dev/null || true; } |
    awk '$1 == "ii" { print $2 }' |
    sed -nE 's/^(nvidia-dkms-|linux-modules-nvidia-)([0-9]{3}).*$/\2/p' | sort -n | tail -n 1
}

installed_userspace_version() {
  # shellcheck disable=SC2016 # dpkg-query format fields, not shell expansions
  { dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' 'libnvidia-compute-*' 2>/dev/null || true; } |
    awk '$1 == "ii" { sub(/-.*/, "", $3); print $3 }' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}

schedule_reboot() {
  if command -v systemd-run >/dev/null 2>&1; then
    systemd-run --quiet --on-active=5 --timer-property=AccuracySec=1s systemctl reboot ||
      die "could not schedule the reboot with systemd-run: reboot the host by hand ('sudo reboot') and re-run"
  else
    shutdown -r +1 "hybrid-inference: reboot to load the NVIDIA driver" ||
      die "could not schedule the reboot with shutdown: reboot the host by hand ('sudo reboot') and re-run"
  fi
}

main() {
  validate
  local marker="$ROOT/var/run/hybrid-inference/driver-reboot-required"
  local attempt="$ROOT/var/lib/hybrid-inference/driver-reboot-attempt"
  local loaded branch userspace reason="" boot_id
  loaded="$(loaded_version)"
  branch="$(installed_branch)"
  userspace="$(installed_userspace_version)"

  if [[ -f "$marker" ]]; then
    reason="$(head -n 1 "$marker")"
  elif [[ -n "$branch" ]] && ((branch >= HI_DRIVER_BRANCH)); then
    if [[ -z "$loaded" ]]; then
      reason="NVIDIA driver branch $branch is installed but its kernel module is not loaded"
    elif [[ -n "$userspace" && "$loaded" != "$userspace" ]]; then
      reason="loaded NVIDIA module $loaded differs from installed driver $userspace"
    elif ((${loaded%%.*} < HI_DRIVER_BRANCH)); then
      reason="loaded NVIDIA module $loaded is older than branch $HI_DRIVER_BRANCH"
    fi
  fi

  if [[ -z "$reason" ]]; then
    rm -f "$attempt"
    if [[ -f "$ROOT/var/run/reboot-required" ]]; then
      say "no driver reboot needed (the system reports another pending reboot, e.g. a kernel update; not rebooting for it)"
    else
      say "no reboot needed (NVIDIA driver ${loaded:-not installed} loaded)"
    fi
    return 0
  fi

  boot_id="$(cat "$ROOT/proc/sys/kernel/random/boot_id" 2>/dev/null || true)"
  [[ -n "$boot_id" ]] || die "cannot read $ROOT/proc/sys/kernel/random/boot_id"
  if [[ -f "$attempt" && "$(head -n 1 "$attempt")" != "$boot_id" ]]; then
    die "the host already rebooted for the NVIDIA driver and it is still not loaded ($reason). Look at 'dkms status', 'journalctl -b -k | grep -i -e nvidia -e nvrm', 'mokutil --sb-state' (Secure Boot blocks unsigned modules) and 'lsmod | grep nouveau'; fix, then reboot by hand and re-run. Delete $attempt to let this step reboot again."
  fi
  mkdir -p "$(dirname "$attempt")"
  printf '%s\n' "$boot_id" >"$attempt"
  schedule_reboot
  say "rebooting in about 5 seconds: $reason"
  printf 'HI_BOOT_ID=%s\n' "$boot_id"
  printf 'HI_REBOOT_SCHEDULED=1\n'
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
