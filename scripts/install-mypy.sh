#!/usr/bin/env bash
# Install mypy (pinned) into a project-local venv (.venv/mypy), to type-check the router
# extension (templates/router/hybrid_router) against the pinned LiteLLM's own types: the
# test runs mypy with --python-executable pointing at .venv/litellm, so mypy resolves
# litellm, httpx and fastapi from there and nothing is added to the proxy's venv.
#
# Idempotent: a stamp file records the installed spec; nothing happens when it matches.
#
# Env:
#   MYPY_VENV  venv directory (default: <repo>/.venv/mypy)
#   PYTHON     interpreter used to create the venv (default: python3)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MYPY_VENV:-${repo_root}/.venv/mypy}"
python="${PYTHON:-python3}"
spec="mypy==2.4.1"
stamp="${venv}/.mypy-version"

if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${spec}" && -x "${venv}/bin/mypy" ]]; then
  exit 0
fi
if ! command -v "${python}" >/dev/null 2>&1; then
  echo "install-mypy: ${python} not found; install Python 3 (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi
rm -rf "${venv}"
"${python}" -m venv "${venv}"
"${venv}/bin/pip" install --quiet --disable-pip-version-check "${spec}"
printf '%s' "${spec}" > "${stamp}"
echo "install-mypy: ${spec} in ${venv}"
