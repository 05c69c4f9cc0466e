#!/usr/bin/env bash
# Everything the test suite needs beyond npm packages, installed idempotently:
# the shellcheck linter (Debian package) for the host scripts, the pinned LiteLLM proxy and mypy
# (PyPI, project-local venvs) for the router and its extension, actionlint (Go module) for the
# GitOps workflows, Chromium (Debian package) to screenshot the HTML report, OpenSSH server
# (Debian package) for the SSH test host, Prometheus, promtool, node exporter and Alertmanager
# (Debian packages) and a Prometheus with Kubernetes discovery (Go module) for the monitoring,
# the Kubernetes control plane (Go modules, Debian etcd) and the Pulumi CLI with the plugins
# buildable here (Go modules, ../shared/third_party) for the engine tests. Called by `npm test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The Pulumi CLI and the provider plugins buildable here (command and random from the source
# snapshots in ../shared/third_party); a plugin that cannot be built is recorded, not fatal: its
# tests skip with the reason (fail under HI_REQUIRE_ENGINE=1 when it is one CI must have).
# On a fresh machine this is the longest install (minutes of Go compilation: README, Tests), so
# it starts first, in the background, and the downloads and installs below overlap it. Once
# built it takes about 2 s.
#
# Its exit status is collected by `wait`, which under `set -e` ends this script (and so
# `npm test`) with that status: exit 1 when the CLI cannot be built or Go is missing. It runs in
# its own process group (set -m) so that, when an install below fails first, the trap stops the
# build and its go processes instead of leaving them running after `npm test` has failed.
set -m
bash "${here}/build-pulumi.sh" --allow-missing &
pulumi_build=$!
set +m
stop_pulumi_build() { kill -TERM -- "-${pulumi_build}" 2>/dev/null || true; }
trap stop_pulumi_build EXIT
trap 'stop_pulumi_build; exit 130' INT
trap 'stop_pulumi_build; exit 143' TERM
bash "${here}/install-shellcheck.sh"
bash "${here}/install-litellm.sh"
bash "${here}/install-mypy.sh"
bash "${here}/install-actionlint.sh"
bash "${here}/install-chromium.sh"
bash "${here}/install-sshd.sh"
bash "${here}/install-prometheus.sh" # promtool, Prometheus, node exporter and Alertmanager for test/monitoring
bash "${here}/build-prometheus.sh" # Prometheus with Kubernetes discovery (Go module) for the kubernetes target's monitoring
bash "${here}/build-kube.sh" # Kubernetes control plane (Go modules, Debian etcd) for test/kube-cluster
build_status=0
wait "$pulumi_build" || build_status=$?
trap - EXIT INT TERM
if ((build_status != 0)); then
  echo "[setup-test-tools] scripts/build-pulumi.sh failed with exit status ${build_status} (its output is above)" >&2
  exit "$build_status"
fi
