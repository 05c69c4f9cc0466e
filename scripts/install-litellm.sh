#!/usr/bin/env bash
# Install the pinned LiteLLM proxy into a project-local venv (.venv/litellm).
#
# The version comes from core/versions.json (litellm.pypiVersion), the single source of
# truth shared with the components that deploy ghcr.io/berriai/litellm:<litellm.tag>, so
# the proxy the tests run is the proxy that gets deployed.
#
# Besides litellm[proxy] it installs the `prisma` Python client (the library only: no
# `prisma generate`, no Node, no database). litellm lists it under its `extra-proxy` extra,
# not `proxy`, yet the proxy's auth error handler imports it: without it a request with no
# key crashes that handler and gets a 500 instead of a 401
# (litellm/proxy/auth/auth_exception_handler.py -> proxy/db/exception_handler.py).
#
# Idempotent: when the venv already holds exactly that spec (stamp file written after a
# successful install, re-checked against the installed distribution) it does nothing.
# pip's own cache (~/.cache/pip) makes a reinstall cheap.
#
# Needs: python3 3.10+ (the litellm wheel is cp310-abi3) with the venv module
# (Debian: apt-get install python3-venv), and PyPI reachable for the first install.
#
# Env:
#   LITELLM_VENV  venv directory (default: <repo>/.venv/litellm)
#   PYTHON        interpreter used to create the venv (default: python3)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
versions_file="${repo_root}/core/versions.json"
venv="${LITELLM_VENV:-${repo_root}/.venv/litellm}"
python="${PYTHON:-python3}"
stamp="${venv}/.litellm-version"
# Inside litellm 1.108.x's declared range (prisma>=0.11.0,<1.0).
prisma_spec="prisma==0.15.0"

if ! command -v "${python}" >/dev/null 2>&1; then
  echo "install-litellm: ${python} not found; install Python 3 (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi

# Read the pinned version as data: the file path is passed as an argument, never spliced
# into the Python source.
version="$("${python}" -c '
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    v = json.load(f)["litellm"]["pypiVersion"]
if not isinstance(v, str) or not v or v == "TBD":
    sys.exit("litellm.pypiVersion is not set in " + sys.argv[1])
print(v)
' "${versions_file}")"

installed_version() {
  # Prints the version of litellm installed in the venv, or nothing.
  "${venv}/bin/python" -c '
import importlib.metadata as m
try:
    print(m.version("litellm"))
except m.PackageNotFoundError:
    pass
' 2>/dev/null || true
}

spec="litellm[proxy]==${version} ${prisma_spec}"

if [[ -x "${venv}/bin/python" && -f "${stamp}" && "$(cat "${stamp}")" == "${spec}" \
      && -x "${venv}/bin/litellm" && "$(installed_version)" == "${version}" ]]; then
  echo "install-litellm: litellm ${version} already installed in ${venv#"${repo_root}/"}; nothing to do"
  exit 0
fi

if [[ ! -x "${venv}/bin/python" ]]; then
  mkdir -p "$(dirname "${venv}")"
  if ! "${python}" -m venv "${venv}" >/dev/null; then
    echo "install-litellm: '${python} -m venv' failed; on Debian install python3-venv" >&2
    exit 1
  fi
fi

rm -f "${stamp}"
log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
if ! "${venv}/bin/python" -m pip install --disable-pip-version-check \
      "litellm[proxy]==${version}" "${prisma_spec}" >"${log}" 2>&1; then
  cat "${log}" >&2
  echo "install-litellm: pip install litellm[proxy]==${version} failed (output above)" >&2
  exit 1
fi

got="$(installed_version)"
if [[ "${got}" != "${version}" ]]; then
  echo "install-litellm: expected litellm ${version} in ${venv}, found '${got}'" >&2
  exit 1
fi
printf '%s\n' "${spec}" >"${stamp}"
echo "install-litellm: installed litellm[proxy]==${version} (+ ${prisma_spec}) into ${venv#"${repo_root}/"}"
