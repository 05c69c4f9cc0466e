#!/usr/bin/env bash
# hybrid-inference engine watchdog: restarts a hung engine container.
#
# Docker's health check only reports ("unhealthy"), and the restart policy acts only when the
# process exits, so an engine that hangs (a wedged CUDA context, a deadlocked scheduler) keeps
# its container "running" and the host serves nothing until someone notices. This program, run
# every few seconds by hybrid-inference-engine-watchdog.timer (installed by the host
# bootstrap's engine-watchdog step as /usr/local/lib/hybrid-inference/engine-watchdog), looks at
# every running container labelled hybrid-inference.watchdog=restart and restarts one that is
# unhealthy for longer than its labels allow. The labels come from the plan
# (core/render/containers.ts engineWatchdog), next to the health check they are derived from:
#   hybrid-inference.watchdog.restart-after-s        the health check has failed this long:
#                                                    interval x retries (when Docker calls it
#                                                    unhealthy) plus a margin
#   hybrid-inference.watchdog.start-period-s         never act this soon after a (re)start: the
#                                                    engine is still downloading and loading
#   hybrid-inference.watchdog.max-restarts-per-hour  then stop and leave it to an operator: a
#                                                    restart that does not heal is not a fix
# How long the check has been failing is the container's own failing streak (consecutive failed
# probes) times its probe interval, from `docker inspect`, so nothing is lost when this program
# or the host restarts.
#
# Every restart, and every refusal to restart, is logged: stdout/stderr go to the journal
# (journalctl -u hybrid-inference-engine-watchdog) and restarts are also appended to
# /var/log/hybrid-inference/engine-watchdog.log. Restart times per container are kept in
# /var/lib/hybrid-inference/engine-watchdog/<name>.restarts for the hourly limit.
#
# Environment:
#   HI_ROOT  tests only: prefix for every absolute path read or written.
#
# Exit status: 0 when every labelled container was looked at; 1 when Docker cannot be asked
# (the timer's unit then shows as failed in `systemctl --failed`).
STEP=engine-watchdog
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly LABEL=hybrid-inference.watchdog
readonly STATE_DIR=/var/lib/hybrid-inference/engine-watchdog
readonly LOG_FILE=/var/log/hybrid-inference/engine-watchdog.log
# Seconds Docker gives the engine to stop before killing it: vLLM frees GPU memory on SIGTERM.
readonly STOP_TIMEOUT_S=30

# One line from `docker inspect` JSON (stdin), fields separated by the ASCII unit separator
# (not whitespace, so an empty field stays a field): name, health status, failing streak,
# probe interval (s), start time (epoch s), then the three labels (empty when missing or not
# a whole number).
read -r -d '' PARSE <<'PY' || true
import datetime, json, re, sys

c = json.load(sys.stdin)[0]
state = c.get("State") or {}
health = state.get("Health") or {}
config = c.get("Config") or {}
labels = config.get("Labels") or {}
check = config.get("Healthcheck") or {}
# Docker's default probe interval is 30 s when the health check leaves it at 0.
interval = (check.get("Interval") or 30_000_000_000) // 1_000_000_000
started = state.get("StartedAt") or ""
m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", started)
epoch = 0
if m:
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    epoch = int(datetime.datetime.fromisoformat(m.group(1) + zone).timestamp())
def label(name):
    value = str(labels.get("hybrid-inference.watchdog." + name, ""))
    return value if re.fullmatch(r"[0-9]{1,7}", value) else ""
print("\x1f".join([
    c.get("Name", "").lstrip("/") or c.get("Id", "")[:12],
    health.get("Status", "none"),
    str(int(health.get("FailingStreak") or 0)),
    str(max(1, int(interval))),
    str(epoch),
    label("restart-after-s"),
    label("start-period-s"),
    label("max-restarts-per-hour"),
]))
PY

log_restart() {
  mkdir -p "$(dirname "$ROOT$LOG_FILE")"
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$ROOT$LOG_FILE"
}

# Restart times of the last hour for a container (and drops older ones from its file).
recent_restarts() {
  local file=$1 now=$2 t
  [[ -f "$file" ]] || return 0
  while read -r t; do
    if [[ "$t" =~ ^[0-9]{1,12}$ ]] && ((now - t < 3600)); then printf '%s\n' "$t"; fi
  done <"$file"
}

check_container() {
  local id=$1 json name health streak interval started restart_after start_period max_restarts
  local now failing history=() file
  if ! json="$(docker inspect "$id" 2>&1)"; then
    fail "cannot inspect container $id (it may have just been removed): $json"
    return 0
  fi
  IFS=$'\x1f' read -r name health streak interval started restart_after start_period max_restarts < <(python3 -c "$PARSE" <<<"$json")
  if [[ -z "$restart_after" || -z "$start_period" || -z "$max_restarts" ]]; then
    fail "$name carries $LABEL=restart but not whole numbers in $LABEL.restart-after-s, .start-period-s and .max-restarts-per-hour; not watching it (re-deploy it from the plan)"
    return 0
  fi
  [[ "$health" == unhealthy ]] || return 0
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || name=${id:0:12}
  now="$(date +%s)"
  if ((now < started + start_period)); then
    say "$name is unhealthy but started $((now - started)) s ago, within its ${start_period} s start period (loading the model): not restarting"
    return 0
  fi
  failing=$((streak * interval))
  if ((failing < restart_after)); then
    say "$name is unhealthy: $streak failed health checks (~${failing} s); restarting it once they have failed for ${restart_after} s"
    return 0
  fi
  file="$ROOT$STATE_DIR/$name.restarts"
  mkdir -p "$ROOT$STATE_DIR"
  mapfile -t history < <(recent_restarts "$file" "$now")
  if ((${#history[@]} >= max_restarts)); then
    fail "$name has been unhealthy for ~${failing} s, but it was already restarted ${#history[@]} times in the last hour (limit $max_restarts): not restarting it again. Look at 'docker logs --tail 200 $name' and 'nvidia-smi' (an Xid error in 'journalctl -k' means the GPU needs a reboot); restart it by hand with 'docker restart $name' once fixed"
    printf '%s\n' "${history[@]}" >"$file"
    return 0
  fi
  if ! docker restart --time "$STOP_TIMEOUT_S" "$id" >/dev/null; then
    fail "$name has been unhealthy for ~${failing} s, but 'docker restart' failed; see 'journalctl -u docker'"
    log_restart "FAILED to restart $name ($id): unhealthy for ~${failing} s ($streak failed health checks)"
    return 0
  fi
  printf '%s\n' "${history[@]}" "$now" | sed '/^$/d' >"$file"
  say "restarted $name (${id:0:12}): its health check had failed for ~${failing} s ($streak checks in a row, limit ${restart_after} s); restart $((${#history[@]} + 1)) of at most $max_restarts an hour"
  log_restart "restarted $name (${id:0:12}): unhealthy for ~${failing} s ($streak failed health checks; limit ${restart_after} s)"
}

main() {
  local ids id
  command -v docker >/dev/null 2>&1 || die "docker not found: nothing to watch (run the host bootstrap's docker step)"
  if ! ids="$(docker ps --quiet --no-trunc --filter "label=$LABEL=restart" 2>&1)"; then
    die "cannot list containers: $(tr '\n' ' ' <<<"$ids")(is Docker running? 'systemctl status docker')"
  fi
  for id in $ids; do
    [[ "$id" =~ ^[0-9a-f]{12,64}$ ]] || continue
    check_container "$id"
  done
}

main "$@" </dev/null
