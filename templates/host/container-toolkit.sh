#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "container-toolkit".
#
# Installs the NVIDIA Container Toolkit (nvidia-ctk, nvidia-container-runtime) from NVIDIA's
# apt repository, which is what lets Docker hand GPUs to the engine container. Follows NVIDIA's
# install guide, "With apt: Ubuntu, Debian":
#   https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html
# The repository line is written here rather than downloaded and rewritten with sed as the guide
# does, so the host's apt configuration never depends on the content of a fetched file.
# Wiring the runtime into Docker happens in the docker step (it edits Docker's daemon.json).
#
# Environment: none besides
#   HI_ROOT  tests only: prefix for every absolute path read or written.
#
# Usage: sudo bash -s < container-toolkit.sh
# Idempotent: does nothing when nvidia-container-toolkit is installed.
STEP=container-toolkit
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly KEY_URL=https://nvidia.github.io/libnvidia-container/gpgkey
readonly KEYRING=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
readonly LIST=/etc/apt/sources.list.d/nvidia-container-toolkit.list

ensure_tools() {
  local missing=() pkg
  for pkg in ca-certificates curl gnupg; do pkg_installed "$pkg" || missing+=("$pkg"); done
  if ((${#missing[@]} > 0)); then
    apt_install "${missing[@]}" || die "could not install ${missing[*]} (needed to add NVIDIA's repository): see the apt output above"
  fi
}

add_repository() {
  local tmp line
  if [[ ! -s "$ROOT$KEYRING" ]]; then
    mkdir -p "$(dirname "$ROOT$KEYRING")"
    tmp="$(mktemp "$ROOT$KEYRING.XXXXXX")"
    if ! curl -fsSL --retry 3 "$KEY_URL" -o "$tmp.asc"; then
      rm -f "$tmp" "$tmp.asc"
      die "could not download NVIDIA's repository key from $KEY_URL: check the host reaches nvidia.github.io over HTTPS (proxy, firewall, DNS)"
    fi
    if ! gpg --batch --yes --dearmor -o "$tmp" "$tmp.asc"; then
      rm -f "$tmp" "$tmp.asc"
      die "could not convert NVIDIA's repository key with gpg --dearmor: is the download an HTML error page? Retry, or fetch $KEY_URL by hand"
    fi
    rm -f "$tmp.asc"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$ROOT$KEYRING"
  fi
  # $(ARCH) is expanded by apt, not by the shell: NVIDIA's list file uses it the same way.
  # shellcheck disable=SC2016
  line='deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /'
  if [[ "$(cat "$ROOT$LIST" 2>/dev/null || true)" != "$line" ]]; then
    mkdir -p "$(dirname "$ROOT$LIST")"
    printf '%s\n' "$line" >"$ROOT$LIST"
    # The list is new: the next install must refresh the index first.
    APT_FRESH=0
  fi
}

main() {
  if pkg_installed nvidia-container-toolkit; then
    say "nvidia-container-toolkit already installed; nothing to do"
    return 0
  fi
  ensure_tools
  add_repository
  apt_install nvidia-container-toolkit ||
    die "installing nvidia-container-toolkit failed: see the apt output above; check $LIST and that the host reaches nvidia.github.io"
  command -v nvidia-ctk >/dev/null 2>&1 || die "nvidia-container-toolkit installed but nvidia-ctk is not on PATH: reinstall it ('apt-get install --reinstall nvidia-container-toolkit')"
  say "installed nvidia-container-toolkit"
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
