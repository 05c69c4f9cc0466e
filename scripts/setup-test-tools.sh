#!/usr/bin/env bash
# Everything the test suite needs beyond npm packages, installed idempotently:
# the shellcheck linter (Debian package) for the host scripts, the pinned LiteLLM proxy
# (PyPI, project-local venv) for the router tests, actionlint (Go module) for the GitOps
# workflows, Chromium (Debian package) to screenshot the HTML report, OpenSSH server
# (Debian package) for the SSH test host and the Pulumi CLI (built from Go modules) for the
# engine tests. Called by `npm test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The Pulumi CLI and the provider plugins buildable here (command and random from the source
# snapshots in ../shared/third_party); a binary that cannot be built is recorded, not fatal: its
# tests skip with the reason (fail under HI_REQUIRE_ENGINE=1 when it is one CI must have).
# On a fresh machine this is the longest install (minutes of Go compilation: README, Tests), so
# it starts first, in the background, and the downloads and installs below overlap it; its
# status is collected at the end (it fails only when the CLI cannot be built). Once built it
# takes about 2 s.
bash "${here}/build-pulumi.sh" --allow-missing &
pulumi_build=$!
bash "${here}/install-shellcheck.sh"
bash "${here}/install-litellm.sh"
bash "${here}/install-actionlint.sh"
bash "${here}/install-chromium.sh"
bash "${here}/install-sshd.sh"
bash "${here}/build-kube.sh" # Kubernetes control plane (Go modules, Debian etcd) for test/kube-cluster
wait "$pulumi_build"
