#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "wireguard" (only on hosts of the engine tunnel).
#
# The router reaches an engine on another host over that host's address in this tunnel when
# the two share no private network, so prompts and the engine key never cross a public network
# in clear. WireGuard from Ubuntu's archive (wireguard-tools; the module is in every Ubuntu
# kernel since 5.6), run by wg-quick@<interface> (wg-quick(8)): the router host peers with each
# engine host, each engine host with the router host only.
#
# What it does, idempotently:
# - installs wireguard-tools when `wg` is missing;
# - writes /etc/wireguard/<interface>.conf (0600, root): the address, port and private key of
#   this host and one [Peer] per peer (its public key, its tunnel address as AllowedIPs, its
#   public endpoint, a 25 s keepalive so a NATed side stays reachable);
# - orders Docker after the tunnel (a systemd drop-in), because the engine's port is published
#   on the tunnel address, which must exist when Docker starts the container at boot;
# - enables wg-quick@<interface>; when the configuration changed on a running tunnel, applies
#   it with `wg syncconf` (peers and keys change without dropping the interface), or restarts
#   the unit when the address or port changed;
# - checks that the interface holds its address and lists every expected peer.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_WG_PRIVATE_KEY  required. This host's private key (base64, 32 bytes); the step's command
#                      reads it from the first line of stdin, never from a command line.
#   HI_WG_INTERFACE    required. Interface and wg-quick@ unit name, e.g. hi-engines.
#   HI_WG_ADDRESS      required. This host's tunnel address with the prefix, e.g. 10.213.0.2/24.
#   HI_WG_PORT         required. UDP port to listen on (the firewall step admits the peers).
#   HI_WG_PEERS        required. Comma-separated <host>=<tunnel address>=<public address>.
#   HI_WG_PEER_KEYS    required. Comma-separated <host>=<public key>, one for every peer.
#   HI_ROOT            tests only: prefix for every absolute path read or written.
STEP=wireguard
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly KEY_RE='^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$'
readonly IPV4_RE='^([0-9]{1,3}\.){3}[0-9]{1,3}$'
readonly KEEPALIVE_S=25
readonly WG_DIR=/etc/wireguard
readonly DOCKER_DROPIN=/etc/systemd/system/docker.service.d/50-hybrid-inference-tunnel.conf

is_port() { [[ "$1" =~ ^[1-9][0-9]{0,4}$ ]] && (($1 <= 65535)); }

validate() {
  require HI_WG_PRIVATE_KEY "the step's command reads this host's tunnel key from the first line of stdin"
  [[ "$HI_WG_PRIVATE_KEY" =~ $KEY_RE ]] || die "HI_WG_PRIVATE_KEY is not a WireGuard key (32 bytes, base64); its value is not shown"
  require HI_WG_INTERFACE "core/render/host-bootstrap.ts renders every variable of this step"
  [[ "$HI_WG_INTERFACE" =~ ^[A-Za-z0-9_=+.-]{1,15}$ ]] || die "HI_WG_INTERFACE must be 1-15 of A-Z a-z 0-9 _=+.-, got '$HI_WG_INTERFACE'"
  require HI_WG_ADDRESS "pass this host's tunnel address with its prefix, e.g. 10.213.0.2/24"
  [[ "${HI_WG_ADDRESS%/*}" =~ $IPV4_RE && "${HI_WG_ADDRESS#*/}" =~ ^[0-9]{1,2}$ && "$HI_WG_ADDRESS" == */* ]] ||
    die "HI_WG_ADDRESS must be an IPv4 address with its prefix, e.g. 10.213.0.2/24, got '$HI_WG_ADDRESS'"
  require HI_WG_PORT "pass the tunnel's UDP port, e.g. 51820"
  is_port "$HI_WG_PORT" || die "HI_WG_PORT must be a UDP port (1-65535), got '$HI_WG_PORT'"
  require HI_WG_PEERS "pass the peers as <host>=<tunnel address>=<public address>"
  require HI_WG_PEER_KEYS "pass each peer's public key as <host>=<key>"

  local item host key addr endpoint
  declare -gA PEER_KEY=()
  IFS=, read -ra items <<<"$HI_WG_PEER_KEYS"
  for item in "${items[@]}"; do
    host="${item%%=*}" key="${item#*=}"
    [[ "$host" =~ ^[a-z][a-z0-9-]*$ && "$key" =~ $KEY_RE ]] || die "HI_WG_PEER_KEYS: '$item' is not <host>=<WireGuard public key>"
    PEER_KEY[$host]="$key"
  done
  PEERS=()
  IFS=, read -ra items <<<"$HI_WG_PEERS"
  for item in "${items[@]}"; do
    IFS='=' read -r host addr endpoint <<<"$item"
    [[ "$host" =~ ^[a-z][a-z0-9-]*$ && "$addr" =~ $IPV4_RE && "$endpoint" =~ ^[A-Za-z0-9.:-]+$ ]] ||
      die "HI_WG_PEERS: '$item' is not <host>=<tunnel IPv4 address>=<public address>"
    [[ -n "${PEER_KEY[$host]:-}" ]] || die "HI_WG_PEER_KEYS has no public key for peer $host"
    PEERS+=("$host $addr $endpoint")
  done
  ((${#PEERS[@]} > 0)) || die "HI_WG_PEERS lists no peer"
}

# The endpoint as WireGuard takes it: an IPv6 literal in brackets.
endpoint_of() { if [[ "$1" == *:* ]]; then printf '[%s]:%s' "$1" "$HI_WG_PORT"; else printf '%s:%s' "$1" "$HI_WG_PORT"; fi; }

render_config() {
  local peer host addr endpoint
  printf '# Managed by hybrid-inference (bootstrap step "wireguard"): the engine tunnel. Edits are overwritten.\n'
  printf '[Interface]\nAddress = %s\nListenPort = %s\nPrivateKey = %s\n' "$HI_WG_ADDRESS" "$HI_WG_PORT" "$HI_WG_PRIVATE_KEY"
  for peer in "${PEERS[@]}"; do
    read -r host addr endpoint <<<"$peer"
    printf '\n[Peer]\n# %s\nPublicKey = %s\nAllowedIPs = %s/32\nEndpoint = %s\nPersistentKeepalive = %s\n' \
      "$host" "${PEER_KEY[$host]}" "$addr" "$(endpoint_of "$endpoint")" "$KEEPALIVE_S"
  done
}

# Writes $1 from stdin (mode $2) when it differs; prints "changed" when it did.
install_file() {
  local file=$1 mode=$2 tmp
  mkdir -p "$(dirname "$file")"
  tmp="$(umask 077 && mktemp "$file.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$file"
    echo changed
  fi
}

main() {
  validate
  local conf="$WG_DIR/$HI_WG_INTERFACE.conf" unit="wg-quick@$HI_WG_INTERFACE.service" changed dropin_changed old_line=""
  if ! command -v wg >/dev/null 2>&1 || ! command -v wg-quick >/dev/null 2>&1; then
    apt_install wireguard-tools || die "could not install wireguard-tools: see the apt output above"
  fi
  [[ -f "$ROOT$conf" ]] && old_line="$(grep -E '^(Address|ListenPort) = ' "$ROOT$conf" | sort | paste -sd ' ' -)"
  changed="$(render_config | install_file "$ROOT$conf" 0600)"
  # Docker publishes the engine on the tunnel address: start it after the tunnel is up.
  dropin_changed="$(printf '[Unit]\n# Written by the hybrid-inference wireguard step: the engine port is published on the tunnel address.\nWants=%s\nAfter=%s\n' "$unit" "$unit" |
    install_file "$ROOT$DOCKER_DROPIN" 0644)"
  if [[ -n "$dropin_changed" ]]; then
    systemctl daemon-reload || die "systemctl daemon-reload failed"
  fi
  systemctl enable "$unit" >/dev/null 2>&1 || die "could not enable $unit ('systemctl status $unit')"
  if ! ip link show dev "$HI_WG_INTERFACE" >/dev/null 2>&1; then
    systemctl start "$unit" || die "could not start $unit: see 'journalctl -u $unit' (is the wireguard module available? 'modprobe wireguard')"
    say "started the tunnel $HI_WG_INTERFACE"
  elif [[ -n "$changed" ]]; then
    if [[ "$old_line" != "$(grep -E '^(Address|ListenPort) = ' "$ROOT$conf" | sort | paste -sd ' ' -)" ]]; then
      systemctl restart "$unit" || die "could not restart $unit: see 'journalctl -u $unit'"
      say "restarted the tunnel $HI_WG_INTERFACE: its address or port changed"
    else
      wg syncconf "$HI_WG_INTERFACE" <(wg-quick strip "$HI_WG_INTERFACE") || die "wg syncconf $HI_WG_INTERFACE failed: see its message above"
      say "updated the tunnel's peers and keys without restarting it"
    fi
  fi
  # The tunnel as the kernel has it: the address, and every peer by its key.
  # grep reads all of ip's output (not -q): under pipefail a reader that stops early can fail the pipe.
  ip -4 -o addr show dev "$HI_WG_INTERFACE" | grep -F " ${HI_WG_ADDRESS} " >/dev/null ||
    die "the tunnel interface $HI_WG_INTERFACE does not hold $HI_WG_ADDRESS: see 'ip addr show $HI_WG_INTERFACE' and 'journalctl -u $unit'"
  local listed peer host
  listed="$(wg show "$HI_WG_INTERFACE" peers)" || die "wg show $HI_WG_INTERFACE failed: is the tunnel up? ('journalctl -u $unit')"
  for peer in "${PEERS[@]}"; do
    read -r host _ <<<"$peer"
    grep -qxF -- "${PEER_KEY[$host]}" <<<"$listed" || die "the tunnel $HI_WG_INTERFACE has no peer for $host: see 'wg show $HI_WG_INTERFACE'"
  done
  say "tunnel $HI_WG_INTERFACE up at $HI_WG_ADDRESS (udp :$HI_WG_PORT), peers: $(for peer in "${PEERS[@]}"; do read -r host addr _ <<<"$peer"; printf '%s ' "$host=$addr"; done)"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
