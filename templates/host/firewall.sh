#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "firewall".
#
# ufw: deny incoming, allow outgoing; SSH only from the admin CIDRs; the router port only from
# its allowed CIDRs (when this host runs the router); the engine port only from its allowed
# sources (engines on secondary hosts are reached by the router host only).
#
# Docker-published ports bypass ufw: Docker DNATs them in the nat table and accepts them in
# the FORWARD chain before ufw's rules are consulted. So the same restriction is also placed in
# Docker's DOCKER-USER chain, which Docker evaluates before its own rules and never flushes:
#   https://docs.docker.com/engine/network/packet-filtering-firewalls/
# After DNAT the destination port is the container's, so the rules match the port the client
# dialled with conntrack --ctorigdstport. They live in /etc/ufw/after.rules (after6.rules for
# IPv6) between "hybrid-inference" markers, so ufw re-creates them at every boot and reload.
#
# Never locks out SSH: the SSH rules go in before the default policy or ufw is enabled; an
# empty admin list is refused; and if this step runs inside SSH sessions none of which comes
# from an admin CIDR, it refuses rather than cut them off. CIDRs are validated (IPv4 and IPv6)
# with Python's ipaddress module (ufw itself is a Python 3 program, so python3 is present).
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_ADMIN_CIDRS             required. Comma-separated CIDRs (or addresses) allowed to SSH.
#   HI_SSH_PORT                optional, default 22. Port sshd listens on.
#   HI_ROUTER_PORT             optional. Published router port(s), comma-separated (the router's
#                              port, or 80,443 for its TLS edge); empty = no router on this host.
#   HI_ROUTER_ALLOWED_CIDRS    required when HI_ROUTER_PORT is set (0.0.0.0/0,::/0 = public).
#   HI_ENGINE_PORT             optional. Engine port published for another host's router;
#                              empty = the engine is not published.
#   HI_ENGINE_ALLOWED_SOURCES  required when HI_ENGINE_PORT is set (the router host's address).
#   HI_ROOT                    tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_ADMIN_CIDRS=203.0.113.0/24 HI_ROUTER_PORT=4000 ... bash -s < firewall.sh
# Idempotent: rules already present are not re-added, ufw reloads only when the DOCKER-USER
# block changed, and rules this step added earlier but no longer wants are deleted.
STEP=firewall
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly STATE_FILE=/var/lib/hybrid-inference/firewall-rules
readonly BLOCK_BEGIN='# BEGIN hybrid-inference docker-user'
readonly BLOCK_END='# END hybrid-inference docker-user'
readonly CHAIN=HI-DOCKER-USER

# No leading zeros: bash would read them as octal, and ufw/iptables should see the plain number.
is_port() { [[ "$1" =~ ^[1-9][0-9]{0,4}$ ]] && (($1 <= 65535)); }

# Prints the SSH peers (from `ss`) that fall inside none of the given networks.
uncovered_peers() {
  python3 - "$@" <<'PY'
import ipaddress, sys

args = sys.argv[1:]
split = args.index("--")
nets = [ipaddress.ip_network(n) for n in args[:split]]
for peer in args[split + 1:]:
    host = peer.rsplit(":", 1)[0].strip("[]")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        continue
    if addr.version == 6 and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    if not any(addr.version == n.version and addr in n for n in nets):
        print(host)
PY
}

parse_list() {
  local name=$1 raw=$2 out
  out="$(cidr_networks "$name" "$raw")" || die "$out"
  [[ -n "$out" ]] || die "$name lists no CIDR (got '$raw')"
  printf '%s\n' "$out"
}

validate() {
  local out
  require HI_ADMIN_CIDRS "pass the CIDRs allowed to SSH in, e.g. HI_ADMIN_CIDRS=203.0.113.0/24; refusing to enable a firewall with no SSH access"
  SSH_PORT="${HI_SSH_PORT:-22}"
  is_port "$SSH_PORT" || die "HI_SSH_PORT must be a TCP port (1-65535), got '$SSH_PORT'"
  # parse_list runs in a command substitution: its die only ends that subshell, hence "|| exit".
  out="$(parse_list HI_ADMIN_CIDRS "$HI_ADMIN_CIDRS")" || exit 1
  mapfile -t ADMIN <<<"$out"
  ROUTER_PORT="${HI_ROUTER_PORT:-}"
  ROUTER=()
  ROUTER_PORTS=()
  if [[ -n "$ROUTER_PORT" ]]; then
    IFS=, read -ra ROUTER_PORTS <<<"$ROUTER_PORT"
    local p
    for p in "${ROUTER_PORTS[@]}"; do
      is_port "$p" || die "HI_ROUTER_PORT must be TCP ports (1-65535), comma-separated, or empty, got '$ROUTER_PORT'"
      [[ "$p" != "${HI_ENGINE_PORT:-}" ]] || die "HI_ROUTER_PORT and HI_ENGINE_PORT both include $p: give them different ports"
      [[ "$p" != "$SSH_PORT" ]] || die "the router/engine port equals the SSH port $SSH_PORT: give them different ports"
    done
    require HI_ROUTER_ALLOWED_CIDRS "HI_ROUTER_PORT=$ROUTER_PORT is set, so pass who may reach it, e.g. HI_ROUTER_ALLOWED_CIDRS=0.0.0.0/0,::/0 for a public router"
    out="$(parse_list HI_ROUTER_ALLOWED_CIDRS "$HI_ROUTER_ALLOWED_CIDRS")" || exit 1
    mapfile -t ROUTER <<<"$out"
  fi
  ENGINE_PORT="${HI_ENGINE_PORT:-}"
  ENGINE=()
  if [[ -n "$ENGINE_PORT" ]]; then
    is_port "$ENGINE_PORT" || die "HI_ENGINE_PORT must be a TCP port (1-65535) or empty, got '$ENGINE_PORT'"
    require HI_ENGINE_ALLOWED_SOURCES "HI_ENGINE_PORT=$ENGINE_PORT is set, so pass the router host's address, e.g. HI_ENGINE_ALLOWED_SOURCES=198.51.100.7"
    out="$(parse_list HI_ENGINE_ALLOWED_SOURCES "$HI_ENGINE_ALLOWED_SOURCES")" || exit 1
    mapfile -t ENGINE <<<"$out"
  fi
  if [[ "$ENGINE_PORT" == "$SSH_PORT" ]]; then
    die "the router/engine port equals the SSH port $SSH_PORT: give them different ports"
  fi
}

# The "<network/prefix>" field of cidr_networks lines.
nets_of() { printf '%s\n' "$@" | awk 'NF == 3 { print $2 }'; }

refuse_lockout() {
  local peers=() uncovered admin_nets
  mapfile -t peers < <(ss -Htn state established "( sport = :$SSH_PORT )" 2>/dev/null | awk '{ print $4 }' || true)
  ((${#peers[@]} > 0)) || return 0
  mapfile -t admin_nets < <(nets_of "${ADMIN[@]}")
  uncovered="$(uncovered_peers "${admin_nets[@]}" -- "${peers[@]}")"
  if [[ "$(grep -c . <<<"$uncovered")" == "${#peers[@]}" ]]; then
    die "no open SSH session comes from HI_ADMIN_CIDRS ($(tr '\n' ' ' <<<"$uncovered")is connected; allowed: $(nets_of "${ADMIN[@]}" | tr '\n' ' ')). Enabling the firewall would lock you out: add your address (or your bastion's) to adminCidrs"
  fi
}

# Rule specs as ufw takes them after "ufw"; also the lines of the state file.
desired_rules() {
  local net
  while read -r net; do printf 'allow from %s to any port %s proto tcp\tssh\n' "$net" "$SSH_PORT"; done < <(nets_of "${ADMIN[@]}")
  local port
  for port in "${ROUTER_PORTS[@]}"; do
    while read -r net; do printf 'allow from %s to any port %s proto tcp\trouter\n' "$net" "$port"; done < <(nets_of "${ROUTER[@]}")
  done
  if [[ -n "$ENGINE_PORT" ]]; then
    while read -r net; do printf 'allow from %s to any port %s proto tcp\tengine\n' "$net" "$ENGINE_PORT"; done < <(nets_of "${ENGINE[@]}")
  fi
}

apply_rules() {
  local added spec purpose words=() old
  added="$(ufw show added 2>/dev/null || true)"
  # SSH rules first (desired_rules lists them first): the default policy and ufw itself are
  # switched on only after they exist.
  while IFS=$'\t' read -r spec purpose; do
    if grep -qE "^ufw ${spec//./\\.}( comment .*)?\$" <<<"$added"; then continue; fi
    read -ra words <<<"$spec"
    ufw "${words[@]}" comment "hybrid-inference $purpose" >/dev/null ||
      die "ufw rejected the rule '$spec': see its message above"
    say "ufw: $spec ($purpose)"
  done < <(desired_rules)
  # Rules this step added on an earlier run that the stack no longer asks for.
  if [[ -f "$ROOT$STATE_FILE" ]]; then
    while read -r old; do
      [[ -n "$old" ]] || continue
      if ! desired_rules | cut -f 1 | grep -xF -- "$old" >/dev/null; then
        read -ra words <<<"$old"
        ufw delete "${words[@]}" >/dev/null || die "could not delete the stale rule '$old' (ufw delete $old)"
        say "ufw: removed stale rule '$old'"
      fi
    done <"$ROOT$STATE_FILE"
  fi
  # SSH open to the world (cloud images often ship "allow OpenSSH") would defeat the admin list.
  while read -r spec; do
    read -ra words <<<"$spec"
    ufw delete "${words[@]}" >/dev/null || die "could not delete the open SSH rule '$spec'"
    say "ufw: removed '$spec' (SSH is allowed from HI_ADMIN_CIDRS only)"
  done < <(sed -nE "s/^ufw ((allow|limit) (${SSH_PORT}|${SSH_PORT}\/tcp|OpenSSH|ssh|ssh\/tcp|SSH))( comment .*)?\$/\1/p" <<<"$added")
}

ensure_defaults() {
  local conf="$ROOT/etc/default/ufw"
  if ! grep -qx 'DEFAULT_INPUT_POLICY="DROP"' "$conf" 2>/dev/null; then
    ufw default deny incoming >/dev/null || die "ufw default deny incoming failed"
    say "ufw: default deny incoming"
  fi
  if ! grep -qx 'DEFAULT_OUTPUT_POLICY="ACCEPT"' "$conf" 2>/dev/null; then
    ufw default allow outgoing >/dev/null || die "ufw default allow outgoing failed"
    say "ufw: default allow outgoing"
  fi
}

# The DOCKER-USER block for one address family (4 or 6), in iptables-restore syntax.
docker_user_block() {
  local family=$1 port list net
  printf '%s\n' "$BLOCK_BEGIN"
  printf '# Managed by the hybrid-inference firewall step; edits between these markers are overwritten.\n'
  printf '*filter\n:DOCKER-USER - [0:0]\n:%s - [0:0]\n-A DOCKER-USER -j %s\n' "$CHAIN" "$CHAIN"
  # Traffic from containers (replies, router-to-engine on the private network) is not the
  # outside world reaching a published port. docker0 and br-<id> are the bridges Docker
  # creates; a host whose own uplink is a bridge named br-* would need these narrowed.
  printf -- '-A %s -i docker0 -j RETURN\n-A %s -i br-+ -j RETURN\n' "$CHAIN" "$CHAIN"
  for port in "${ROUTER_PORTS[@]}" "$ENGINE_PORT"; do
    [[ -n "$port" ]] || continue
    if [[ "$port" != "$ENGINE_PORT" ]]; then list=("${ROUTER[@]}"); else list=("${ENGINE[@]}"); fi
    while read -r net; do
      printf -- '-A %s -p tcp -m conntrack --ctorigdstport %s --ctdir ORIGINAL -s %s -j RETURN\n' "$CHAIN" "$port" "$net"
    done < <(printf '%s\n' "${list[@]}" | awk -v f="$family" '$1 == f { print $2 }')
    printf -- '-A %s -p tcp -m conntrack --ctorigdstport %s --ctdir ORIGINAL -j DROP\n' "$CHAIN" "$port"
  done
  printf 'COMMIT\n%s\n' "$BLOCK_END"
}

# Replaces the managed block in a ufw rules file; sets BLOCKS_CHANGED=1 when the file changed.
write_block() {
  local file=$1 family=$2 tmp
  [[ -f "$file" ]] || die "$file is missing: reinstall ufw ('apt-get install --reinstall ufw') and re-run"
  tmp="$(mktemp "$file.XXXXXX")"
  awk -v begin="$BLOCK_BEGIN" -v end="$BLOCK_END" '
    $0 == begin { skip = 1; next }
    $0 == end { skip = 0; next }
    !skip { print }' "$file" >"$tmp"
  docker_user_block "$family" >>"$tmp"
  if cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
  else
    chmod 0640 "$tmp"
    mv -f "$tmp" "$file"
    BLOCKS_CHANGED=1
    say "updated the DOCKER-USER rules in $file"
  fi
}

main() {
  local status
  validate
  if ! command -v ufw >/dev/null 2>&1; then
    apt_install ufw || die "could not install ufw: see the apt output above"
  fi
  refuse_lockout
  apply_rules
  ensure_defaults
  BLOCKS_CHANGED=0
  write_block "$ROOT/etc/ufw/after.rules" 4
  write_block "$ROOT/etc/ufw/after6.rules" 6
  status="$(ufw status 2>/dev/null || true)"
  if [[ "$status" != *"Status: active"* ]]; then
    ufw --force enable >/dev/null || die "ufw enable failed: see its message above ('ufw status verbose')"
    say "ufw enabled"
  elif [[ "$BLOCKS_CHANGED" == 1 ]]; then
    ufw reload >/dev/null || die "ufw reload failed: check the hybrid-inference block in /etc/ufw/after.rules"
    say "ufw reloaded"
  fi
  if [[ -n "$ROUTER_PORT$ENGINE_PORT" ]]; then
    iptables -C DOCKER-USER -j "$CHAIN" 2>/dev/null ||
      die "ufw is active but DOCKER-USER does not jump to $CHAIN, so published ports are not restricted: run 'ufw reload' and check 'iptables -S DOCKER-USER'"
  fi
  mkdir -p "$(dirname "$ROOT$STATE_FILE")"
  desired_rules | cut -f 1 >"$ROOT$STATE_FILE"
  say "firewall in place: SSH :$SSH_PORT from $(nets_of "${ADMIN[@]}" | paste -sd ' ' -)${ROUTER_PORT:+; router :$ROUTER_PORT}${ENGINE_PORT:+; engine :$ENGINE_PORT}"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
