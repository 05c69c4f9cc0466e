#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "ssh-hardening".
#
# SSH by key only: password and keyboard-interactive logins off, root login off (or
# key-only when the deployment itself logs in as root). Written as a drop-in that sorts
# first in /etc/ssh/sshd_config.d/: sshd keeps the first value it reads for each keyword,
# and Ubuntu cloud images ship 50-cloud-init.conf with "PasswordAuthentication yes".
# The new config is checked with `sshd -t` before sshd reloads; a bad one is removed.
# The deployment connects with a key, so this cannot lock it out.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_SSH_USER   required. The user the deployment logs in as (root keeps key-only login).
#   HI_ROOT       tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_SSH_USER=ubuntu bash -s < ssh-hardening.sh
# Idempotent: the drop-in is rewritten and sshd reloaded only when its content changes.
STEP=ssh-hardening
# ---- common helpers: begin (identical in every step script; test/host-bootstrap enforces it) ----
set -euo pipefail
set -o errtrace
umask 022
export LC_ALL=C
# Tests point HI_ROOT at a scratch directory that stands in for "/"; on a host it is unset.
ROOT="${HI_ROOT:-}"
if [[ -n "$ROOT" && "$ROOT" != /* ]]; then
  printf '[hybrid-inference:%s] HI_ROOT must be unset or an absolute path\n' "$STEP" >&2
  exit 2
fi

# Every line carries "[hybrid-inference:<step>]" so the Pulumi log and the cloud-init journal
# say which step spoke; failures go to stderr.
say() { printf '[hybrid-inference:%s] %s\n' "$STEP" "$*"; }
fail() { printf '[hybrid-inference:%s] %s\n' "$STEP" "$*" >&2; }
die() {
  fail "$@"
  exit 1
}
# A command failing outside an explicit check still gets a prefixed message naming it, so a
# bare "exit 100" from apt never reaches the user without context.
on_err() {
  # Subshells inherit the trap (errtrace): only the top-level shell reports.
  if [[ "$BASHPID" == "$$" ]]; then
    fail "unexpected failure (exit $1) at line $2 running: $3. Fix the cause reported above and re-run this step; it is safe to re-run."
  fi
  exit "$1"
}
trap 'on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR

is_uint() { [[ "$1" =~ ^[0-9]{1,9}$ ]]; }
require() {
  [[ -n "${!1:-}" ]] || die "$1 is not set: $2"
}
pkg_installed() {
  local status
  # shellcheck disable=SC2016 # ${db:Status-Abbrev} is a dpkg-query field, not a shell expansion
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == ii* ]]
}
APT_FRESH=0
apt_get() {
  # The lock timeout matters on first boot, when unattended-upgrades holds the dpkg lock for
  # minutes; confold keeps any config file an operator already edited.
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
apt_install() {
  if [[ "$APT_FRESH" == 0 ]]; then
    apt_get update || return 1
    APT_FRESH=1
  fi
  apt_get install --no-install-recommends "$@"
}
os_release() {
  local file="$ROOT/etc/os-release"
  [[ -r "$file" ]] || return 1
  sed -n "s/^$1=//p" "$file" | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}
# ---- common helpers: end ----

DROP_IN=/etc/ssh/sshd_config.d/01-hybrid-inference.conf

validate() {
  require HI_SSH_USER "pass the SSH user the deployment logs in as, e.g. HI_SSH_USER=ubuntu"
  [[ "$HI_SSH_USER" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "HI_SSH_USER must be a Unix user name, got '$HI_SSH_USER'"
}

desired() {
  local root_login=no
  [[ "$HI_SSH_USER" != root ]] || root_login=prohibit-password
  printf '%s\n' \
    "# Managed by hybrid-inference (ssh-hardening step): SSH by key only." \
    "PubkeyAuthentication yes" \
    "PasswordAuthentication no" \
    "KbdInteractiveAuthentication no" \
    "PermitEmptyPasswords no" \
    "PermitRootLogin $root_login"
}

main() {
  local file="$ROOT$DROP_IN" config="$ROOT/etc/ssh/sshd_config" tmp
  validate
  [[ -f "$config" ]] || die "the file /etc/ssh/sshd_config is missing: is openssh-server installed?"
  grep -qE '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' "$config" ||
    die "the file /etc/ssh/sshd_config does not include /etc/ssh/sshd_config.d/*.conf (Ubuntu 22.04 and later do): add 'Include /etc/ssh/sshd_config.d/*.conf' as its first line and re-run"
  if [[ -f "$file" ]] && cmp -s <(desired) "$file"; then
    say "SSH already allows keys only"
    return 0
  fi
  mkdir -p "$(dirname "$file")"
  tmp="$(mktemp "$file.XXXXXX")"
  desired >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
  if ! sshd -t; then
    rm -f "$file"
    die "sshd rejected the hardened configuration (see 'sshd -t' above); the drop-in was removed and sshd left as it was"
  fi
  # Ubuntu names the unit ssh; a reload keeps open sessions, including this one.
  systemctl reload ssh || systemctl reload sshd || die "could not reload sshd: run 'systemctl status ssh'"
  say "SSH now allows keys only ($DROP_IN)"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
