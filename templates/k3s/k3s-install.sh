#!/usr/bin/env bash
# hybrid-inference k3s bootstrap, step "k3s-install".
#
# Installs k3s at a pinned release and starts it as a server (the stack's first host) or an
# agent that joins it (every other host), on a host the GPU host bootstrap has already brought
# up and verified (NVIDIA driver, container toolkit, model cache, card check). Then waits until
# k3s's containerd has picked up the NVIDIA runtime, which k3s detects at start when
# nvidia-container-runtime is installed (https://docs.k3s.io/advanced#alternative-container-runtime-support),
# and, on the server, until the API server answers /readyz.
#
# The node's settings arrive as a complete k3s config file (HI_K3S_CONFIG, rendered by
# core/render/kubernetes/k3s-bootstrap.ts); this step adds only the two lines it owns: the path
# of the token file and, on an agent, the server URL. The join token is written to
# /etc/rancher/k3s/token (mode 0600) and referenced as `token-file`, so it never appears in
# the config, the systemd unit's environment or a process's argv
# (https://docs.k3s.io/installation/configuration#configuration-file).
# k3s itself comes from the release's own install.sh (HI_K3S_INSTALL_URL), run as
# `sh install.sh server|agent` with INSTALL_K3S_VERSION: it downloads that release's binary and
# checks it against the release's sha256sum file.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_K3S_ROLE         required. server or agent.
#   HI_K3S_VERSION      required. k3s release, e.g. v1.36.4+k3s1.
#   HI_K3S_CONFIG       required. The node's k3s config file (YAML), without token or server.
#   HI_K3S_NODE_NAME    required. The node's name (the config's node-name), for messages and checks.
#   HI_K3S_INSTALL_URL  required. https URL of the release's install.sh.
#   HI_K3S_SERVER_URL   agent: required. https://<server>:6443; an agent refuses to start without it.
#   HI_K3S_TOKEN        required. The cluster's join token. Secret: the component sends it as the
#                       first line of stdin (see renderSecretStepCommand), never on a command line.
#   HI_K3S_WAIT_S       optional, default 300. Seconds to wait for k3s to become ready.
#   HI_ROOT             tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_K3S_ROLE=server HI_K3S_VERSION=v1.36.4+k3s1 HI_K3S_CONFIG="$(cat config.yaml)" ... \
#          bash -c 'IFS= read -r HI_K3S_TOKEN && export HI_K3S_TOKEN && exec bash -s' < <(echo "$TOKEN"; cat k3s-install.sh)
# Idempotent: installs only when the running release differs, restarts only when the config or
# token changed.
STEP=k3s-install
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly CONFIG_FILE=/etc/rancher/k3s/config.yaml
readonly TOKEN_FILE=/etc/rancher/k3s/token
readonly CONTAINERD_CONFIG=/var/lib/rancher/k3s/agent/etc/containerd/config.toml

validate() {
  require HI_K3S_ROLE "pass the node's role, HI_K3S_ROLE=server or HI_K3S_ROLE=agent"
  [[ "$HI_K3S_ROLE" == server || "$HI_K3S_ROLE" == agent ]] || die "HI_K3S_ROLE must be server or agent, got '$HI_K3S_ROLE'"
  require HI_K3S_VERSION "pass the k3s release, e.g. HI_K3S_VERSION=v1.36.4+k3s1"
  [[ "$HI_K3S_VERSION" =~ ^v1\.[0-9]+\.[0-9]+\+k3s[0-9]+$ ]] || die "HI_K3S_VERSION must be a k3s release such as v1.36.4+k3s1, got '$HI_K3S_VERSION'"
  require HI_K3S_NODE_NAME "pass the node's name, e.g. HI_K3S_NODE_NAME=gpu-1"
  [[ "$HI_K3S_NODE_NAME" =~ ^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$ ]] || die "HI_K3S_NODE_NAME must be a Kubernetes node name, got '$HI_K3S_NODE_NAME'"
  require HI_K3S_CONFIG "pass the node's k3s config file as HI_K3S_CONFIG"
  if grep -Eq '^(token|token-file|agent-token|agent-token-file|server)[[:space:]]*:' <<<"$HI_K3S_CONFIG"; then
    die "HI_K3S_CONFIG sets the token or the server itself; this step writes those: remove them from the config"
  fi
  require HI_K3S_INSTALL_URL "pass the release's install script URL, e.g. HI_K3S_INSTALL_URL=https://raw.githubusercontent.com/k3s-io/k3s/v1.36.4%2Bk3s1/install.sh"
  [[ "$HI_K3S_INSTALL_URL" =~ ^https://[A-Za-z0-9./%+_-]+$ ]] || die "HI_K3S_INSTALL_URL must be an https URL, got '$HI_K3S_INSTALL_URL'"
  if [[ "$HI_K3S_ROLE" == agent ]]; then
    require HI_K3S_SERVER_URL "an agent joins a server: pass HI_K3S_SERVER_URL=https://<server address>:6443"
    [[ "$HI_K3S_SERVER_URL" =~ ^https://(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$ ]] ||
      die "HI_K3S_SERVER_URL must look like https://<server address>:6443, got '$HI_K3S_SERVER_URL'"
  fi
  require HI_K3S_TOKEN "the join token must arrive as the first line of stdin (HI_K3S_TOKEN); it was empty"
  ((${#HI_K3S_TOKEN} >= 16)) || die "HI_K3S_TOKEN is shorter than 16 characters: use the generated token"
  WAIT_S="${HI_K3S_WAIT_S:-300}"
  is_uint "$WAIT_S" || die "HI_K3S_WAIT_S must be a number of seconds, got '$WAIT_S'"
}

# Writes $2 to $1 (mode 0600) unless it already holds exactly that; sets CHANGED=1 when written.
write_private() {
  local file="$ROOT$1" content=$2 tmp
  if [[ -f "$file" ]] && [[ "$(cat "$file")" == "$content" ]]; then return 0; fi
  mkdir -p "$(dirname "$file")"
  tmp="$(mktemp "$file.XXXXXX")"
  chmod 0600 "$tmp"
  printf '%s\n' "$content" >"$tmp"
  mv -f "$tmp" "$file"
  CHANGED=1
  say "wrote $1"
}

desired_config() {
  printf '%s\n' "${HI_K3S_CONFIG%$'\n'}"
  printf '# Written by the hybrid-inference k3s-install step.\n'
  printf 'token-file: "%s"\n' "$TOKEN_FILE"
  if [[ "$HI_K3S_ROLE" == agent ]]; then printf 'server: "%s"\n' "$HI_K3S_SERVER_URL"; fi
}

installed_version() {
  command -v k3s >/dev/null 2>&1 || return 0
  { k3s --version 2>/dev/null || true; } | sed -nE 's/^k3s version (v[^ ]+).*/\1/p' | sed -n 1p
}

install_k3s() {
  local dir
  dir="$(mktemp -d)"
  if ! curl -fsSL --retry 3 "$HI_K3S_INSTALL_URL" -o "$dir/install.sh"; then
    rm -rf "$dir"
    die "could not download k3s's install script from $HI_K3S_INSTALL_URL: check the host reaches raw.githubusercontent.com and github.com over HTTPS"
  fi
  # The release's own installer: downloads the binary of INSTALL_K3S_VERSION, checks its sha256,
  # writes the systemd unit and starts it. Only the role is passed; the rest is the config file.
  if ! INSTALL_K3S_VERSION="$HI_K3S_VERSION" sh "$dir/install.sh" "$HI_K3S_ROLE"; then
    rm -rf "$dir"
    die "k3s's installer failed (see its output above); 'journalctl -u $UNIT' shows why k3s did not start"
  fi
  rm -rf "$dir"
  say "installed k3s $HI_K3S_VERSION as $HI_K3S_ROLE"
}

wait_ready() {
  local waited=0
  until grep -qs nvidia "$ROOT$CONTAINERD_CONFIG"; do
    if ((waited >= WAIT_S)); then
      if [[ -f "$ROOT$CONTAINERD_CONFIG" ]]; then
        die "k3s is running but its containerd has no nvidia runtime ($CONTAINERD_CONFIG): k3s looks for nvidia-container-runtime when it starts. Check 'command -v nvidia-container-runtime' (container-toolkit step), then 'systemctl restart $UNIT'"
      fi
      die "k3s did not write $CONTAINERD_CONFIG within ${WAIT_S}s: see 'systemctl status $UNIT' and 'journalctl -u $UNIT'${AGENT_HINT}"
    fi
    sleep 5
    waited=$((waited + 5))
  done
  if [[ "$HI_K3S_ROLE" == server ]]; then
    until [[ "$(k3s kubectl get --raw=/readyz 2>/dev/null || true)" == ok ]]; do
      ((waited < WAIT_S)) || die "the k3s API server did not become ready within ${WAIT_S}s: see 'k3s kubectl get --raw=/readyz?verbose' and 'journalctl -u k3s'"
      sleep 5
      waited=$((waited + 5))
    done
  fi
}

main() {
  local have
  validate
  UNIT=k3s
  AGENT_HINT=""
  if [[ "$HI_K3S_ROLE" == agent ]]; then
    UNIT=k3s-agent
    AGENT_HINT=" (an agent that cannot reach $HI_K3S_SERVER_URL, or presents a wrong token, waits forever)"
  fi
  CHANGED=0
  write_private "$TOKEN_FILE" "$HI_K3S_TOKEN"
  write_private "$CONFIG_FILE" "$(desired_config)"
  have="$(installed_version)"
  if [[ "$have" != "$HI_K3S_VERSION" ]]; then
    [[ -z "$have" ]] || say "k3s $have is installed; moving to $HI_K3S_VERSION"
    install_k3s
  elif [[ "$CHANGED" == 1 ]]; then
    systemctl restart "$UNIT" || die "systemctl restart $UNIT failed: see 'journalctl -u $UNIT'"
    say "restarted $UNIT for the new configuration"
  elif ! systemctl is-active --quiet "$UNIT"; then
    systemctl start "$UNIT" || die "systemctl start $UNIT failed: see 'journalctl -u $UNIT'"
    say "started $UNIT"
  else
    say "k3s $HI_K3S_VERSION already running as $HI_K3S_ROLE with this configuration"
  fi
  wait_ready
  say "node $HI_K3S_NODE_NAME: k3s $HI_K3S_VERSION $HI_K3S_ROLE ready; containerd has the nvidia runtime"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
