#!/usr/bin/env bash
# Installs Prometheus with promtool (Debian package "prometheus", 2.42 on Debian 12), the node
# exporter ("prometheus-node-exporter", 1.5) and Alertmanager with amtool ("prometheus-alertmanager",
# 0.25) for test/monitoring: promtool checks the rendered config and rules and runs the rendered rule
# unit tests, amtool checks an Alertmanager config as the stack's secret holds it; the tests start
# their own Prometheus, node exporter and Alertmanager on 127.0.0.1, on free ports, with their data
# in a temp directory.
#
# The packages' own services are NOT started (scripts/lib/apt-install.sh denies service starts for
# the duration of the install), so nothing listens on 9090, 9093 or 9100 because of this script.
# It also installs Python's prometheus_client (PyPI) into .venv/prometheus-client, outside the
# shared LiteLLM venv: LiteLLM 1.108.7 declares it only in its `proxy-runtime` extra (which its
# Docker image installs, `litellm[proxy]` does not), and its Prometheus callback and
# --prometheus_metrics_port need it. The tests put that directory on the proxy's PYTHONPATH.
# Idempotent: does nothing when prometheus, promtool, prometheus-node-exporter, the Alertmanager
# with amtool and the pinned prometheus_client are on disk.
# Debian/Ubuntu only (CI runs Debian 12 as root); uses sudo when not root.
set -euo pipefail

say() { printf '[install-prometheus] %s\n' "$*"; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/apt-install.sh
source "${here}/lib/apt-install.sh"

repo_root="$(cd "${here}/.." && pwd)"
# The newest release inside litellm 1.108.7's bound (prometheus-client>=0.20.0,<1.0) on 2026-11-30.
readonly PROMETHEUS_CLIENT="prometheus-client==0.26.0"
client_dir="${repo_root}/.venv/prometheus-client"
litellm_python="${LITELLM_VENV:-${repo_root}/.venv/litellm}/bin/python"

install_client() {
  local stamp="${client_dir}/.spec"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$PROMETHEUS_CLIENT" ]]; then
    say "${PROMETHEUS_CLIENT} already in ${client_dir#"${repo_root}/"}"
    return 0
  fi
  [[ -x "$litellm_python" ]] || { say "no LiteLLM venv at ${litellm_python%/bin/python}: run scripts/install-litellm.sh first" >&2; return 1; }
  rm -rf "$client_dir"
  "$litellm_python" -m pip install -q --disable-pip-version-check --no-deps --target "$client_dir" "$PROMETHEUS_CLIENT"
  printf '%s\n' "$PROMETHEUS_CLIENT" >"${client_dir}/.spec"
  say "installed ${PROMETHEUS_CLIENT} into ${client_dir#"${repo_root}/"}"
}

have() { [[ -x /usr/bin/prometheus && -x /usr/bin/promtool && -x /usr/bin/prometheus-node-exporter && -x /usr/bin/prometheus-alertmanager && -x /usr/bin/amtool ]]; }

install_client
if have; then
  say "already installed ($(/usr/bin/prometheus --version 2>&1 | sed -n 1p); $(/usr/bin/prometheus-node-exporter --version 2>&1 | sed -n 1p))"
  exit 0
fi
hi_apt_install prometheus prometheus-node-exporter prometheus-alertmanager || exit 1
have || { say "the packages installed but /usr/bin/prometheus, promtool, prometheus-node-exporter, prometheus-alertmanager or amtool is missing" >&2; exit 1; }
# A package that started its service anyway (no policy-rc.d honoured) would hold 9090/9100: say so.
say "installed $(/usr/bin/prometheus --version 2>&1 | sed -n 1p) (services not started; the tests run their own on 127.0.0.1)"
