#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "engine-watchdog".
#
# Installs the engine watchdog (templates/engine/engine-watchdog.sh, passed in gzipped and
# base64-encoded so the command line stays one short line) as
# /usr/local/lib/hybrid-inference/engine-watchdog and a systemd timer
# that runs it every HI_WATCHDOG_INTERVAL_S seconds. The watchdog restarts a container
# labelled hybrid-inference.watchdog=restart whose health check has been failing longer than
# its labels allow (Docker's restart policy only acts when the process exits, so a hung engine
# would otherwise stay hung). Without labelled containers (a k3s node, a hosts-only stack) it
# does nothing. The restart policy itself travels with each container's labels, so changing it
# needs no re-run of this step.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_WATCHDOG_PROGRAM_GZ  required. The watchdog script, gzip-compressed, then base64.
#   HI_WATCHDOG_INTERVAL_S  required. Seconds between two runs (10-3600).
#   HI_ROOT                 tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_WATCHDOG_PROGRAM_GZ="$(gzip -c engine-watchdog.sh | base64 -w0)" HI_WATCHDOG_INTERVAL_S=30 bash -s < engine-watchdog.sh
# Idempotent: files are rewritten only when their content differs; systemd is reloaded only then.
STEP=engine-watchdog
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly PROGRAM=/usr/local/lib/hybrid-inference/engine-watchdog
readonly SERVICE=hybrid-inference-engine-watchdog.service
readonly TIMER=hybrid-inference-engine-watchdog.timer
readonly UNIT_DIR=/etc/systemd/system

validate() {
  require HI_WATCHDOG_PROGRAM_GZ "pass the watchdog script (templates/engine/engine-watchdog.sh), gzipped and base64-encoded, as HI_WATCHDOG_PROGRAM_GZ"
  require HI_WATCHDOG_INTERVAL_S "pass the seconds between two watchdog runs, e.g. HI_WATCHDOG_INTERVAL_S=30"
  [[ "$HI_WATCHDOG_PROGRAM_GZ" =~ ^[A-Za-z0-9+/]+={0,2}$ ]] || die "HI_WATCHDOG_PROGRAM_GZ must be base64 (gzip -c engine-watchdog.sh | base64 -w0)"
  PROGRAM_TEXT="$(base64 -d <<<"$HI_WATCHDOG_PROGRAM_GZ" | gzip -dc)" ||
    die "HI_WATCHDOG_PROGRAM_GZ does not decode: it must be the watchdog script gzipped, then base64-encoded"
  [[ "$PROGRAM_TEXT" == '#!/usr/bin/env bash'$'\n'* ]] ||
    die "HI_WATCHDOG_PROGRAM_GZ must hold a bash script starting with '#!/usr/bin/env bash'"
  if ! is_uint "$HI_WATCHDOG_INTERVAL_S" || ((10#$HI_WATCHDOG_INTERVAL_S < 10 || 10#$HI_WATCHDOG_INTERVAL_S > 3600)); then
    die "HI_WATCHDOG_INTERVAL_S must be a whole number of seconds from 10 to 3600, got '$HI_WATCHDOG_INTERVAL_S'"
  fi
  HI_WATCHDOG_INTERVAL_S=$((10#$HI_WATCHDOG_INTERVAL_S))
}

# Writes $2 to file $1 with mode $3 unless it already holds exactly that; returns 0 when it
# changed the file.
write_if_changed() {
  local file=$1 content=$2 mode=$3 tmp
  mkdir -p "$(dirname "$file")"
  tmp="$(mktemp "$file.XXXXXX")"
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  if cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$file"
}

main() {
  local changed=0 service timer
  validate
  service="# Written by the hybrid-inference bootstrap (engine-watchdog step).
[Unit]
Description=hybrid-inference engine watchdog (restarts engine containers whose health check keeps failing)
After=docker.service
Requires=docker.service

[Service]
Type=oneshot
ExecStart=$PROGRAM
# A docker restart waits up to 30 s for the engine to stop; one slow pass must not overlap the next.
TimeoutStartSec=300"
  timer="# Written by the hybrid-inference bootstrap (engine-watchdog step).
[Unit]
Description=Run the hybrid-inference engine watchdog every ${HI_WATCHDOG_INTERVAL_S} s

[Timer]
OnBootSec=60
OnUnitActiveSec=${HI_WATCHDOG_INTERVAL_S}
AccuracySec=5

[Install]
WantedBy=timers.target"
  if write_if_changed "$ROOT$PROGRAM" "$PROGRAM_TEXT" 0755; then changed=1; fi
  if write_if_changed "$ROOT$UNIT_DIR/$SERVICE" "$service" 0644; then changed=1; fi
  if write_if_changed "$ROOT$UNIT_DIR/$TIMER" "$timer" 0644; then changed=1; fi
  if ((changed)); then
    systemctl daemon-reload || die "systemctl daemon-reload failed"
  fi
  if ! systemctl is-enabled --quiet "$TIMER" || ! systemctl is-active --quiet "$TIMER"; then
    systemctl enable --now "$TIMER" || die "could not enable and start $TIMER: see 'systemctl status $TIMER'"
    changed=1
  elif ((changed)); then
    systemctl restart "$TIMER" || die "could not restart $TIMER: see 'systemctl status $TIMER'"
  fi
  if ((changed)); then
    say "engine watchdog installed: $PROGRAM every ${HI_WATCHDOG_INTERVAL_S} s ($TIMER); its restarts are in 'journalctl -u $SERVICE' and /var/log/hybrid-inference/engine-watchdog.log"
  else
    say "engine watchdog already installed and running every ${HI_WATCHDOG_INTERVAL_S} s; nothing to do"
  fi
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
