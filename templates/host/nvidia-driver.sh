#!/usr/bin/env bash
# hybrid-inference host bootstrap, step "nvidia-driver".
#
# Installs the NVIDIA driver branch the stack names (HI_DRIVER_BRANCH) from Ubuntu's archive
# and holds it there, so neither unattended-upgrades nor an operator's `apt upgrade` replaces
# the user-space libraries under a loaded kernel module (the "Driver/library version mismatch"
# that stops every GPU container until a reboot: Ubuntu publishes these packages in the
# security pocket, which unattended-upgrades installs by default).
#
# Which packages (Ubuntu's "restricted" component; <c> is the candidate, e.g. 580-server-open):
#  * Preferred: Canonical's prebuilt kernel modules, signed with Canonical's key, so they load
#    under Secure Boot and need no compiler or headers:
#      linux-modules-nvidia-<c>-$(uname -r)   the module for the running kernel
#      linux-modules-nvidia-<c>-<meta>        follows the kernel metapackage to new kernels
#      nvidia-headless-no-dkms-<c>            the user space without DKMS
#    where <meta> is the flavour of the installed linux-image metapackage: "generic"
#    (linux-image-generic), "generic-hwe-22.04" on jammy's HWE kernel, "generic-hwe-24.04" on
#    noble's (with "-edge" for the edge kernels), or the running kernel's own flavour (aws,
#    lowlatency, …). This is how
#    ubuntu-drivers picks them (canonical/ubuntu-drivers-common, UbuntuDrivers/detect.py,
#    get_linux_modules_metapackage), e.g.
#    https://packages.ubuntu.com/noble/linux-modules-nvidia-580-server-open-generic
#  * Fallback, when either module package is missing for this kernel (a provider's own kernel,
#    a kernel Canonical has not built modules for yet): nvidia-headless-<c>, whose DKMS
#    package builds an unsigned module against the running kernel's headers. With Secure Boot
#    enforcing, that module would never load: the step refuses, saying how to fix it.
#  * nvidia-utils-<branch>[-server] for nvidia-smi (the verify step and the container toolkit).
#  * "-server" is Ubuntu's Enterprise Ready Driver line (NVIDIA's production branches, longer
#    support; what `ubuntu-drivers install --gpgpu` picks); when a branch is not published in
#    it for this release, the same packages without "-server" are used. "-open" selects
#    NVIDIA's open kernel modules, the only ones for Blackwell (HI_OPEN_KERNEL_MODULES=true).
#    https://documentation.ubuntu.com/server/how-to/graphics/install-nvidia-drivers/
#
# Holds (every run, idempotent): `apt-mark hold` on the branch's installed packages (nvidia-*,
# libnvidia-*, linux-modules-nvidia-* …) and, with the prebuilt modules, on the kernel
# metapackages too: a new kernel's prebuilt module is built against the archive's newer
# driver, so kernel and driver must move together. An apt drop-in adds the same names to
# Unattended-Upgrade::Package-Blacklist. What was held is listed in
# /var/lib/hybrid-inference/driver-holds.
#
# Deliberate upgrades: a new HI_DRIVER_BRANCH unholds, installs the new branch (removing the
# old one), holds it and asks for a reboot. A new HI_DRIVER_REFRESH value (any label, e.g. a
# date) does the same within the branch: the branch's latest packages (and with prebuilt
# modules the kernel they are built for), then a reboot when anything changed. An installed
# and loaded driver of the branch is otherwise left as it is (a DKMS install from before is
# kept; the next refresh moves it to the prebuilt modules where they exist).
#
# When a reboot is needed (a new driver, a module not loaded, or a loaded module whose version
# differs from the installed libraries), it leaves reboot markers and prints the line
#   HI_REBOOT_REQUIRED=1
# on stdout; the reboot-if-required step acts on it.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_DRIVER_BRANCH        required. Driver branch to install and hold, e.g. 580.
#   HI_OPEN_KERNEL_MODULES  required. "true" for open kernel modules, "false" for either.
#   HI_DRIVER_REFRESH       optional. Label of the last requested refresh; a new value
#                           upgrades the branch's packages once (state in
#                           /var/lib/hybrid-inference/driver-refresh).
#   HI_ROOT                 tests only: prefix for every absolute path read or written.
#
# Usage: sudo env HI_DRIVER_BRANCH=580 HI_OPEN_KERNEL_MODULES=true bash -s < nvidia-driver.sh
# Idempotent: an installed and loaded driver of the branch (right module flavour) is kept.
STEP=nvidia-driver
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly HOLDS_FILE=/var/lib/hybrid-inference/driver-holds
readonly REFRESH_FILE=/var/lib/hybrid-inference/driver-refresh
readonly UU_DROPIN=/etc/apt/apt.conf.d/51hybrid-inference-nvidia

validate() {
  require HI_DRIVER_BRANCH "pass the NVIDIA driver branch, e.g. HI_DRIVER_BRANCH=580"
  require HI_OPEN_KERNEL_MODULES "pass HI_OPEN_KERNEL_MODULES=true (open kernel modules, required for Blackwell) or false"
  [[ "$HI_DRIVER_BRANCH" =~ ^[1-9][0-9]{2}$ ]] || die "HI_DRIVER_BRANCH must be a driver branch number like 580, got '$HI_DRIVER_BRANCH'"
  [[ "$HI_OPEN_KERNEL_MODULES" == true || "$HI_OPEN_KERNEL_MODULES" == false ]] ||
    die "HI_OPEN_KERNEL_MODULES must be 'true' or 'false', got '$HI_OPEN_KERNEL_MODULES'"
  [[ "${HI_DRIVER_REFRESH:-}" =~ ^[A-Za-z0-9._:-]{0,64}$ ]] ||
    die "HI_DRIVER_REFRESH must be a label of letters, digits and ._:- (e.g. 2026-12-01), got '${HI_DRIVER_REFRESH:-}'"
  BRANCH=$HI_DRIVER_BRANCH
  SUFFIX=""
  [[ "$HI_OPEN_KERNEL_MODULES" == true ]] && SUFFIX="-open"
  return 0
}

# Version and flavour of the module the running kernel has loaded ("580.95.05 open"), or
# nothing. /proc/driver/nvidia/version exists only while the module is loaded, and its first
# line names the open modules "Open Kernel Module".
loaded_driver() {
  local file="$ROOT/proc/driver/nvidia/version" line version flavour=proprietary
  [[ -r "$file" ]] || return 0
  line="$(head -n 1 "$file")"
  version="$(grep -oE '[0-9]{3}\.[0-9]+(\.[0-9]+)?' <<<"$line" | sed -n 1p)" || true
  [[ "$line" == *"Open Kernel Module"* ]] && flavour=open
  [[ -n "$version" ]] && printf '%s %s\n' "$version" "$flavour"
  return 0
}

# Installed package names matching the dpkg-query patterns given.
installed_matching() {
  # shellcheck disable=SC2016 # dpkg-query format fields, not shell expansions
  { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null || true; } | awk '$1 == "ii" { print $2 }' | sort -u
}

# Installed NVIDIA kernel-module packages as "<branch> <open|proprietary> <dkms|prebuilt> <package>"
# lines: DKMS (nvidia-dkms-580-server-open) or Canonical's prebuilt (linux-modules-nvidia-580-…).
installed_module_packages() {
  local pkg kind rest flavour
  while read -r pkg; do
    case "$pkg" in
    nvidia-dkms-*) kind=dkms rest=${pkg#nvidia-dkms-} ;;
    linux-modules-nvidia-*) kind=prebuilt rest=${pkg#linux-modules-nvidia-} ;;
    *) continue ;;
    esac
    [[ "$rest" =~ ^([0-9]{3})(-server)?(-open)?(-|$) ]] || continue
    flavour=proprietary
    [[ -n "${BASH_REMATCH[3]}" ]] && flavour=open
    printf '%s %s %s %s\n' "${BASH_REMATCH[1]}" "$flavour" "$kind" "$pkg"
  done < <(installed_matching 'nvidia-dkms-*' 'linux-modules-nvidia-*')
}

# The driver branch a package belongs to (the first three-digit part of its name after
# "nvidia-"), or nothing for packages that are not branch-specific (nvidia-container-toolkit).
branch_of() {
  local rest
  case "$1" in
  nvidia-* | libnvidia-* | linux-modules-nvidia-* | linux-objects-nvidia-*) rest="-${1#*nvidia-}" ;;
  *) return 0 ;;
  esac
  if [[ "$rest" =~ -([0-9]{3})(-|$) ]]; then printf '%s\n' "${BASH_REMATCH[1]}"; fi
  return 0
}

# Upstream version of the installed driver user space (libnvidia-compute-*), e.g. 580.95.05.
installed_userspace_version() {
  # shellcheck disable=SC2016 # dpkg-query format fields, not shell expansions
  { dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' 'libnvidia-compute-*' 2>/dev/null || true; } |
    awk '$1 == "ii" { sub(/-.*/, "", $3); print $3 }' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}

# Whether the kernel enforces module signatures because of UEFI Secure Boot: prints
# "enabled", "disabled" or "unknown". mokutil is the authority when installed; without it the
# UEFI variables say the same: SecureBoot-<EFI global GUID> (4 attribute bytes, then 1 = on)
# and shim's MokSBStateRT (1 = "validation disabled" with `mokutil --disable-validation`, when
# unsigned modules load again). No /sys/firmware/efi means a legacy BIOS boot: no Secure Boot.
secure_boot_state() {
  local efi="$ROOT/sys/firmware/efi" out sb moksb
  if command -v mokutil >/dev/null 2>&1; then
    out="$(mokutil --sb-state 2>&1 || true)"
    if [[ "$out" == *"validation is disabled"* ]]; then
      printf 'disabled\n'
    elif [[ "$out" == *"SecureBoot enabled"* ]]; then
      printf 'enabled\n'
    elif [[ "$out" == *"SecureBoot disabled"* || "$out" == *"not supported"* || "$out" == *"doesn't support"* ]]; then
      printf 'disabled\n'
    else
      printf 'unknown\n'
    fi
    return 0
  fi
  if [[ ! -d "$efi" ]]; then
    printf 'disabled\n'
    return 0
  fi
  sb="$(efi_flag "$efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")"
  moksb="$(efi_flag "$efi/efivars/MokSBStateRT-605dab50-e046-4300-abb6-3dd810dd8b23")"
  if [[ "$sb" == 1 && "$moksb" != 1 ]]; then
    printf 'enabled\n'
  elif [[ "$sb" == 0 || "$sb" == 1 ]]; then
    printf 'disabled\n'
  else
    printf 'unknown\n'
  fi
}
# The data byte of a one-byte UEFI variable (after its 4 attribute bytes), or nothing.
efi_flag() {
  [[ -r "$1" ]] || return 0
  od -An -tu1 -j4 -N1 -- "$1" 2>/dev/null | tr -d ' \n' || true
}

flavour_ok() {
  [[ "$HI_OPEN_KERNEL_MODULES" == false || "$1" == open ]]
}

pkg_available() {
  apt-cache show --no-all-versions "$1" >/dev/null 2>&1
}

# The flavour of the installed kernel metapackage the prebuilt modules' metapackage follows:
# "generic", "generic-hwe-22.04", … (see the header); nothing when the running kernel is not
# an Ubuntu one installed through a metapackage.
kernel_meta_flavour() {
  local kernel=$1 flavour version
  [[ "$kernel" =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-([a-z0-9]+(-[a-z0-9]+)*)$ ]] || return 0
  flavour=${BASH_REMATCH[1]}
  version="$(os_release VERSION_ID || true)"
  if [[ -n "$version" ]] && pkg_installed "linux-image-$flavour-hwe-$version-edge"; then
    printf '%s-hwe-%s-edge\n' "$flavour" "$version"
  elif [[ -n "$version" ]] && pkg_installed "linux-image-$flavour-hwe-$version"; then
    printf '%s-hwe-%s\n' "$flavour" "$version"
  elif pkg_installed "linux-image-$flavour"; then
    printf '%s\n' "$flavour"
  fi
  return 0
}

mark_reboot_required() {
  local why=$1
  mkdir -p "$ROOT/var/run/hybrid-inference"
  printf '%s\n' "$why" >"$ROOT/var/run/hybrid-inference/driver-reboot-required"
  # Ubuntu's own marker (shown at login by update-motd); /var/run is a tmpfs, so both markers
  # disappear with the reboot that clears them.
  printf '*** System restart required ***\n' >"$ROOT/var/run/reboot-required"
  if ! grep -qx 'nvidia-driver' "$ROOT/var/run/reboot-required.pkgs" 2>/dev/null; then
    printf 'nvidia-driver\n' >>"$ROOT/var/run/reboot-required.pkgs"
  fi
  say "$why; a reboot is required before the driver can be used"
  printf 'HI_REBOOT_REQUIRED=1\n'
}

secure_boot_fix() {
  printf '%s' "boot an Ubuntu kernel that has Canonical's signed modules ('apt-get install linux-generic', then reboot into it), disable Secure Boot in the server's firmware settings, or enrol the DKMS signing key ('mokutil --import /var/lib/shim-signed/mok/MOK.der', then confirm the enrolment at the console during the next boot); then re-run"
}

# Package lists for the branch: the candidate (580-server-open) and which module to use.
# Sets CANDIDATE, UTILS, KIND (prebuilt|dkms) and PACKAGES.
choose_packages() {
  local kernel line kmeta abi meta
  kernel="$(uname -r)"
  [[ "$kernel" =~ ^[A-Za-z0-9._+~-]+$ ]] || die "unexpected kernel release '$kernel' from 'uname -r'"
  CANDIDATE=""
  for line in -server ""; do
    if pkg_available "nvidia-headless-no-dkms-$BRANCH$line$SUFFIX" || pkg_available "nvidia-headless-$BRANCH$line$SUFFIX"; then
      CANDIDATE="$BRANCH$line$SUFFIX"
      UTILS="nvidia-utils-$BRANCH$line"
      break
    fi
  done
  [[ -n "$CANDIDATE" ]] ||
    die "no package nvidia-headless-$BRANCH-server$SUFFIX or nvidia-headless-$BRANCH$SUFFIX in this host's apt sources: check the branch exists for this Ubuntu release (apt-cache search nvidia-headless-$BRANCH) and that the 'restricted' component is enabled, or pick another driver.branch in the stack"
  kmeta="$(kernel_meta_flavour "$kernel")"
  abi="linux-modules-nvidia-$CANDIDATE-$kernel"
  meta="linux-modules-nvidia-$CANDIDATE-${kmeta:-none}"
  if [[ -n "$kmeta" ]] && pkg_available "$abi" && pkg_available "$meta" && pkg_available "nvidia-headless-no-dkms-$CANDIDATE"; then
    KIND=prebuilt
    KERNEL_META=$kmeta
    PACKAGES=("nvidia-headless-no-dkms-$CANDIDATE" "$UTILS" "$abi" "$meta")
    return 0
  fi
  KIND=dkms
  KERNEL_META=""
  pkg_available "nvidia-headless-$CANDIDATE" ||
    die "neither Canonical's prebuilt modules ($abi with $meta) nor the DKMS package nvidia-headless-$CANDIDATE are in this host's apt sources: check the 'restricted' component is enabled and run 'apt-get update'"
  if [[ "$(secure_boot_state)" == enabled ]]; then
    die "Secure Boot is enabled and no Canonical-signed prebuilt NVIDIA module exists for kernel $kernel ($abi${kmeta:+ and $meta} are not in this host's apt sources${kmeta:+}${kmeta:-; the kernel was not installed through an Ubuntu linux-image metapackage}): the DKMS-built module would be unsigned and the kernel would refuse to load it. Fix: $(secure_boot_fix)"
  fi
  PACKAGES=("nvidia-headless-$CANDIDATE" "$UTILS")
}

# Packages to remove along with the install (apt's "name-" syntax): the other branches' driver
# packages, and the other module kind's packages of this branch (a DKMS module and a prebuilt
# one for the same kernel would fight over it). The prebuilt modules of other installed kernels
# stay: they belong to those kernels.
removals() {
  local pkg branch
  while read -r pkg; do
    branch="$(branch_of "$pkg")"
    [[ -n "$branch" ]] || continue
    if [[ "$branch" != "$BRANCH" ]]; then
      printf '%s-\n' "$pkg"
      continue
    fi
    case "$KIND:$pkg" in
    prebuilt:"linux-modules-nvidia-$CANDIDATE-"* | *:"nvidia-headless-no-dkms-$CANDIDATE") ;;
    dkms:"nvidia-dkms-$CANDIDATE" | dkms:"nvidia-headless-$CANDIDATE") ;;
    *:nvidia-dkms-* | *:linux-modules-nvidia-* | *:nvidia-headless-*) printf '%s-\n' "$pkg" ;;
    esac
  done < <(installed_matching '*nvidia*')
}

install_driver() {
  local remove=()
  apt_get update || die "apt-get update failed: check the host's network and /etc/apt/sources.list* (the 'restricted' component must be enabled for NVIDIA drivers)"
  APT_FRESH=1
  choose_packages
  mapfile -t remove < <(removals)
  if [[ "$KIND" == prebuilt ]]; then
    say "installing ${PACKAGES[*]} (Canonical's signed prebuilt module for kernel $(uname -r))${remove[*]:+; removing ${remove[*]%-}}"
  else
    say "installing ${PACKAGES[*]} (no prebuilt module for kernel $(uname -r): DKMS builds it, which takes a few minutes)${remove[*]:+; removing ${remove[*]%-}}"
  fi
  apt_install "${PACKAGES[@]}" "${remove[@]}" ||
    die "installing ${PACKAGES[*]} failed: see the apt output above; with DKMS, 'dkms status' and /var/lib/dkms/nvidia/*/build/make.log show module build errors (missing kernel headers: re-run the preflight step); packages held by someone else show in 'apt-mark showhold'"
  if [[ "$KIND" == prebuilt && "${REFRESHING:-0}" == 1 ]]; then
    # A refresh moves the kernel with the driver: the metapackages pull the newest kernel the
    # prebuilt modules were just installed for.
    apt_get install --only-upgrade "linux-$KERNEL_META" "linux-image-$KERNEL_META" "linux-headers-$KERNEL_META" ||
      die "upgrading the kernel metapackages (linux-$KERNEL_META) failed: see the apt output above"
  fi
}

# ---- holds ----

# The installed packages of the branch (and, with prebuilt modules, the kernel metapackages)
# that must not move without a deliberate step.
packages_to_hold() {
  local kmeta pkg
  installed_matching '*nvidia*' | grep -E "^((lib)?nvidia-.*-$BRANCH(-|\$)|linux-(modules|objects)-nvidia-$BRANCH(-|\$)|linux-signatures-nvidia-)" || true
  if installed_matching 'linux-modules-nvidia-*' | grep "^linux-modules-nvidia-$BRANCH" >/dev/null; then
    kmeta="$(kernel_meta_flavour "$(uname -r)")"
    if [[ -n "$kmeta" ]]; then
      for pkg in "linux-$kmeta" "linux-image-$kmeta" "linux-headers-$kmeta"; do
        if pkg_installed "$pkg"; then printf '%s\n' "$pkg"; fi
      done
    fi
  fi
  return 0
}

hold_driver() {
  local want=() held missing=() pkg
  mapfile -t want < <(packages_to_hold | sort -u)
  ((${#want[@]} > 0)) || return 0
  held="$(apt-mark showhold 2>/dev/null || true)"
  for pkg in "${want[@]}"; do grep -qxF -- "$pkg" <<<"$held" || missing+=("$pkg"); done
  if ((${#missing[@]} > 0)); then
    apt-mark hold "${missing[@]}" >/dev/null || die "apt-mark hold ${missing[*]} failed"
    say "held ${missing[*]} (apt and unattended-upgrades leave them alone; change the driver through the stack's driver key)"
  fi
  mkdir -p "$(dirname "$ROOT$HOLDS_FILE")"
  printf '%s\n' "${want[@]}" >"$ROOT$HOLDS_FILE"
  write_unattended_dropin "${want[@]}"
}

unhold_driver() {
  local ours=() held pkg release=()
  [[ -f "$ROOT$HOLDS_FILE" ]] || return 0
  mapfile -t ours <"$ROOT$HOLDS_FILE"
  held="$(apt-mark showhold 2>/dev/null || true)"
  for pkg in "${ours[@]}"; do
    if [[ -n "$pkg" ]] && grep -qxF -- "$pkg" <<<"$held"; then release+=("$pkg"); fi
  done
  if ((${#release[@]} > 0)); then
    apt-mark unhold "${release[@]}" >/dev/null || die "apt-mark unhold ${release[*]} failed"
    say "released the hold on ${release[*]} for the upgrade"
  fi
  rm -f "$ROOT$HOLDS_FILE"
}

# unattended-upgrades skips held packages already; the blacklist says the same in its own
# configuration, so a later edit of the holds does not silently re-enable them. Entries are
# Python regular expressions matched at the start of a package name (50unattended-upgrades).
write_unattended_dropin() {
  local file="$ROOT$UU_DROPIN" tmp pkg kernel_entries=""
  for pkg in "$@"; do
    case "$pkg" in
    linux-modules-nvidia-* | linux-objects-nvidia-* | linux-signatures-nvidia-*) ;;
    linux-*) kernel_entries+="    \"${pkg//./\\.}\$\";"$'\n' ;;
    esac
  done
  mkdir -p "$(dirname "$file")"
  tmp="$(mktemp "$file.XXXXXX")"
  cat >"$tmp" <<EOF
// Written by hybrid-inference (nvidia-driver step); rewritten on every run.
// The NVIDIA driver (and, with Canonical's prebuilt modules, the kernel it is built for) is
// held with apt-mark and kept out of unattended upgrades: replacing its libraries under the
// loaded module breaks every GPU container until a reboot. Upgrade it deliberately through
// the stack's driver key (driver.branch, driver.refresh); see the README, "Operations".
Unattended-Upgrade::Package-Blacklist {
    "nvidia-";
    "libnvidia-";
    "linux-modules-nvidia-";
    "linux-objects-nvidia-";
    "linux-signatures-nvidia-";
${kernel_entries}};
EOF
  chmod 0644 "$tmp"
  if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv -f "$tmp" "$file"; fi
}

refresh_due() {
  local requested="${HI_DRIVER_REFRESH:-}" applied=""
  [[ -n "$requested" ]] || return 1
  [[ -f "$ROOT$REFRESH_FILE" ]] && applied="$(head -n 1 "$ROOT$REFRESH_FILE")"
  [[ "$requested" != "$applied" ]]
}

record_refresh() {
  mkdir -p "$(dirname "$ROOT$REFRESH_FILE")"
  printf '%s\n' "${HI_DRIVER_REFRESH:-}" >"$ROOT$REFRESH_FILE"
}

main() {
  validate
  local loaded loaded_version="" loaded_flavour="" userspace branch flavour kind pkg current="" current_kind="" others=""
  local kernels_before="" kernels_after="" refreshed=0
  loaded="$(loaded_driver)"
  if [[ -n "$loaded" ]]; then read -r loaded_version loaded_flavour <<<"$loaded"; fi
  while read -r branch flavour kind pkg; do
    [[ -n "$branch" ]] || continue
    if [[ "$branch" == "$BRANCH" ]] && flavour_ok "$flavour"; then
      current=$branch
      [[ "$current_kind" == prebuilt ]] || current_kind=$kind
    else
      others+="${others:+, }$pkg"
    fi
  done < <(installed_module_packages)

  if [[ -z "$current" ]]; then
    if [[ -n "$loaded_version" && -z "$others" ]] && ((${loaded_version%%.*} >= BRANCH)) && flavour_ok "$loaded_flavour"; then
      # Installed outside apt (a provider image, the .run installer): good enough, and replacing
      # it with packages would fight whatever manages it. Nothing here can hold it.
      say "driver $loaded_version ($loaded_flavour kernel module) is loaded and was not installed from Ubuntu packages; keeping it (not held: whatever installed it also upgrades it)"
      return 0
    fi
    [[ -z "$others" ]] || say "switching the NVIDIA driver to branch $BRANCH${SUFFIX:+ (open kernel modules)} from $others"
    unhold_driver
    install_driver
    record_refresh
    hold_driver
    mark_reboot_required "installed NVIDIA driver branch $BRANCH ($([[ "$KIND" == prebuilt ]] && printf 'signed prebuilt module' || printf 'DKMS-built module'))"
    return 0
  fi

  if refresh_due; then
    say "driver.refresh is now '$HI_DRIVER_REFRESH' (last applied: '$(head -n 1 "$ROOT$REFRESH_FILE" 2>/dev/null || true)'): upgrading branch $BRANCH to the archive's latest packages"
    kernels_before="$(installed_matching 'linux-image-[0-9]*')"
    unhold_driver
    REFRESHING=1
    install_driver
    REFRESHING=0
    record_refresh
    refreshed=1
    kernels_after="$(installed_matching 'linux-image-[0-9]*')"
    current_kind=$KIND
  fi
  hold_driver

  userspace="$(installed_userspace_version)"
  if [[ -z "$loaded_version" ]]; then
    if [[ "$current_kind" == dkms && "$(secure_boot_state)" == enabled ]]; then
      die "the NVIDIA driver branch $BRANCH is installed with a DKMS-built (unsigned) module and Secure Boot is enabled, so the kernel will not load it. Fix: $(secure_boot_fix)"
    fi
    mark_reboot_required "NVIDIA driver branch $BRANCH is installed but its kernel module is not loaded"
  elif [[ -n "$userspace" && "$loaded_version" != "$userspace" ]]; then
    mark_reboot_required "loaded NVIDIA kernel module $loaded_version differs from the installed driver $userspace (nvidia-smi reports 'Driver/library version mismatch' until a reboot)"
  elif [[ "${loaded_version%%.*}" != "$BRANCH" ]] || ! flavour_ok "$loaded_flavour"; then
    mark_reboot_required "loaded NVIDIA module $loaded_version ($loaded_flavour) is not the installed branch $BRANCH"
  elif ((refreshed)) && [[ "$kernels_before" != "$kernels_after" ]]; then
    mark_reboot_required "the refresh installed a new kernel ($(comm -13 <(printf '%s\n' "$kernels_before") <(printf '%s\n' "$kernels_after") | tr '\n' ' ' | sed 's/ $//')) with the driver's prebuilt module"
  elif ((refreshed)); then
    say "driver $loaded_version is already the latest of branch $BRANCH; nothing to reboot for"
  else
    say "driver $loaded_version ($loaded_flavour kernel module, $([[ "$current_kind" == prebuilt ]] && printf 'signed prebuilt' || printf 'DKMS-built')) is installed, loaded and held; nothing to do"
  fi
}

# Under "bash -s" stdin is this script, then the SSH channel: main reads /dev/null so no child
# (an apt, dpkg or ufw prompt) can consume script text or wait for input that never comes.
main "$@" </dev/null
