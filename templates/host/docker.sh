#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "docker".
#
# Installs Docker Engine from Docker's apt repository (Ubuntu's docker.io lags behind and is
# not what Docker documents), following "Install using the apt repository":
#   https://docs.docker.com/engine/install/ubuntu/
# then registers the NVIDIA runtime with 'nvidia-ctk runtime configure --runtime=docker'
#   https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html#configuring-docker
# merges json-file log rotation defaults into /etc/docker/daemon.json without touching the
# runtime entry, restarts Docker only when daemon.json changed, enables it at boot, and adds
# the SSH user to the docker group: the Pulumi Docker provider connects as that user over SSH
# and runs 'docker system dial-stdio', which needs the socket.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_SSH_USER  required. Login the Docker provider uses over SSH (an existing user).
#   HI_ROOT      tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_SSH_USER=ubuntu bash -s < docker.sh
# Idempotent: installs only what is missing; daemon.json is rewritten only when its merged
# content differs, and Docker restarts only then.
STEP=docker
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly DOCKER_KEY_URL=https://download.docker.com/linux/ubuntu/gpg
readonly DOCKER_KEYRING=/etc/apt/keyrings/docker.asc
readonly DOCKER_LIST=/etc/apt/sources.list.d/docker.list
readonly DAEMON_JSON=/etc/docker/daemon.json
# Container logs rotate at 50 MiB x 5 files: vLLM logs every request, and Docker's default
# json-file log grows without bound until the disk holding /var/lib/docker is full.
readonly LOG_MAX_SIZE=50m
readonly LOG_MAX_FILE=5

validate() {
  require HI_SSH_USER "pass the SSH login the Docker provider uses, e.g. HI_SSH_USER=ubuntu"
  [[ "$HI_SSH_USER" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] ||
    die "HI_SSH_USER must be a Linux user name (lower case letters, digits, '_' or '-'), got '$HI_SSH_USER'"
}

install_docker() {
  local missing=() pkg arch codename line tmp
  if pkg_installed docker-ce; then
    say "Docker Engine already installed"
    return 0
  fi
  for pkg in ca-certificates curl; do pkg_installed "$pkg" || missing+=("$pkg"); done
  if ((${#missing[@]} > 0)); then
    apt_install "${missing[@]}" || die "could not install ${missing[*]} (needed to add Docker's repository): see the apt output above"
  fi
  if [[ ! -s "$ROOT$DOCKER_KEYRING" ]]; then
    install -m 0755 -d "$ROOT/etc/apt/keyrings"
    tmp="$(mktemp "$ROOT$DOCKER_KEYRING.XXXXXX")"
    curl -fsSL --retry 3 "$DOCKER_KEY_URL" -o "$tmp" || {
      rm -f "$tmp"
      die "could not download Docker's repository key from $DOCKER_KEY_URL: check the host reaches download.docker.com over HTTPS"
    }
    chmod 0644 "$tmp"
    mv -f "$tmp" "$ROOT$DOCKER_KEYRING"
  fi
  arch="$(dpkg --print-architecture)"
  codename="$(os_release UBUNTU_CODENAME || true)"
  [[ -n "$codename" ]] || codename="$(os_release VERSION_CODENAME || true)"
  [[ "$arch" =~ ^[a-z0-9]+$ ]] || die "unexpected architecture '$arch' from dpkg --print-architecture"
  [[ "$codename" =~ ^[a-z]+$ ]] || die "cannot tell the Ubuntu codename from $ROOT/etc/os-release (got '$codename'): run the preflight step first"
  line="deb [arch=$arch signed-by=$DOCKER_KEYRING] https://download.docker.com/linux/ubuntu $codename stable"
  if [[ "$(cat "$ROOT$DOCKER_LIST" 2>/dev/null || true)" != "$line" ]]; then
    mkdir -p "$(dirname "$ROOT$DOCKER_LIST")"
    printf '%s\n' "$line" >"$ROOT$DOCKER_LIST"
    APT_FRESH=0
  fi
  # Docker's guide removes distro packages that conflict; apt does so itself for these three
  # (docker-ce declares the conflicts), so no separate removal pass is needed.
  apt_install docker-ce docker-ce-cli containerd.io ||
    die "installing docker-ce failed: see the apt output above; check $DOCKER_LIST and that the host reaches download.docker.com"
  say "installed Docker Engine"
}

digest() {
  if [[ -f "$1" ]]; then sha256sum <"$1" | cut -d ' ' -f 1; else printf 'absent\n'; fi
}

merge_log_defaults() {
  # python3 is always present where ufw and cloud-init are (both are Python programs); it
  # edits the JSON as data instead of text, so the nvidia runtime entry survives untouched.
  python3 - "$1" "$LOG_MAX_SIZE" "$LOG_MAX_FILE" <<'PY'
import json, os, sys

path, max_size, max_file = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
except FileNotFoundError:
    text = ""
try:
    config = json.loads(text) if text.strip() else {}
except ValueError as err:
    sys.exit(f"{path} is not valid JSON ({err}); fix or remove it and re-run")
if not isinstance(config, dict):
    sys.exit(f"{path} must hold a JSON object")
driver = config.get("log-driver")
if driver in (None, "json-file"):
    config["log-driver"] = "json-file"
    opts = config.get("log-opts")
    opts = dict(opts) if isinstance(opts, dict) else {}
    opts["max-size"] = max_size
    opts["max-file"] = max_file
    config["log-opts"] = opts
else:
    print(f"log-driver is {driver!r}; leaving log settings as configured", file=sys.stderr)
new_text = json.dumps(config, indent=2, sort_keys=True) + "\n"
if new_text != text:
    tmp = path + ".hybrid-inference.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(new_text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
PY
}

configure_daemon() {
  local file="$ROOT$DAEMON_JSON" before after
  command -v nvidia-ctk >/dev/null 2>&1 || die "nvidia-ctk not found: run the container-toolkit step before this one"
  mkdir -p "$(dirname "$file")"
  before="$(digest "$file")"
  nvidia-ctk runtime configure --runtime=docker --config="$file" >/dev/null ||
    die "'nvidia-ctk runtime configure --runtime=docker' failed: see its output above; check $DAEMON_JSON is valid JSON"
  merge_log_defaults "$file" || die "could not merge log rotation settings into $DAEMON_JSON: see the message above"
  grep -q '"nvidia"' "$file" || die "$DAEMON_JSON has no 'nvidia' runtime after nvidia-ctk ran: re-run the container-toolkit step, then this one"
  after="$(digest "$file")"
  if [[ "$before" != "$after" ]]; then DAEMON_CHANGED=1; else DAEMON_CHANGED=0; fi
}

ensure_service() {
  if ! systemctl is-enabled --quiet docker.service; then
    systemctl enable docker.service containerd.service || die "could not enable docker.service: see 'systemctl status docker'"
  fi
  if ! systemctl is-active --quiet docker.service; then
    systemctl start docker.service || die "docker.service failed to start: see 'journalctl -u docker -n 50' (a bad $DAEMON_JSON is the usual cause)"
    say "started Docker"
  elif [[ "$DAEMON_CHANGED" == 1 ]]; then
    systemctl restart docker.service || die "docker.service failed to restart after $DAEMON_JSON changed: see 'journalctl -u docker -n 50'"
    say "restarted Docker to apply $DAEMON_JSON"
  else
    say "Docker running; $DAEMON_JSON unchanged, no restart"
  fi
}

ensure_docker_group() {
  local groups
  if [[ "$HI_SSH_USER" == root ]]; then return 0; fi
  id -u "$HI_SSH_USER" >/dev/null 2>&1 || die "user '$HI_SSH_USER' does not exist on this host: create it (or fix sshUser in the stack) and re-run"
  groups=" $(id -nG "$HI_SSH_USER") "
  if [[ "$groups" == *" docker "* ]]; then
    say "$HI_SSH_USER is already in the docker group"
    return 0
  fi
  usermod -aG docker "$HI_SSH_USER" || die "could not add $HI_SSH_USER to the docker group (usermod -aG docker $HI_SSH_USER)"
  say "added $HI_SSH_USER to the docker group (takes effect on its next SSH login)"
}

main() {
  validate
  install_docker
  configure_daemon
  ensure_service
  ensure_docker_group
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
