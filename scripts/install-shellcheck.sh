#!/usr/bin/env bash
# Installs shellcheck, which test/host-bootstrap runs over every script in templates/host.
# Idempotent: does nothing when shellcheck is already on PATH. Debian/Ubuntu only (CI runs
# Debian 12 as root, where the package is "shellcheck"); uses sudo when not root.
set -euo pipefail

if command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck already installed ($(shellcheck --version | sed -n 's/^version: //p'))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "[install-shellcheck] apt-get not found: install shellcheck with this system's package manager (https://github.com/koalaman/shellcheck#installing)" >&2
  exit 1
fi

as_root=()
if [[ "$(id -u)" != 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "[install-shellcheck] not root and sudo is not available: run 'apt-get update && apt-get install -y shellcheck' as root" >&2
    exit 1
  fi
  as_root=(sudo)
fi

# `env` inside sudo: sudo's env_reset would drop a variable set in front of it.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck
shellcheck --version
