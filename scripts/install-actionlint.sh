#!/usr/bin/env bash
# Installs actionlint (github.com/rhysd/actionlint), which test/gitops runs over the GitHub
# workflows in templates/gitops/github, at the pinned version into <repo>/.cache/bin.
# Idempotent: does nothing when that binary already reports the pinned version. Needs Go
# (go install builds it from the module proxy, checked against sum.golang.org).
set -euo pipefail

ACTIONLINT_VERSION="1.7.12"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${root}/.cache/bin"
actionlint="${bin_dir}/actionlint"

if [[ -x "${actionlint}" ]] && [[ "$("${actionlint}" -version 2>/dev/null | sed -n 1p)" == "v${ACTIONLINT_VERSION}" ]]; then
  echo "actionlint v${ACTIONLINT_VERSION} already installed (${actionlint})"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "[install-actionlint] go not found: install Go (https://go.dev/doc/install) or put actionlint v${ACTIONLINT_VERSION} at ${actionlint}" >&2
  exit 1
fi

mkdir -p "${bin_dir}"
GOBIN="${bin_dir}" go install "github.com/rhysd/actionlint/cmd/actionlint@v${ACTIONLINT_VERSION}"
"${actionlint}" -version
