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
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

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
