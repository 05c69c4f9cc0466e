#!/usr/bin/env bash
# Builds a Kubernetes control plane for the tests in test/kube-cluster, into
# ~/.cache/hybrid-inference/kube/<version>/ (HI_KUBE_CACHE moves the root):
#
#   bin/kube-apiserver, bin/kube-controller-manager, bin/kube-scheduler, bin/kubectl
#       from the Go module k8s.io/kubernetes at HI_KUBE_VERSION (default v1.36.3, the minor the
#       manifests target: core/render/kubernetes/versions.ts)
#   bin/kwok
#       sigs.k8s.io/kwok/cmd/kwok at HI_KWOK_VERSION (default v0.8.0): simulates the nodes and
#       the pods' lifecycle (no kubelet, no container runtime)
#   kwok-stages/*.yaml
#       the kwok Stages the harness loads, copied at build time from that module's
#       kustomize/stage/ (node-initialize, node-heartbeat-with-lease, pod-ready, pod-complete,
#       pod-delete): kwok does nothing without stages, and they ship in no binary's defaults
#   bin/etcd
#       a link to Debian's etcd (package etcd-server, 3.4 on Debian 12), installed here when
#       missing, with its service not started (and Debian's openssl, for the certificates)
#
# Why kubectl is built and not Debian's: Debian 12's kubernetes-client package is kubectl
# 1.20.2 ("1.20.5+really1.20.2"), sixteen minors older than the API server, far outside
# kubectl's supported skew of one minor (https://kubernetes.io/releases/version-skew-policy/).
# Built from the same wrapper module as the server, it costs a minute or two more.
#
# How: `go install k8s.io/kubernetes/cmd/...@v1.36.3` is refused (its go.mod replaces every
# k8s.io/* library with a directory under ./staging), so the binaries are built from a generated
# wrapper module in a temp dir: `require k8s.io/kubernetes v1.36.3` plus one `replace` per
# `./staging/src/k8s.io/<name>` line of kubernetes' go.mod, each pointing at the published
# `k8s.io/<name> v0.36.3` (the staging repositories are tagged v0.<minor>.<patch> with every
# release). Each binary is built on its own (the machine has 2 cores); versions are stamped
# with the ldflags kubernetes' hack/lib/version.sh sets.
#
# Idempotent: a binary is rebuilt only when missing or built from another module@version
# (status/<name>.ok); when all is in place it prints one line. Usage: bash scripts/build-kube.sh
# Exit 0 when everything is in place, 1 otherwise (the error is printed).
# Environment: HI_KUBE_VERSION, HI_KWOK_VERSION, HI_KUBE_CACHE, HI_GOPROXY (see scripts/lib/go-build.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf '[build-kube] %s\n' "$*"; }
# shellcheck source=scripts/lib/go-build.sh
. "${here}/lib/go-build.sh"
# shellcheck source=scripts/lib/apt-install.sh
. "${here}/lib/apt-install.sh"

KUBE_VERSION="${HI_KUBE_VERSION:-v1.36.3}"
KWOK_VERSION="${HI_KWOK_VERSION:-v0.8.0}"
[[ "$KUBE_VERSION" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || {
  say "HI_KUBE_VERSION must look like v1.36.3, got '$KUBE_VERSION'" >&2
  exit 1
}
kube_minor="${BASH_REMATCH[1]}"
# The staging modules (k8s.io/api, client-go, ...) of Kubernetes v1.X.Y are tagged v0.X.Y.
STAGING_VERSION="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
[[ "$KWOK_VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
  say "HI_KWOK_VERSION must look like v0.8.0, got '$KWOK_VERSION'" >&2
  exit 1
}

cache_root="${HI_KUBE_CACHE:-$(hi_cache_root kube)}"
cache="${cache_root}/${KUBE_VERSION}"
bin="${cache}/bin"
status="${cache}/status"
stages="${cache}/kwok-stages"
mkdir -p "$bin" "$status"

declare -a built=() cached=()

# 1. From Debian: etcd (no Go build: the package is the one the distribution maintains), and
#    openssl, with which the harness makes the API server's certificates.
debs=()
command -v etcd >/dev/null 2>&1 || debs+=(etcd-server)
command -v openssl >/dev/null 2>&1 || debs+=(openssl)
if ((${#debs[@]} > 0)); then
  say "installing Debian's ${debs[*]} (no service started)"
  hi_apt_install "${debs[@]}"
fi
etcd_path="$(command -v etcd)"

hi_go_env
hi_lock "$cache"
ln -sfn "$etcd_path" "${bin}/etcd"

# 2. The Kubernetes binaries, from one wrapper module.
kube_module="k8s.io/kubernetes@${KUBE_VERSION}"
kube_binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
todo=()
for name in "${kube_binaries[@]}"; do
  if hi_stamp_ok "${bin}/${name}" "${status}/${name}.ok" "$kube_module"; then cached+=("$name"); else todo+=("$name"); fi
done

# Prints the wrapper's go.mod from kubernetes' go.mod ($1): its go and godebug directives, the
# require, and a published-module replace for each ./staging directory it replaces with.
wrapper_gomod() {
  local normalized
  normalized="$(go mod edit -print "$1")"
  printf 'module hybrid-inference.local/build/kube\n\n'
  grep -E '^(go|godebug) ' <<<"$normalized" || true
  printf '\nrequire k8s.io/kubernetes %s\n\n' "$KUBE_VERSION"
  # `go mod edit -print` writes replaces as "replace (" blocks or single "replace X => Y" lines.
  awk -v staging="$STAGING_VERSION" '
    /^replace \($/ { block = 1; next }
    block && /^\)$/ { block = 0; next }
    { line = $0; sub(/^replace /, "", line) }
    (block || $1 == "replace") {
      n = split(line, f, /[ \t]+/)
      start = (f[1] == "") ? 2 : 1
      old = f[start]; arrow = f[start + 1]; new = f[start + 2]
      if (arrow != "=>") { print "UNEXPECTED " line; next }
      if (new ~ /^\.\/staging\/src\//) {
        if (new != "./staging/src/" old) { print "UNEXPECTED " line; next }
        print "replace " old " => " old " " staging
      } else if (new ~ /^\./) {
        print "UNEXPECTED " line
      } else {
        print "replace " line
      }
    }' <<<"$normalized"
}

if ((${#todo[@]} > 0)); then
  say "building ${todo[*]} ${KUBE_VERSION} (6 to 25 minutes on 2 cores the first time, depending on what else runs)"
  start=$SECONDS
  read -r kube_dir kube_gomod < <(hi_module_dir "$kube_module") || exit 1
  : "$kube_dir"
  work="$(mktemp -d "${TMPDIR:-/tmp}/hi-build-kube.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  wrapper_gomod "$kube_gomod" >"${work}/go.mod"
  if grep -q '^UNEXPECTED ' "${work}/go.mod"; then
    say "kubernetes ${KUBE_VERSION}'s go.mod has a replace this script does not know how to publish-map: $(grep '^UNEXPECTED ' "${work}/go.mod" | sed -n 1p)" >&2
    exit 1
  fi
  say "wrapper module: $(grep -c '^replace ' "${work}/go.mod") staging modules replaced by their published ${STAGING_VERSION}"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for name in "${kube_binaries[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$name"; done
    printf ')\n'
  } >"${work}/tools.go"
  if ! (cd "$work" && go mod tidy) >"${work}/tidy.log" 2>&1; then
    say "go mod tidy in the wrapper module failed: $(tail -n 5 "${work}/tidy.log" | tr '\n' ' ')" >&2
    exit 1
  fi
  say "dependencies resolved in $(hi_elapsed $((SECONDS - start)))"
  # As hack/lib/version.sh stamps them (what `kubectl version` and /version report).
  ldflags="-s -w"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${kube_minor} -X ${pkg}.gitTreeState=archive"
  done
  for name in "${todo[@]}"; do
    t=$SECONDS
    if ! (cd "$work" && go build -trimpath -ldflags "$ldflags" -o "${bin}/${name}.tmp" "k8s.io/kubernetes/cmd/${name}") >"${work}/${name}.log" 2>&1; then
      say "go build k8s.io/kubernetes/cmd/${name} failed: $(tail -n 5 "${work}/${name}.log" | tr '\n' ' ')" >&2
      exit 1
    fi
    mv -f "${bin}/${name}.tmp" "${bin}/${name}"
    printf '%s\n' "$kube_module" >"${status}/${name}.ok"
    built+=("$name")
    say "built ${name} in $(hi_elapsed $((SECONDS - t))) ($(hi_human_size "${bin}/${name}"))"
  done
fi

# 3. kwok (a plain `go install`: its go.mod has no replace), then its stages from the module.
kwok_module="sigs.k8s.io/kwok@${KWOK_VERSION}"
stage_files=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
stages_ok=1
for f in "${stage_files[@]}"; do [[ -f "${stages}/$(basename "$f")" ]] || stages_ok=0; done
if hi_stamp_ok "${bin}/kwok" "${status}/kwok.ok" "$kwok_module" && ((stages_ok)); then
  cached+=(kwok)
else
  t=$SECONDS
  read -r kwok_dir _ < <(hi_module_dir "$kwok_module") || exit 1
  if ! GOBIN="$bin" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
    "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}" >"${cache}/kwok-build.log" 2>&1; then
    say "go install sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION} failed: $(tail -n 5 "${cache}/kwok-build.log" | tr '\n' ' ')" >&2
    exit 1
  fi
  rm -f "${cache}/kwok-build.log"
  rm -rf "$stages"
  mkdir -p "$stages"
  for f in "${stage_files[@]}"; do
    src="${kwok_dir}/kustomize/stage/${f}"
    [[ -f "$src" ]] || {
      say "kwok ${KWOK_VERSION} has no stage ${f} under kustomize/stage/" >&2
      exit 1
    }
    # The module cache is read-only; the copy need not be.
    install -m 0644 "$src" "${stages}/$(basename "$f")"
  done
  printf '%s\n' "$kwok_module" >"${status}/kwok.ok"
  built+=(kwok)
  say "built kwok ${KWOK_VERSION} in $(hi_elapsed $((SECONDS - t))) ($(hi_human_size "${bin}/kwok")); ${#stage_files[@]} stages in ${stages}"
fi

summary="kubernetes ${KUBE_VERSION} control plane in ${cache} (etcd: $("${bin}/etcd" --version 2>/dev/null | sed -n 1p | sed 's/^etcd Version: //'))"
[[ ${#built[@]} -eq 0 ]] || summary+="; built: ${built[*]}"
[[ ${#cached[@]} -eq 0 ]] || summary+="; cached: ${cached[*]}"
say "$summary"
if ((${#built[@]} > 0)); then
  say "sizes: ${cache} $(hi_human_size "$cache"); Go module cache $(hi_human_size "$(go env GOMODCACHE)"), Go build cache $(hi_human_size "$(go env GOCACHE)")"
fi
