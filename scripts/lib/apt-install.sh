# shellcheck shell=bash
# Installs Debian packages for the test tools without starting their services (an etcd or sshd
# listening on its default port is not something a test run may leave behind). Sourced, not
# run; messages go through the caller's `say`. scripts/install-sshd.sh does the same inline.
#
# Debian's maintainer scripts start services through invoke-rc.d/deb-systemd-invoke, which
# honour /usr/sbin/policy-rc.d: exit 101 = "action forbidden". One is installed for the duration
# of the install when there is none (an existing one is this machine's policy and stays).

# hi_apt_install PACKAGE...: apt-get update + install --no-install-recommends, as root or
# through sudo; returns 1 (after saying what to run) when neither apt-get nor root is at hand.
hi_apt_install() (
  # A subshell, so its EXIT trap (removing the policy it added, also on Ctrl-C) is its own.
  as_root=()
  if ! command -v apt-get >/dev/null 2>&1; then
    say "apt-get not found: install the Debian packages $* (or their equivalents) with this system's package manager" >&2
    exit 1
  fi
  if [[ "$(id -u)" != 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      say "not root and sudo is not available: run 'apt-get update && apt-get install -y --no-install-recommends $*' as root" >&2
      exit 1
    fi
    as_root=(sudo)
  fi
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e "$policy" ]]; then
    trap '"${as_root[@]}" rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# hybrid-inference scripts/lib/apt-install.sh: do not start services while installing\nexit 101\n' |
      "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 0755 "$policy"
  fi
  # `env` inside sudo: sudo's env_reset would drop a variable set in front of it.
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
)
