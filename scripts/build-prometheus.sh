#!/usr/bin/env bash
# Builds Prometheus and promtool from the Go module github.com/prometheus/prometheus into
# ~/.cache/hybrid-inference/prometheus/<version>/bin (HI_PROMETHEUS_CACHE moves the root), for the
# kubernetes target's monitoring tests (test/monitoring, test/kube-cluster).
#
# Why not Debian's (scripts/install-prometheus.sh, which the other monitoring tests use): Debian 12's
# prometheus 2.42 is built without Kubernetes service discovery (its promtool refuses
# `kubernetes_sd_configs: field not found`), and the kubernetes target discovers the stack's pods
# with it. Why this version: the deployed image is prom/prometheus v2.53.5 (core/render/monitoring/
# images.ts), whose Go module version v0.53.5 the module proxy does not serve; v0.53.3 (Prometheus
# 2.53.3) is the nearest release of the same 2.53 LTS line it does, with the same configuration
# format.
#
# How: `go install ...@v0.53.3` is refused (Prometheus' go.mod has replace directives), so the two
# binaries are built from a generated wrapper module in a temp dir that requires the module and
# repeats its replace and exclude directives. Without the `builtinassets` tag the web UI's files are
# not embedded: the API (all the tests use) works, the UI pages do not.
#
# Also copies the Prometheus Operator's CRDs for PodMonitor and PrometheusRule, from the Go module
# github.com/prometheus-operator/prometheus-operator at HI_PROMETHEUS_OPERATOR_VERSION (v0.85.0; its
# example/prometheus-operator-crd/), into <cache root>/operator-crds/<version>/: the real control
# plane (test/kube-cluster) installs them to dry-run the objects the operator mode renders.
#
# Cost (measured 2026-11-30, empty Go build cache, modules already downloaded, 2 shared cores at
# load 8-16): 13m03s wall, 427 CPU-seconds (prometheus 12m42s, then promtool 10 s from the same
# packages), so about 4 minutes on an idle 2-core machine; 1.2 GB of Go build cache. Once built,
# a run takes 0.02 s.
#
# Idempotent: rebuilds only when a binary is missing or was built from another module@version
# (status/<name>.ok). Usage: bash scripts/build-prometheus.sh. Exit 0 when everything is in place.
# Environment: HI_PROMETHEUS_MODULE_VERSION, HI_PROMETHEUS_OPERATOR_VERSION, HI_PROMETHEUS_CACHE,
# HI_GOPROXY (scripts/lib/go-build.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf '[build-prometheus] %s\n' "$*"; }
# shellcheck source=scripts/lib/go-build.sh
. "${here}/lib/go-build.sh"

VERSION="${HI_PROMETHEUS_MODULE_VERSION:-v0.53.3}"
[[ "$VERSION" =~ ^v0\.([0-9]+)\.([0-9]+)$ ]] || {
  say "HI_PROMETHEUS_MODULE_VERSION must look like v0.53.3 (Prometheus 2.53.3's Go module version), got '$VERSION'" >&2
  exit 1
}
release="2.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
module="github.com/prometheus/prometheus@${VERSION}"
cache="${HI_PROMETHEUS_CACHE:-$(hi_cache_root prometheus)}/${VERSION}"
bin="${cache}/bin"
status="${cache}/status"
mkdir -p "$bin" "$status"

OPERATOR_VERSION="${HI_PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
crds="${HI_PROMETHEUS_CACHE:-$(hi_cache_root prometheus)}/operator-crds/${OPERATOR_VERSION}"

hi_go_env
hi_lock "$cache"

# The operator's CRDs: files of its module, copied (the module cache is read-only).
crd_files=(monitoring.coreos.com_podmonitors.yaml monitoring.coreos.com_prometheusrules.yaml)
crds_ok=1
for f in "${crd_files[@]}"; do [[ -f "${crds}/${f}" ]] || crds_ok=0; done
if ((!crds_ok)); then
  read -r operator_dir _ < <(hi_module_dir "github.com/prometheus-operator/prometheus-operator@${OPERATOR_VERSION}") || exit 1
  mkdir -p "$crds"
  for f in "${crd_files[@]}"; do
    src="${operator_dir}/example/prometheus-operator-crd/${f}"
    [[ -f "$src" ]] || {
      say "prometheus-operator ${OPERATOR_VERSION} has no ${f} under example/prometheus-operator-crd/" >&2
      exit 1
    }
    install -m 0644 "$src" "${crds}/${f}"
  done
  say "the Prometheus Operator ${OPERATOR_VERSION}'s PodMonitor and PrometheusRule CRDs in ${crds}"
fi

todo=()
for name in prometheus promtool; do
  hi_stamp_ok "${bin}/${name}" "${status}/${name}.ok" "$module" || todo+=("$name")
done
if ((${#todo[@]} == 0)); then
  say "prometheus and promtool ${release} (module ${VERSION}) in ${bin}"
  exit 0
fi

say "building ${todo[*]} ${release} from ${module} (several minutes on 2 cores the first time)"
start=$SECONDS
read -r _ gomod < <(hi_module_dir "$module") || exit 1
work="$(mktemp -d "${TMPDIR:-/tmp}/hi-build-prometheus.XXXXXX")"
trap 'rm -rf "$work"' EXIT
{
  printf 'module hybrid-inference.local/build/prometheus\n\n'
  go mod edit -print "$gomod" | grep -E '^go ' || true
  printf '\nrequire github.com/prometheus/prometheus %s\n\n' "$VERSION"
  # The module's own replace and exclude directives (blocks or single lines), as they are.
  go mod edit -print "$gomod" | awk '
    /^(replace|exclude) \($/ { block = 1; print; next }
    block { print; if ($0 == ")") block = 0; next }
    /^(replace|exclude) / { print }'
} >"${work}/go.mod"
if grep -qE '=> *\./' "${work}/go.mod"; then
  say "prometheus ${VERSION}'s go.mod replaces a module with a local directory: $(grep -m 1 -E '=> *\./' "${work}/go.mod")" >&2
  exit 1
fi
printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "github.com/prometheus/prometheus/cmd/prometheus"\n\t_ "github.com/prometheus/prometheus/cmd/promtool"\n)\n' >"${work}/tools.go"
if ! (cd "$work" && go mod tidy) >"${work}/tidy.log" 2>&1; then
  say "go mod tidy in the wrapper module failed: $(tail -n 5 "${work}/tidy.log" | tr '\n' ' ')" >&2
  exit 1
fi
# What Prometheus' own build stamps (`prometheus --version`, /api/v1/status/buildinfo).
ldflags="-s -w -X github.com/prometheus/common/version.Version=${release} -X github.com/prometheus/common/version.Branch=module -X github.com/prometheus/common/version.Revision=${VERSION}"
for name in "${todo[@]}"; do
  t=$SECONDS
  if ! (cd "$work" && go build -trimpath -ldflags "$ldflags" -o "${bin}/${name}.tmp" "github.com/prometheus/prometheus/cmd/${name}") >"${work}/${name}.log" 2>&1; then
    say "go build github.com/prometheus/prometheus/cmd/${name} failed: $(tail -n 5 "${work}/${name}.log" | tr '\n' ' ')" >&2
    exit 1
  fi
  mv -f "${bin}/${name}.tmp" "${bin}/${name}"
  printf '%s\n' "$module" >"${status}/${name}.ok"
  say "built ${name} in $(hi_elapsed $((SECONDS - t))) ($(hi_human_size "${bin}/${name}"))"
done
say "prometheus and promtool ${release} in ${bin} ($(hi_elapsed $((SECONDS - start))))"
