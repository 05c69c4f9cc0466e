#!/usr/bin/env bash
# Runs on the machine that runs Pulumi, after the host's reboot-if-required step.
# Waits until the host answers over SSH with a boot id different from the one it had
# before the reboot: only then has it really rebooted (SSH may still answer for a few
# seconds after the reboot was scheduled).
#
# Inputs (environment):
#   HI_HOST, HI_PORT, HI_USER  where to reach the host
#   HI_KEY_FILE                private key file (0600)
#   HI_OLD_BOOT_ID             boot id before the reboot; empty = no reboot was scheduled
#   HI_TIMEOUT_S               how long to wait (default 900)
#   HI_SSH_PROXY_COMMAND       optional. ProxyCommand through the stack's bastion
#                              (core/render/ssh-access.ts bastionProxyCommand)
#   HI_SSH                     ssh client to use (default: ssh; tests point it at a stub)
set -euo pipefail

fail() {
  echo "[hybrid-inference:wait-for-reboot] $*" >&2
  exit 1
}

: "${HI_HOST:?HI_HOST is required}"
: "${HI_USER:?HI_USER is required}"
: "${HI_KEY_FILE:?HI_KEY_FILE is required}"
port="${HI_PORT:-22}"
timeout_s="${HI_TIMEOUT_S:-900}"
ssh_client="${HI_SSH:-ssh}"
[[ "$port" =~ ^[0-9]+$ ]] || fail "HI_PORT must be a number, got '$port'"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || fail "HI_TIMEOUT_S must be a number of seconds, got '$timeout_s'"

if [[ -z "${HI_OLD_BOOT_ID:-}" ]]; then
  echo "no reboot was scheduled on ${HI_HOST}; nothing to wait for"
  exit 0
fi

proxy=()
if [[ -n "${HI_SSH_PROXY_COMMAND:-}" ]]; then proxy=(-o "ProxyCommand=${HI_SSH_PROXY_COMMAND}"); fi

deadline=$((SECONDS + timeout_s))
while ((SECONDS < deadline)); do
  current="$("$ssh_client" -i "$HI_KEY_FILE" -p "$port" \
    -o BatchMode=yes -o ConnectTimeout=5 -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new ${proxy[@]+"${proxy[@]}"} \
    -- "${HI_USER}@${HI_HOST}" cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)"
  if [[ -n "$current" && "$current" != "$HI_OLD_BOOT_ID" ]]; then
    echo "${HI_HOST} is back after its reboot (boot id ${current})"
    exit 0
  fi
  sleep "${HI_POLL_S:-5}"
done
fail "${HI_HOST} did not come back within ${timeout_s}s after its driver reboot; check its console, then run pulumi up again (every step is idempotent)"
