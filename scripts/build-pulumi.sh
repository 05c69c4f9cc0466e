#!/usr/bin/env bash
# Builds the Pulumi CLI, the Node.js language host and the provider plugins the stacks use,
# with the Go toolchain, into ~/.cache/hybrid-inference/pulumi/<cli version>/bin, for the
# engine tests in test/engine (`pulumi preview` of every stack, `pulumi up` against an SSH test
# host). The Pulumi CLI is in neither the npm nor the Debian registry; it and its plugins are Go
# programs, and the Go module proxy is the one registry they can come from.
#
# A user with internet access needs none of this: the Pulumi installer ships the CLI and the
# language host, and `pulumi plugin install resource command 1.2.1` (or Pulumi's automatic
# plugin download) fetches released plugins (README, "The real path").
#
# What is built, and from where:
#   pulumi                      github.com/pulumi/pulumi/pkg/v3, cmd/pulumi, at HI_PULUMI_VERSION
#                               (default v3.274.1, see below), from the module proxy
#   pulumi-language-nodejs      github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3,
#                               same version as the CLI (it ships with it); the proxy refuses it
#   pulumi-resource-<name>      for command, docker, random, kubernetes: at the version the
#                               installed npm package @pulumi/<name> asks for (its package.json
#                               "pulumi.version"), so the plugin matches the SDK in package-lock.
#                               First from the module proxy; when the proxy refuses the module
#                               (it refuses all four: 403, or 404 for command), from a source
#                               we have at exactly that version, else not at all (see
#                               "Sources" below).
#
# Sources when the proxy refuses a provider module:
#   command, random   unmodified source snapshots in ../shared/third_party/pulumi-<name>-<version>
#                     (beside the repository; CI clones it with ../shared next to it; see its
#                     README). The folder name carries the version. Copied to a temp dir and
#                     built there (random's build writes its versioned schema first), never
#                     copied into this repository. A snapshot at another version than npm's
#                     is not built: the reason is recorded instead.
#   kubernetes        the one provider/v4 version the proxy serves is the pseudo-version
#                     v4.0.0-20260115033456-f47bc2d6f199: commit f47bc2d6 is the one tagged v4.25.0
#                     in github.com/pulumi/pulumi-kubernetes (`git describe --tags` of that commit:
#                     v4.25.0; the tag sdk/v4.25.0 is a commit later that only bumps version
#                     strings). Its go.mod replaces sdk/v4 with ../sdk, a directory of no module,
#                     so the build replaces it with the published sdk/v4 v4.25.0 instead. That
#                     makes a 4.25.0 plugin, built only when 4.25.0 is the version wanted:
#                     package.json pins @pulumi/kubernetes at exactly 4.25.0 for this (the SDK
#                     and the plugin CI runs are then the pair users run); an SDK asking for
#                     another version gets its reason recorded, never a plugin stamped with a
#                     version it is not. About 18 CPU-minutes the first time.
#   docker            no source: a Terraform-bridged provider whose go.mod replaces directories
#                     that no published module contains.
# HI_<NAME>_PLUGIN_VERSION (e.g. HI_KUBERNETES_PLUGIN_VERSION=v4.25.0) builds another version
# than npm's, for experiments: the plugin reports its true version, which then differs from
# the SDK's (the engine runs a plugin found on PATH whatever its version).
#
# Why the CLI is v3.274.1 and not 3.270.0 (the @pulumi/pulumi in package-lock): the proxy serves
# pkg/v3@v3.270.0's .info and .mod but answers 403 "This module version is not available" for
# its .zip; v3.274.1 is the nearest version it serves that is not older than the SDK (a CLI
# newer than the SDK is supported; an older one is not). Override with HI_PULUMI_VERSION.
#
# A proxy build goes through a small generated wrapper module (go.mod + tools.go in a temp dir)
# that requires the target module and copies its non-local `replace` directives: `go install
# pkg@version` refuses modules whose go.mod has replace directives, and pkg/v3's has two.
# A local replace (`=> ../sdk`) is turned into a require of that module at the same version
# (the Pulumi monorepo tags all its modules together); when that module does not exist the
# binary cannot be built from the proxy at all, and this says so.
#
# Idempotent: a binary is rebuilt only when missing or built from another module@version (the
# first line of status/<name>.ok; the second says which source). When everything is present it
# prints one line. A binary that cannot be built is retried on every run (quietly: a refusal
# costs well under a second), any older binary of that name is removed (no test may run a
# plugin of another version), and the reason is kept in status/<name>.missing, which the engine
# tests quote when they skip.
#
# Usage: bash scripts/build-pulumi.sh [--allow-missing] [--only NAME[,NAME...]]
#   exit 0  everything built (or, with --allow-missing, at least the CLI)
#   exit 1  the CLI could not be built, or Go is missing
#   exit 3  the CLI is built but some plugins are not (without --allow-missing)
#
# Environment: HI_PULUMI_VERSION (CLI version, default v3.274.1), HI_PULUMI_CACHE (cache root),
# HI_THIRD_PARTY (default <repo>/../shared/third_party), HI_GOPROXY (default
# https://proxy.golang.org, without ",direct": nothing here may fetch from a VCS host), and Go's
# own GOMODCACHE / GOCACHE. Needs Go >= the go directive of pkg/v3 (1.26.6 for v3.274.1);
# GOTOOLCHAIN=local, so Go never downloads a toolchain. Needs Node (for the npm package
# versions): run through npm, or with node_modules/.bin on PATH.
#
# Timing (2 cores, empty caches; `npm run engine:build` prints each binary's time): see the
# README's "Tests" section.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PULUMI_VERSION="${HI_PULUMI_VERSION:-v3.274.1}"
[[ "$PULUMI_VERSION" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || {
  echo "[build-pulumi] HI_PULUMI_VERSION must look like v3.274.1, got '$PULUMI_VERSION'" >&2
  exit 1
}
# Outside the work tree by default, so a fresh clone on the same machine (as CI makes)
# reuses a build that takes minutes; HI_PULUMI_CACHE moves it.
cache_root="${HI_PULUMI_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/hybrid-inference/pulumi}"
cache="${cache_root}/${PULUMI_VERSION}"
bin="${cache}/bin"
status="${cache}/status"
third_party="${HI_THIRD_PARTY:-${root}/../shared/third_party}"

# The proxy's only provider/v4 version of pulumi-kubernetes, and the release it is (see above).
K8S_PSEUDO_VERSION="v4.0.0-20260115033456-f47bc2d6f199"
K8S_PSEUDO_RELEASE="v4.25.0"
K8S_SDK_MODULE="github.com/pulumi/pulumi-kubernetes/sdk/v4"

allow_missing=0
only=""
while (($#)); do
  case "$1" in
  --allow-missing) allow_missing=1 ;;
  --only)
    shift
    only="${1:-}"
    ;;
  *)
    echo "[build-pulumi] unknown argument '$1' (usage: build-pulumi.sh [--allow-missing] [--only NAME,...])" >&2
    exit 1
    ;;
  esac
  shift
done

say() { printf '[build-pulumi] %s\n' "$*"; }

if ! command -v go >/dev/null 2>&1; then
  say "go not found: install Go >= 1.26.6 (https://go.dev/doc/install); the Pulumi CLI and its plugins are built from Go modules" >&2
  exit 1
fi
node_bin="${root}/node_modules/.bin/node"
[[ -x "$node_bin" ]] || node_bin="$(command -v node || true)"
[[ -n "$node_bin" ]] || {
  say "node not found: run 'npm ci' first (the plugin versions come from node_modules/@pulumi/*/package.json)" >&2
  exit 1
}

export GOPROXY="${HI_GOPROXY:-https://proxy.golang.org}"
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=local
export GOWORK=off
export CGO_ENABLED=0

mkdir -p "$bin" "$status"
printf '%s\n' "$PULUMI_VERSION" >"${cache_root}/current"

# One build at a time per cache directory (parallel CI jobs on one runner share it).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${cache}/.lock"
  flock 9
fi

# "v1.2.1": the plugin version the installed npm SDK requests (package.json "pulumi.version").
npm_plugin_version() {
  # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
  "$node_bin" -e '
    const p = require(process.argv[1]);
    const v = (p.pulumi && p.pulumi.version) || p.version;
    if (!/^\d+\.\d+\.\d+$/.test(v)) { console.error("unexpected version " + v); process.exit(1); }
    console.log("v" + v);' "${root}/node_modules/@pulumi/$1/package.json"
}

human_size() { du -sh "$1" 2>/dev/null | cut -f 1; }
# Sets $cpu_now to the CPU seconds (user + system) used so far by this shell's finished
# children: the go commands. `times` must run in this shell, not in a command substitution (a
# subshell would report its own children), hence the variable and the temp file.
cpu_file="$(mktemp "${TMPDIR:-/tmp}/hi-build-times.XXXXXX")"
trap 'rm -f "$cpu_file"' EXIT
cpu_now=0
children_cpu() {
  local u s
  times >"$cpu_file"
  { read -r _ && read -r u s; } <"$cpu_file"
  cpu_now="$(awk -v u="$u" -v s="$s" 'function sec(t, m) { split(t, m, /[ms]/); return m[1] * 60 + m[2] } BEGIN { printf "%d", sec(u) + sec(s) }')"
}
elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
# A path as the user should read it: relative to the repository when it is beside it.
shown() { local p=$1; [[ "$p" == "${root}/"* ]] && p="${p#"${root}"/}"; [[ "$p" == "$(dirname "$root")/"* ]] && p="../${p#"$(dirname "$root")"/}"; printf '%s' "$p"; }

# Prints the wrapper go.mod's lines for the target's go.mod ($1) at version $2: "go X.Y",
# "replace OLD => NEW VERSION" for each module replace, "require PATH $2" for each local replace
# whose module the proxy serves at $2, and "UNPUBLISHED PATH DIR ERROR" for one it does not.
wrapper_lines() {
  local gomod=$1 version=$2 json
  json="$(go mod edit -json "$gomod")"
  # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
  "$node_bin" -e '
    const mod = JSON.parse(process.argv[1]);
    for (const r of mod.Replace || []) {
      const old = r.Old.Path + (r.Old.Version ? " " + r.Old.Version : "");
      if (r.New.Version) console.log(`replace ${old} => ${r.New.Path} ${r.New.Version}`);
      else console.log(`local ${r.Old.Path} ${r.New.Path}`);
    }
    console.log(`go ${mod.Go || "1.22"}`);' "$json" | while read -r kind a b c d; do
    case "$kind" in
    replace) printf 'replace %s %s %s %s\n' "$a" "$b" "$c" "$d" | sed 's/ *$//' ;;
    go) printf 'go %s\n' "$a" ;;
    local)
      # $a = replaced module, $b = local directory it points at.
      local out
      if out="$(go mod download -json "$a@$version" 2>/dev/null)" && ! grep -q '"Error"' <<<"$out"; then
        printf 'require %s %s\n' "$a" "$version"
      else
        printf 'UNPUBLISHED %s %s %s\n' "$a" "$b" "$(grep -o '"Error": *"[^"]*"' <<<"$out" | sed -n 1p |
          sed -e 's/"Error": *"//' -e 's/"$//' -e 's/\\[nt]/ /g' -e "s|^$a@$version: ||")"
      fi
      ;;
    esac
  done
}

declare -a built=() cached=() missing=() new_failures=()
start_cpu=0

# is_cached NAME WANT: the binary is there and was built from WANT (its stamp's first line).
is_cached() { [[ -x "${bin}/$1" && "$(head -n 1 "${status}/$1.ok" 2>/dev/null)" == "$2" ]]; }

# installed NAME WANT SOURCE START: moves ${bin}/NAME.tmp into place and stamps it.
installed() {
  local name=$1 want=$2 source=$3 start=$4
  mv -f "${bin}/${name}.tmp" "${bin}/${name}"
  children_cpu
  printf '%s\nsource: %s\n' "$want" "$source" >"${status}/${name}.ok"
  rm -f "${status}/${name}.missing"
  built+=("$name")
  say "built ${name} ${want##*@} from ${source} in $(elapsed $((SECONDS - start))) (CPU $(elapsed $((cpu_now - start_cpu))), load $(cut -d ' ' -f 1-3 /proc/loadavg); $(human_size "${bin}/${name}"))"
}

# not_built NAME WANT REASON: records why, and removes any binary of that name (it was built
# from something else: its stamp did not match), so no test runs a plugin of another version.
not_built() {
  local name=$1 want=$2 reason=$3 miss="${status}/$1.missing"
  # A failure seen before with the same message stays quiet in the summary.
  if [[ "$(cat "$miss" 2>/dev/null)" != "$want: $reason" ]]; then new_failures+=("$name"); fi
  printf '%s\n' "$want: $reason" >"$miss"
  rm -f "${status}/${name}.ok" "${bin}/${name}" "${bin}/${name}.tmp"
  missing+=("$name")
}

# from_proxy NAME MODULE VERSION MAIN_PACKAGE LDFLAGS: builds ${bin}/NAME.tmp from the module
# proxy through a wrapper module. On failure returns 1 with the reason in $why.
why=""
from_proxy() {
  local name=$1 module=$2 version=$3 pkg=$4 ldflags=$5
  local want="${module}@${version}" work log info gomod lines line err a b c
  work="$(mktemp -d "${TMPDIR:-/tmp}/hi-build-${name}.XXXXXX")"
  log="${work}/build.log"
  # 1. The module itself (zip and go.mod): this is where the proxy says 403.
  info="$(cd "$work" && go mod download -json "$want" 2>>"$log")" || true
  err="$(grep -o '"Error": *"[^"]*"' <<<"$info" | sed -n 1p | sed -e 's/"Error": *"//' -e 's/"$//' -e 's/\\n/ /g' -e 's/\\t/ /g' || true)"
  gomod="$(grep -o '"GoMod": *"[^"]*"' <<<"$info" | sed -e 's/"GoMod": *"//' -e 's/"$//' || true)"
  if [[ -n "$err" || -z "$gomod" || ! -f "$gomod" ]]; then
    [[ -n "$err" ]] || err="$(tail -n 3 "$log" | tr '\n' ' ')"
    why="go mod download: ${err#"${want}: "}"
    rm -rf "$work"
    return 1
  fi
  # 2. The wrapper module: require the target, copy its replaces.
  lines="$(wrapper_lines "$gomod" "$version")"
  if grep -q '^UNPUBLISHED ' <<<"$lines"; then
    line="$(grep '^UNPUBLISHED ' <<<"$lines" | sed -n 1p)"
    read -r _ a b c <<<"$line"
    why="not buildable from the module proxy: its go.mod replaces $a with the local directory $b, which is in no published module (go mod download $a@$version: ${c:-not found})"
    rm -rf "$work"
    return 1
  fi
  {
    printf 'module hybrid-inference.local/build/%s\n\n' "$name"
    grep '^go ' <<<"$lines" | sed -n 1p
    printf '\nrequire %s %s\n' "$module" "$version"
    grep '^require ' <<<"$lines" || true
    grep '^replace ' <<<"$lines" || true
  } >"${work}/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"${work}/tools.go"
  # 3. Resolve every dependency (each must come from the proxy), then build.
  if ! (cd "$work" && go mod tidy) >>"$log" 2>&1; then
    err="$(grep -E 'not available|Forbidden|Not Found|error|cannot|missing|requires go' "$log" | tail -n 3 | tr '\n' ' ')"
    why="go mod tidy in the wrapper module failed: ${err:-$(tail -n 3 "$log" | tr '\n' ' ')}"
    rm -rf "$work"
    return 1
  fi
  if ! (cd "$work" && go build -trimpath -ldflags "-s -w ${ldflags}" -o "${bin}/${name}.tmp" "$pkg") >>"$log" 2>&1; then
    why="go build $pkg failed: $(tail -n 5 "$log" | tr '\n' ' ')"
    rm -rf "$work"
    return 1
  fi
  rm -rf "$work"
}

# from_source NAME SRC MAIN_DIR VERSION LDFLAGS [go mod edit ARG...]: builds ${bin}/NAME.tmp
# from the module in directory SRC (its go.mod), copied to a temp dir first: the build writes
# files (a versioned schema) and SRC may be read-only (a snapshot, Go's module cache). MAIN_DIR
# is the main package, relative to SRC; when it has a generate.go (the providers' `go:generate`
# step that embeds the schema with its version), that runs first with VERSION. Any go mod
# edit ARGs are applied to the copy. generate.go runs with -trimpath like the build, so the
# packages it compiles (a large part of pulumi/pkg for random and kubernetes) are compiled once
# and reused from Go's build cache by the build. On failure returns 1 with the reason in $why.
from_source() {
  local name=$1 src=$2 main_dir=$3 version=$4 ldflags=$5
  shift 5
  local work log
  work="$(mktemp -d "${TMPDIR:-/tmp}/hi-build-${name}.XXXXXX")"
  log="${work}/build.log"
  cp -R "$src" "${work}/src"
  chmod -R u+w "${work}/src"
  if (($# > 0)) && ! (cd "${work}/src" && go mod edit "$@") >>"$log" 2>&1; then
    why="go mod edit $* failed: $(tail -n 3 "$log" | tr '\n' ' ')"
    rm -rf "$work"
    return 1
  fi
  if [[ -f "${work}/src/${main_dir}/generate.go" ]] &&
    ! (cd "${work}/src/${main_dir}" && VERSION="${version#v}" go run -trimpath generate.go) >>"$log" 2>&1; then
    why="VERSION=${version#v} go run generate.go in ${main_dir} failed: $(tail -n 5 "$log" | tr '\n' ' ')"
    rm -rf "$work"
    return 1
  fi
  if ! (cd "${work}/src" && go build -trimpath -ldflags "-s -w ${ldflags}" -o "${bin}/${name}.tmp" "./${main_dir}") >>"$log" 2>&1; then
    why="go build ./${main_dir} failed: $(grep -E 'error|cannot|missing|not available|Forbidden|requires go' "$log" | tail -n 3 | tr '\n' ' ')"
    [[ "$why" != *"failed: " ]] || why+="$(tail -n 5 "$log" | tr '\n' ' ')"
    rm -rf "$work"
    return 1
  fi
  rm -rf "$work"
}

# Sets $snapshot to the snapshot of pulumi-NAME at VERSION in ${third_party}, or returns 1
# with the reason in $why.
snapshot=""
snapshot_dir() {
  local plugin=$1 version=$2 d v found=()
  for d in "${third_party}/pulumi-${plugin}-"*/; do
    [[ -f "${d}provider/go.mod" ]] || continue
    v="${d%/}"
    v="${v##*/pulumi-"${plugin}"-}"
    if [[ "${v#v}" == "${version#v}" ]]; then
      snapshot="${d%/}"
      return 0
    fi
    found+=("$(shown "${d%/}") (${v#v})")
  done
  if ((${#found[@]} > 0)); then
    why="the source snapshot is another version: ${found[*]}, while @pulumi/${plugin} asks for ${version#v}; a plugin of another version is not built"
  else
    why="no source snapshot $(shown "${third_party}")/pulumi-${plugin}-${version#v}"
  fi
  return 1
}

# A provider plugin at $version: module proxy first, then the source we have at that version.
build_provider() {
  local plugin=$1 version=$2 name="pulumi-resource-$1" module major want start proxy_why src
  major="${version%%.*}"
  # Provider module paths: provider/ of each repository, major-version suffix from v2 on.
  module="github.com/pulumi/pulumi-${plugin}/provider"
  [[ "$major" == v0 || "$major" == v1 ]] || module="${module}/${major}"
  want="${module}@${version}"
  if is_cached "$name" "$want"; then
    cached+=("$name")
    return 0
  fi
  start=$SECONDS
  children_cpu
  start_cpu=$cpu_now
  local ldflags="-X ${module}/pkg/version.Version=${version#v}"
  if from_proxy "$name" "$module" "$version" "${module}/cmd/${name}" "$ldflags"; then
    installed "$name" "$want" "module proxy" "$start"
    return 0
  fi
  proxy_why="module proxy: ${why}"
  case "$plugin" in
  command | random)
    if ! snapshot_dir "$plugin" "$version"; then
      not_built "$name" "$want" "${proxy_why}; ${why}"
      return 1
    fi
    src=$snapshot
    say "building ${name} ${version} from $(shown "$src") (the module proxy refuses it)"
    if from_source "$name" "${src}/provider" "cmd/${name}" "$version" "$ldflags"; then
      installed "$name" "$want" "$(shown "$src")" "$start"
      return 0
    fi
    not_built "$name" "$want" "${proxy_why}; source $(shown "$src"): ${why}"
    ;;
  kubernetes)
    local pseudo="${module}@${K8S_PSEUDO_VERSION}"
    if [[ "$version" != "$K8S_PSEUDO_RELEASE" ]]; then
      not_built "$name" "$want" "${proxy_why}; the one version of ${module} the proxy serves, ${K8S_PSEUDO_VERSION}, is the v4.25.0 release commit (f47bc2d6), and @pulumi/kubernetes asks for ${version#v}: a 4.25.0 plugin is not built in its place (pin @pulumi/kubernetes at 4.25.0 as package.json does, or HI_KUBERNETES_PLUGIN_VERSION=v4.25.0 builds it, reporting 4.25.0)"
      return 1
    fi
    local info dir
    info="$(go mod download -json "$pseudo" 2>/dev/null)" || true
    dir="$(grep -o '"Dir": *"[^"]*"' <<<"$info" | sed -e 's/"Dir": *"//' -e 's/"$//' || true)"
    if [[ -z "$dir" || ! -d "$dir" ]]; then
      not_built "$name" "$want" "${proxy_why}; go mod download ${pseudo} failed: $(grep -o '"Error": *"[^"]*"' <<<"$info" | sed -n 1p)"
      return 1
    fi
    say "building ${name} ${version} from ${pseudo} with ${K8S_SDK_MODULE} ${K8S_PSEUDO_RELEASE} (the module proxy refuses ${want})"
    # The provider's go.mod replaces sdk/v4 with ../sdk (the same repository's directory);
    # the published sdk/v4 of the same release stands in for it.
    if from_source "$name" "$dir" "cmd/${name}" "$version" "$ldflags" \
      -replace "${K8S_SDK_MODULE}=${K8S_SDK_MODULE}@${K8S_PSEUDO_RELEASE}"; then
      installed "$name" "$want" "${pseudo} (+ ${K8S_SDK_MODULE}@${K8S_PSEUDO_RELEASE})" "$start"
      return 0
    fi
    not_built "$name" "$want" "${proxy_why}; from ${pseudo}: ${why}"
    ;;
  *)
    not_built "$name" "$want" "${proxy_why}; no other source: a Terraform-bridged provider whose go.mod replaces directories that no published module contains"
    ;;
  esac
  return 1
}

# A binary from the Pulumi monorepo at the CLI's version, from the module proxy only.
build_pulumi_binary() {
  local name=$1 module=$2 pkg=$3 want="$2@${PULUMI_VERSION}" start=$SECONDS
  if is_cached "$name" "$want"; then
    cached+=("$name")
    return 0
  fi
  children_cpu
  start_cpu=$cpu_now
  if from_proxy "$name" "$module" "$PULUMI_VERSION" "$pkg" "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_VERSION}"; then
    installed "$name" "$want" "module proxy" "$start"
    return 0
  fi
  not_built "$name" "$want" "$why"
  return 1
}

wanted() { [[ -z "$only" || ",${only}," == *",$1,"* ]]; }

cli_ok=1
if wanted pulumi; then
  is_cached pulumi "github.com/pulumi/pulumi/pkg/v3@${PULUMI_VERSION}" ||
    say "building the Pulumi CLI ${PULUMI_VERSION} (about 10 CPU-minutes the first time)"
  build_pulumi_binary pulumi github.com/pulumi/pulumi/pkg/v3 github.com/pulumi/pulumi/pkg/v3/cmd/pulumi || cli_ok=0
fi
if wanted pulumi-language-nodejs; then
  build_pulumi_binary pulumi-language-nodejs github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 \
    github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 || true
fi
for plugin in command random kubernetes docker; do
  wanted "pulumi-resource-${plugin}" || continue
  override="HI_$(tr '[:lower:]' '[:upper:]' <<<"$plugin")_PLUGIN_VERSION"
  if [[ -n "${!override:-}" ]]; then
    version="v${!override#v}"
    say "${override}=${version}: building that version, not the one @pulumi/${plugin} asks for"
  elif ! version="$(npm_plugin_version "$plugin")"; then
    missing+=("pulumi-resource-${plugin}")
    printf '%s\n' "node_modules/@pulumi/${plugin} is not installed: run npm ci" >"${status}/pulumi-resource-${plugin}.missing"
    continue
  fi
  build_provider "$plugin" "$version" || true
done

summary="pulumi ${PULUMI_VERSION} toolchain in ${bin}"
[[ ${#built[@]} -eq 0 ]] || summary+="; built: ${built[*]}"
[[ ${#cached[@]} -eq 0 ]] || summary+="; cached: ${cached[*]}"
if ((${#missing[@]} > 0)); then
  summary+="; NOT buildable here: ${missing[*]} (why: ${status}/*.missing)"
fi
say "$summary"
# Details only when something changed: a new build or a new (or different) failure.
for name in "${new_failures[@]}"; do say "  ${name}: $(cat "${status}/${name}.missing")"; done
if ((${#built[@]} + ${#new_failures[@]} > 0)); then
  say "sizes: ${cache} $(human_size "$cache"); Go module cache $(human_size "$(go env GOMODCACHE)"), Go build cache $(human_size "$(go env GOCACHE)")"
fi

if ((cli_ok == 0)); then exit 1; fi
if ((${#missing[@]} > 0 && allow_missing == 0)); then exit 3; fi
exit 0
