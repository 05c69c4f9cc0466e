#!/usr/bin/env bash
# hybrid-inference k3s bootstrap, step "k3s-firewall".
#
# Opens, in the ufw firewall the host bootstrap's firewall step set up (deny incoming, SSH from
# the admin CIDRs only), the ports k3s nodes use between each other, from the other nodes only
# (https://docs.k3s.io/installation/requirements#inbound-rules-for-k3s-nodes):
#   - 6443/tcp on the server: the k3s supervisor and Kubernetes API, from the agents and from
#     the admin CIDRs (Pulumi and kubectl reach the cluster there);
#   - 10250/tcp on every node: the kubelet, from the other nodes;
#   - the flannel port on every node, from the other nodes: 8472/udp for VXLAN over a private
#     network, 51820/udp for WireGuard when nodes talk over public addresses;
# and the pod and service networks, which k3s's documentation asks ufw users to allow
# ("ufw allow from 10.42.0.0/16 to any", "ufw allow from 10.43.0.0/16 to any").
# The router is reached through a LoadBalancer Service (ServiceLB), whose traffic is forwarded to
# pods rather than delivered to the host, and which restricts its sources itself
# (loadBalancerSourceRanges): no router port is opened here. The engines have no host port.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_K3S_ROLE           required. server or agent.
#   HI_K3S_PEERS          optional. Comma-separated addresses of the other nodes (empty for one node).
#   HI_ADMIN_CIDRS        server: required. CIDRs allowed to reach the API on 6443.
#   HI_K3S_FLANNEL_PORT   required. UDP port of the flannel backend (8472 VXLAN, 51820 WireGuard).
#   HI_K3S_CLUSTER_CIDRS  required. Comma-separated pod and service CIDRs (k3s: 10.42.0.0/16,10.43.0.0/16).
#   HI_ROOT               tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_K3S_ROLE=server HI_K3S_PEERS=10.0.0.2 HI_ADMIN_CIDRS=198.51.100.0/24 ... bash -s < k3s-firewall.sh
# Idempotent: rules already present are not re-added, and rules this step added on an earlier
# run that are no longer wanted (a node left the stack) are deleted. Rules of other steps stay.
STEP=k3s-firewall
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly STATE_FILE=/var/lib/hybrid-inference/k3s-firewall-rules
readonly API_PORT=6443
readonly KUBELET_PORT=10250

# Each entry of a comma-separated list as ufw prints it back (a single address without /32 or
# /128), from cidr_networks (common.sh); or its error line, and a failure.
networks() {
  local out
  out="$(cidr_networks "$1" "$2")" || {
    printf '%s\n' "$out"
    return 1
  }
  awk 'NF == 3 { print $3 }' <<<"$out"
}

validate() {
  local out
  require HI_K3S_ROLE "pass the node's role, HI_K3S_ROLE=server or HI_K3S_ROLE=agent"
  [[ "$HI_K3S_ROLE" == server || "$HI_K3S_ROLE" == agent ]] || die "HI_K3S_ROLE must be server or agent, got '$HI_K3S_ROLE'"
  require HI_K3S_FLANNEL_PORT "pass the flannel UDP port, e.g. HI_K3S_FLANNEL_PORT=8472"
  if ! [[ "$HI_K3S_FLANNEL_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || ((HI_K3S_FLANNEL_PORT > 65535)); then
    die "HI_K3S_FLANNEL_PORT must be a UDP port (1-65535), got '$HI_K3S_FLANNEL_PORT'"
  fi
  require HI_K3S_CLUSTER_CIDRS "pass the pod and service CIDRs, e.g. HI_K3S_CLUSTER_CIDRS=10.42.0.0/16,10.43.0.0/16"
  # networks runs in a command substitution: its failure only ends that subshell, hence "|| die".
  out="$(networks HI_K3S_CLUSTER_CIDRS "$HI_K3S_CLUSTER_CIDRS")" || die "$out"
  mapfile -t CLUSTER <<<"$out"
  PEERS=()
  if [[ -n "${HI_K3S_PEERS:-}" ]]; then
    out="$(networks HI_K3S_PEERS "$HI_K3S_PEERS")" || die "$out"
    mapfile -t PEERS <<<"$out"
  fi
  ADMIN=()
  if [[ "$HI_K3S_ROLE" == server ]]; then
    require HI_ADMIN_CIDRS "the server's API must be reachable by whoever runs Pulumi: pass HI_ADMIN_CIDRS=203.0.113.0/24"
    out="$(networks HI_ADMIN_CIDRS "$HI_ADMIN_CIDRS")" || die "$out"
    mapfile -t ADMIN <<<"$out"
  fi
}

# Rule specs as ufw takes them after "ufw", a tab, and what the rule is for.
desired_rules() {
  local net
  for net in "${PEERS[@]}"; do
    if [[ "$HI_K3S_ROLE" == server ]]; then printf 'allow from %s to any port %s proto tcp\tk3s api from node\n' "$net" "$API_PORT"; fi
    printf 'allow from %s to any port %s proto tcp\tkubelet\n' "$net" "$KUBELET_PORT"
    printf 'allow from %s to any port %s proto udp\tflannel\n' "$net" "$HI_K3S_FLANNEL_PORT"
  done
  for net in "${ADMIN[@]}"; do printf 'allow from %s to any port %s proto tcp\tk3s api from admin\n' "$net" "$API_PORT"; done
  for net in "${CLUSTER[@]}"; do printf 'allow from %s to any\tk3s pods and services\n' "$net"; done
}

main() {
  local added spec purpose words=() old
  validate
  command -v ufw >/dev/null 2>&1 || die "ufw is not installed: run the host bootstrap's firewall step first"
  added="$(ufw show added 2>/dev/null || true)"
  while IFS=$'\t' read -r spec purpose; do
    if grep -qE "^ufw ${spec//./\\.}( comment .*)?\$" <<<"$added"; then continue; fi
    read -ra words <<<"$spec"
    ufw "${words[@]}" comment "hybrid-inference $purpose" >/dev/null || die "ufw rejected the rule '$spec': see its message above"
    say "ufw: $spec ($purpose)"
  done < <(desired_rules)
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
  mkdir -p "$(dirname "$ROOT$STATE_FILE")"
  desired_rules | cut -f 1 >"$ROOT$STATE_FILE"
  say "k3s ports open to ${#PEERS[@]} other node(s)${ADMIN[0]:+, API to $(printf '%s ' "${ADMIN[@]}")}"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
