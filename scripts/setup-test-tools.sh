#!/usr/bin/env bash
# Everything the test suite needs beyond npm packages, installed idempotently:
# the shellcheck linter (Debian package) for the host scripts, and the pinned LiteLLM proxy
# (PyPI, project-local venv) for the router tests, actionlint (Go module) for the GitOps
# workflows. Called by `npm test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "${here}/install-shellcheck.sh"
bash "${here}/install-litellm.sh"
bash "${here}/install-actionlint.sh"
