# hybrid-inference: helpers shared by every step script (templates/host, templates/engine,
# templates/k3s). Step scripts run over `bash -s` or from cloud-init, self-contained, so
# they cannot source a file: core/render/script.ts inlines this file where a script has its
# `# @include common.sh` line. Expects STEP to be set before the include.
# shellcheck shell=bash
set -euo pipefail
set -o errtrace
umask 022
export LC_ALL=C
# Tests point HI_ROOT at a scratch directory that stands in for "/"; on a host it is unset.
ROOT="${HI_ROOT:-}"
if [[ -n "$ROOT" && "$ROOT" != /* ]]; then
  printf '[hybrid-inference:%s] HI_ROOT must be unset or an absolute path\n' "$STEP" >&2
  exit 2
fi

# Every line carries "[hybrid-inference:<step>]" so the Pulumi log and the cloud-init journal
# say which step spoke; failures go to stderr.
say() { printf '[hybrid-inference:%s] %s\n' "$STEP" "$*"; }
fail() { printf '[hybrid-inference:%s] %s\n' "$STEP" "$*" >&2; }
die() {
  fail "$@"
  exit 1
}
# A command failing outside an explicit check still gets a prefixed message naming it, so a
# bare "exit 100" from apt never reaches the user without context.
on_err() {
  # Subshells inherit the trap (errtrace): only the top-level shell reports.
  if [[ "$BASHPID" == "$$" ]]; then
    fail "unexpected failure (exit $1) at line $2 running: $3. Fix the cause reported above and re-run this step; it is safe to re-run."
  fi
  exit "$1"
}
trap 'on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR

is_uint() { [[ "$1" =~ ^[0-9]{1,9}$ ]]; }
require() {
  [[ -n "${!1:-}" ]] || die "$1 is not set: $2"
}
pkg_installed() {
  local status
  # shellcheck disable=SC2016 # ${db:Status-Abbrev} is a dpkg-query field, not a shell expansion
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == ii* ]]
}
APT_FRESH=0
apt_get() {
  # The lock timeout matters on first boot, when unattended-upgrades holds the dpkg lock for
  # minutes; confold keeps any config file an operator already edited.
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
apt_install() {
  if [[ "$APT_FRESH" == 0 ]]; then
    apt_get update || return 1
    APT_FRESH=1
  fi
  apt_get install --no-install-recommends "$@"
}
os_release() {
  local file="$ROOT/etc/os-release"
  [[ -r "$file" ]] || return 1
  sed -n "s/^$1=//p" "$file" | sed -n 1p | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}

# Reads a comma-separated list of IPv4/IPv6 addresses and CIDR blocks (host bits not allowed,
# as Python's ipaddress.ip_network(strict=True) reads them) and prints one line per distinct
# network: "<4|6> <network/prefix> <address as ufw prints a single host, else network/prefix>".
# On any bad entry prints one error line naming every bad entry and fails. The one CIDR rule of
# the host scripts (the planner applies the same rule, core/net/address.ts cidrProblem).
cidr_networks() {
  python3 - "$1" "$2" <<'PY'
import ipaddress, sys

name, raw = sys.argv[1], sys.argv[2]
out, errors = [], []
for item in (part.strip() for part in raw.split(",")):
    if not item:
        continue
    try:
        if any(ch.isspace() or ch == "%" for ch in item):
            raise ValueError("spaces and zone indices are not allowed")
        net = ipaddress.ip_network(item, strict=True)
    except ValueError as err:
        errors.append(f"{name}: {item!r} is not a valid IPv4/IPv6 address or CIDR ({err})")
        continue
    single = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
    line = f"{net.version} {net} {single}"
    if line not in out:
        out.append(line)
if errors:
    print("; ".join(errors))
    sys.exit(1)
print("\n".join(out))
PY
}


# ---- the driver's CUDA version against an engine image's (verify-gpus, prefetch-weights) ----

# The CUDA version the installed driver supports, as nvidia-smi prints it in its table header
# ("CUDA Version: 13.0"); nothing when it prints none.
driver_cuda_version() {
  { nvidia-smi 2>/dev/null || true; } | sed -nE 's/.*CUDA Version: *([0-9]+(\.[0-9]+)*).*/\1/p' | sed -n 1p
}

# 0 when version $1 (major[.minor[.patch]]) is below version $2, compared numerically.
version_lt() {
  local IFS=. i a=() b=()
  read -ra a <<<"$1"
  read -ra b <<<"$2"
  for i in 0 1 2; do
    if ((10#${a[i]:-0} != 10#${b[i]:-0})); then
      ((10#${a[i]:-0} < 10#${b[i]:-0}))
      return
    fi
  done
  return 1
}

# The CUDA version an image's NVIDIA_REQUIRE_CUDA asks for: its "cuda>=X.Y" term (the
# container toolkit's syntax: space-separated alternatives, comma-joined conditions). The
# "brand=…,driver>=…" alternatives next to it are forward compatibility for data-centre
# cards with the cuda-compat package, which GeForce cards cannot use, so they are not read.
cuda_required() {
  grep -oE '(^|[[:space:]])cuda>=[0-9]+(\.[0-9]+)*' <<<"$1" | sed -n 1p | sed -E 's/.*cuda>=//' || true
}

# One line saying why image $1 (whose NVIDIA_REQUIRE_CUDA is $2) cannot run on a driver
# (version $3) that supports CUDA $4; nothing when it can, or when there is nothing to compare.
cuda_requirement_problem() {
  local image=$1 requirement=$2 driver=$3 have=$4 need
  need="$(cuda_required "$requirement")"
  [[ -n "$need" && -n "$have" ]] || return 0
  if version_lt "$have" "$need"; then
    printf '%s\n' "CUDA: the engine image $image requires CUDA >= $need (NVIDIA_REQUIRE_CUDA=${requirement%% *}), but the installed NVIDIA driver ${driver:-?} supports CUDA $have at most, so Docker would refuse to start it ('unsatisfied condition: cuda>=$need'). Raise driver.branch in the stack to a branch that supports CUDA $need (580 or later for CUDA 13), or pin an engine image built for CUDA $have or older (engine.version)"
  fi
}
