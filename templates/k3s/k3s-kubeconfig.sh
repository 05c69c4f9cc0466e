#!/usr/bin/env bash
# hybrid-inference k3s bootstrap, step "k3s-kubeconfig".
#
# Reads the cluster-admin kubeconfig k3s writes on the server (/etc/rancher/k3s/k3s.yaml, mode
# 0600 as the server step configures it: https://docs.k3s.io/cluster-access) and prints it on
# stdout, base64-encoded on one line:
#   HI_KUBECONFIG_B64=<base64>
# The component marks this step's stdout secret and turns logging off for it; it rewrites the
# server URL (k3s writes https://127.0.0.1:6443) to the server's address and hands the result to
# the Kubernetes provider. Nothing else reads a kubeconfig: no ~/.kube/config is written.
#
# Environment: none besides
#   HI_ROOT  tests only: prefix for every absolute path read or written.
#
# Usage: sudo bash -s < k3s-kubeconfig.sh
# Idempotent: reads only.
STEP=k3s-kubeconfig
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly KUBECONFIG_FILE=/etc/rancher/k3s/k3s.yaml

main() {
  local file="$ROOT$KUBECONFIG_FILE" encoded
  [[ -s "$file" ]] || die "$KUBECONFIG_FILE is missing or empty: the k3s server has not started; run the k3s-install step and see 'journalctl -u k3s'"
  grep -q '^kind: Config' "$file" || die "$KUBECONFIG_FILE is not a kubeconfig (no 'kind: Config' line)"
  encoded="$(base64 -w 0 <"$file")"
  printf 'HI_KUBECONFIG_B64=%s\n' "$encoded"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
