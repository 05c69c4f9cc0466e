#!/usr/bin/env bash
# Installs OpenSSH's server (Debian/Ubuntu package "openssh-server") for the engine tests in
# test/engine, which start their own sshd on a loopback address and a random port, with their
# own host key, config and authorized key in a temp directory: the SSH test host `pulumi up`
# bootstraps. The package's own service is NOT started by this script (a policy-rc.d denies it
# for the duration of the install), so nothing listens on port 22 because of it.
#
# Idempotent: does nothing when sshd and ssh-keygen are already installed (it only makes sure
# /run/sshd exists when running as root: sshd started as root needs that privilege separation
# directory, which the package's systemd unit would otherwise create on start).
# Debian/Ubuntu only (CI runs Debian 12 as root); uses sudo when not root.
set -euo pipefail

say() { printf '[install-sshd] %s\n' "$*"; }

sshd_bin=""
for c in /usr/sbin/sshd "$(command -v sshd 2>/dev/null || true)"; do
  if [[ -n "$c" && -x "$c" ]]; then
    sshd_bin="$c"
    break
  fi
done

as_root=()
if [[ "$(id -u)" != 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    say "not root and sudo is not available: run 'apt-get update && apt-get install -y --no-install-recommends openssh-server' as root" >&2
    exit 1
  fi
  as_root=(sudo)
fi

ensure_privsep_dir() {
  # Only root's sshd needs it; an unprivileged test run starts sshd without privilege separation.
  if [[ "$(id -u)" == 0 && ! -d /run/sshd ]]; then
    install -d -m 0755 /run/sshd
  fi
}

if [[ -n "$sshd_bin" ]] && command -v ssh-keygen >/dev/null 2>&1 && command -v ssh >/dev/null 2>&1; then
  ensure_privsep_dir
  say "sshd already installed ($("$sshd_bin" -V 2>&1 | sed -n 1p || true))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "apt-get not found: install OpenSSH's server (sshd), ssh and ssh-keygen with this system's package manager" >&2
  exit 1
fi

# Debian's maintainer scripts start services through invoke-rc.d/deb-systemd-invoke, which
# honour /usr/sbin/policy-rc.d: exit 101 = "action forbidden". Only installed when there is
# none (an existing one is this machine's policy and stays as it is), removed afterwards.
policy=/usr/sbin/policy-rc.d
added_policy=0
cleanup() {
  if ((added_policy)); then "${as_root[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\n# hybrid-inference install-sshd.sh: do not start services while installing\nexit 101\n' |
    "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 0755 "$policy"
  added_policy=1
fi

# `env` inside sudo: sudo's env_reset would drop a variable set in front of it.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openssh-server openssh-client
if [[ "$(id -u)" == 0 ]]; then ensure_privsep_dir; else "${as_root[@]}" install -d -m 0755 /run/sshd; fi
say "installed $(/usr/sbin/sshd -V 2>&1 | sed -n 1p || true) (service not started; the tests run their own sshd on 127.0.0.0/8)"
