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
  sed -n "s/^$1=//p" "$file" | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
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

