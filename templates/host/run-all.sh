#!/usr/bin/env bash
# hybrid-inference host bootstrap for cloud-init (the Pulumi GpuHost component runs the step
# scripts over SSH instead and never uses this file).
#
#   run-all.sh install   (what cloud-init's runcmd calls) installs and starts a systemd
#                        oneshot unit that runs "run-all.sh run" now and again at every boot
#                        until the bootstrap completes, which is how it survives the reboot
#                        the NVIDIA driver needs.
#   run-all.sh run       runs the step scripts that sit next to this file, in order, skipping
#                        steps already completed with the same script and environment; stops
#                        cleanly when reboot-if-required prints HI_REBOOT_SCHEDULED=1 (the unit resumes
#                        after the reboot); on success keeps the GPU inventory and disables the unit.
#
# State: /var/lib/hybrid-inference/bootstrap/<step>.done holds the sha256 of the step script
# plus the environment file it ran with; <step>.log the step's last output;
# "complete" marks the end. Log: /var/log/hybrid-inference-bootstrap.log.
#
# Environment:
#   HI_BOOTSTRAP_ENV  optional. Environment file with the steps' HI_* variables, as shell
#                     assignments with single-quoted values (renderCloudInit writes it);
#                     default /etc/hybrid-inference/bootstrap.env. It must be owned by root
#                     and not writable by others, since it is read as shell.
#   HI_ROOT           tests only: prefix for every absolute path read or written.
STEP=run-all
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

# The order the GpuHost component also uses (core/render/host-bootstrap.ts; a test keeps
# both lists equal).
readonly STEPS=(preflight ssh-hardening nvidia-driver reboot-if-required container-toolkit docker firewall cache-dir engine-watchdog verify-gpus)
readonly UNIT=hybrid-inference-bootstrap.service
readonly STATE_DIR=/var/lib/hybrid-inference/bootstrap
readonly LOG_FILE=/var/log/hybrid-inference-bootstrap.log

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_FILE="${HI_BOOTSTRAP_ENV:-/etc/hybrid-inference/bootstrap.env}"

install_unit() {
  local host_dir="${SCRIPT_DIR#"$ROOT"}" unit_file="$ROOT/etc/systemd/system/$UNIT" tmp
  [[ "$host_dir" =~ ^/[A-Za-z0-9._/+-]+$ ]] || die "install the scripts under a path without spaces or special characters (got '$host_dir')"
  [[ "$ENV_FILE" =~ ^/[A-Za-z0-9._/+-]+$ ]] || die "HI_BOOTSTRAP_ENV must be an absolute path without spaces or special characters (got '$ENV_FILE')"
  mkdir -p "$(dirname "$unit_file")"
  tmp="$(mktemp "$unit_file.XXXXXX")"
  cat >"$tmp" <<UNIT
# Written by $host_dir/run-all.sh install (hybrid-inference cloud-init bootstrap).
[Unit]
Description=hybrid-inference GPU host bootstrap (resumes after the NVIDIA driver reboot)
Wants=network-online.target
After=network-online.target cloud-final.service
ConditionPathExists=!$STATE_DIR/complete

[Service]
Type=oneshot
Environment=HI_BOOTSTRAP_ENV=$ENV_FILE
ExecStart=/bin/bash $host_dir/run-all.sh run
# apt and the DKMS build of the driver can take a long time on a first boot.
TimeoutStartSec=infinity
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
UNIT
  chmod 0644 "$tmp"
  if cmp -s "$tmp" "$unit_file"; then rm -f "$tmp"; else mv -f "$tmp" "$unit_file"; fi
  systemctl daemon-reload || die "systemctl daemon-reload failed"
  systemctl enable "$UNIT" || die "could not enable $UNIT"
  # --no-block: cloud-init's runcmd runs inside cloud-final.service, which the unit is ordered
  # after; waiting here would deadlock.
  systemctl start --no-block "$UNIT" || die "could not start $UNIT"
  say "started $UNIT; follow it with 'journalctl -fu $UNIT'"
}

load_env() {
  local file="$ROOT$ENV_FILE" owner mode
  [[ -f "$file" ]] || die "environment file $ENV_FILE is missing: it is written by the cloud-init user-data (renderCloudInit)"
  read -r owner mode < <(stat -c '%u %a' -- "$file")
  [[ "$owner" == "$(id -u)" ]] || die "$ENV_FILE must be owned by $(id -un), the user running the bootstrap (it is read as shell)"
  ((8#$mode & 8#022)) && die "$ENV_FILE must not be writable by group or others (mode $mode; it is read as shell): chmod 0600 it"
  set -a
  # shellcheck source=/dev/null
  . "$file"
  set +a
}

run_steps() {
  local state="$ROOT$STATE_DIR" step script sum output
  mkdir -p "$state" "$(dirname "$ROOT$LOG_FILE")"
  load_env
  for step in "${STEPS[@]}"; do
    script="$SCRIPT_DIR/$step.sh"
    [[ -f "$script" ]] || die "step script $script is missing"
    sum="$(cat "$script" "$ROOT$ENV_FILE" | sha256sum | cut -d ' ' -f 1)"
    if [[ -f "$state/$step.done" && "$(cat "$state/$step.done")" == "$sum" ]]; then
      say "step $step already completed; skipping"
      continue
    fi
    say "step $step: running"
    output="$state/$step.log"
    if ! bash "$script" </dev/null 2>&1 | tee "$output" | tee -a "$ROOT$LOG_FILE"; then
      die "step $step failed; its output is in $STATE_DIR/$step.log. Fix the cause and run 'systemctl restart $UNIT' (completed steps are skipped)"
    fi
    if grep -qx 'HI_REBOOT_SCHEDULED=1' "$output"; then
      say "step $step scheduled a reboot; $UNIT resumes after it"
      return 0
    fi
    printf '%s\n' "$sum" >"$state/$step.done"
  done
  touch "$state/complete"
  systemctl disable "$UNIT" >/dev/null 2>&1 || true
  say "bootstrap complete; GPU inventory in /var/lib/hybrid-inference/gpu-inventory.json"
}

main() {
  case "${1:-install}" in
  install) install_unit ;;
  run) run_steps ;;
  *) die "usage: run-all.sh [install|run]" ;;
  esac
}

# No step may wait on input: under systemd and cloud-init there is no one to answer.
main "$@" </dev/null
