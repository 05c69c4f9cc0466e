#!/usr/bin/env bash
# Installs headless Chromium, which test/report opens the HTML cost report in (a screenshot
# and --dump-dom check that the hand-built SVG charts really render).
# Idempotent: does nothing when a chromium binary is already on PATH. Debian/Ubuntu only (CI
# runs Debian 12 as root, where the package is "chromium"; Ubuntu's "chromium-browser" is a
# snap shim and is not used); uses sudo when not root.
set -euo pipefail

for candidate in chromium chromium-browser; do
  if command -v "${candidate}" >/dev/null 2>&1; then
    echo "chromium already installed ($("${candidate}" --version 2>/dev/null || echo "${candidate}"))"
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "[install-chromium] apt-get not found: install Chromium with this system's package manager (https://www.chromium.org/getting-involved/download-chromium/)" >&2
  exit 1
fi

as_root=()
if [[ "$(id -u)" != 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "[install-chromium] not root and sudo is not available: run 'apt-get update && apt-get install -y chromium' as root" >&2
    exit 1
  fi
  as_root=(sudo)
fi

# `env` inside sudo: sudo's env_reset would drop a variable set in front of it.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
# Fonts come with the package's dependencies; without any, text in the screenshot is boxes.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
chromium --version
