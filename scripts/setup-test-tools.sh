#!/usr/bin/env bash
# Everything the test suite needs beyond npm packages, installed idempotently:
# the shellcheck linter (Debian package) for the host scripts, the pinned LiteLLM proxy
# (PyPI, project-local venv) for the router tests, actionlint (Go module) for the GitOps
# workflows, Chromium (Debian package) to screenshot the HTML report, OpenSSH server
# (Debian package) for the SSH test host and the Pulumi CLI (built from Go modules) for the
# engine tests. Called by `npm test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "${here}/install-shellcheck.sh"
bash "${here}/install-litellm.sh"
bash "${here}/install-mypy.sh"
bash "${here}/install-actionlint.sh"
bash "${here}/install-chromium.sh"
bash "${here}/install-sshd.sh"
# The Pulumi CLI from Go modules; plugins the module proxy refuses are recorded, not fatal.
bash "${here}/build-pulumi.sh" --allow-missing
bash "${here}/build-kube.sh" # Kubernetes control plane (Go modules, Debian etcd) for test/kube-cluster
