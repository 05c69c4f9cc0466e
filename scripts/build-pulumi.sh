#!/usr/bin/env bash
# Builds the Pulumi CLI, the Node.js language host and the provider plugins the stacks use,
# from Go modules, into <repo>/.cache/pulumi/<cli version>/bin, for the engine tests in
# test/engine (`pulumi preview` of every stack, `pulumi up` against an SSH test host).
# The Pulumi CLI is in neither the npm nor the Debian registry; it and its plugins are Go
# modules, so the Go module proxy is the one registry they can come from.
#
# What is built, and at which version:
#   pulumi                      github.com/pulumi/pulumi/pkg/v3, cmd/pulumi, at HI_PULUMI_VERSION
#                               (default v3.274.1, see below)
#   pulumi-language-nodejs      github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3,
#                               same version as the CLI (it ships with it)
#   pulumi-resource-<name>      for command, docker, random, kubernetes: the version the installed
#                               npm package @pulumi/<name> asks for (its package.json
#                               "pulumi.version"), so the plugin matches the SDK in package-lock
#
# Why the CLI is v3.274.1 and not 3.270.0 (the @pulumi/pulumi in package-lock): the proxy serves
# pkg/v3@v3.270.0's .info and .mod but answers 403 "This module version is not available" for
# its .zip; v3.274.1 is the nearest version it serves that is not older than the SDK (a CLI
# newer than the SDK is supported; an older one is not). Override with HI_PULUMI_VERSION.
#
# Each binary is built from a small generated wrapper module (go.mod + tools.go in a temp dir)
# that requires the target module and copies its non-local `replace` directives: `go install
# pkg@version` refuses modules whose go.mod has replace directives, and pkg/v3's has two.
# A local replace (`=> ../sdk`) is turned into a require of that module at the same version
# (the Pulumi monorepo tags all its modules together); when that module does not exist (a
# provider whose go.mod points at `./shim` or `../upstream`, directories that are part of no
# published module) the binary cannot be built from the proxy at all, and this says so.
#
# Idempotent: a binary is rebuilt only when missing or built from another module@version
# (status/<name>.ok). When everything is present it prints one line. A binary that cannot be
# built is retried on every run (quietly: a refusal costs well under a second) and its error is
# kept in status/<name>.missing, which the engine tests quote when they skip.
#
# Usage: bash scripts/build-pulumi.sh [--allow-missing] [--only NAME[,NAME...]]
#   exit 0  everything built (or, with --allow-missing, at least the CLI)
#   exit 1  the CLI could not be built, or Go is missing
#   exit 3  the CLI is built but some plugins are not (without --allow-missing)
#
# Environment: HI_PULUMI_VERSION (CLI version, default v3.274.1), HI_GOPROXY (default
# https://proxy.golang.org, without ",direct": nothing here may fetch from a VCS host).
# Needs Go >= the go directive of pkg/v3 (1.26.6 for v3.274.1); GOTOOLCHAIN=local, so Go never
# downloads a toolchain. Needs Node (for the npm package versions): run through npm, or with
# node_modules/.bin on PATH.
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
elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

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

# build NAME MODULE VERSION MAIN_PACKAGE LDFLAGS: returns 0 when the binary is in place.
declare -a built=() cached=() missing=() new_failures=()
build() {
  local name=$1 module=$2 version=$3 pkg=$4 ldflags=$5
  local out="${bin}/${name}" stamp="${status}/${name}.ok" miss="${status}/${name}.missing"
  local want="${module}@${version}" work log start info gomod lines line err a b c
  if [[ -x "$out" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    cached+=("$name")
    return 0
  fi
  work="$(mktemp -d "${TMPDIR:-/tmp}/hi-build-${name}.XXXXXX")"
  log="${work}/build.log"
  start=$SECONDS
  fail() {
    # A failure seen before with the same message stays quiet in the summary.
    if [[ "$(cat "$miss" 2>/dev/null)" != "$want: $1" ]]; then new_failures+=("$name"); fi
    printf '%s\n' "$want: $1" >"$miss"
    rm -f "$stamp"
    missing+=("$name")
    rm -rf "$work"
    return 1
  }
  # 1. The module itself (zip and go.mod): this is where the proxy says 403.
  info="$(cd "$work" && go mod download -json "$want" 2>>"$log")" || true
  err="$(grep -o '"Error": *"[^"]*"' <<<"$info" | sed -n 1p | sed -e 's/"Error": *"//' -e 's/"$//' -e 's/\\n/ /g' -e 's/\\t/ /g' || true)"
  gomod="$(grep -o '"GoMod": *"[^"]*"' <<<"$info" | sed -e 's/"GoMod": *"//' -e 's/"$//' || true)"
  if [[ -n "$err" || -z "$gomod" || ! -f "$gomod" ]]; then
    [[ -n "$err" ]] || err="$(tail -n 3 "$log" | tr '\n' ' ')"
    fail "go mod download: ${err#"${want}: "}"
    return 1
  fi
  # 2. The wrapper module: require the target, copy its replaces.
  lines="$(wrapper_lines "$gomod" "$version")"
  if grep -q '^UNPUBLISHED ' <<<"$lines"; then
    line="$(grep '^UNPUBLISHED ' <<<"$lines" | sed -n 1p)"
    read -r _ a b c <<<"$line"
    fail "not buildable from the module proxy: its go.mod replaces $a with the local directory $b, which is in no published module (go mod download $a@$version: ${c:-not found})"
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
    fail "go mod tidy in the wrapper module failed: ${err:-$(tail -n 3 "$log" | tr '\n' ' ')}"
    return 1
  fi
  if ! (cd "$work" && go build -trimpath -ldflags "-s -w ${ldflags}" -o "${out}.tmp" "$pkg") >>"$log" 2>&1; then
    fail "go build $pkg failed: $(tail -n 5 "$log" | tr '\n' ' ')"
    return 1
  fi
  mv -f "${out}.tmp" "$out"
  printf '%s\n' "$want" >"$stamp"
  rm -f "$miss"
  built+=("$name")
  say "built ${name} ${version} in $(elapsed $((SECONDS - start))) ($(human_size "$out"))"
  rm -rf "$work"
}

wanted() { [[ -z "$only" || ",${only}," == *",$1,"* ]]; }

sdk_version_pkg="github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
cli_ok=1
if wanted pulumi; then
  [[ -x "${bin}/pulumi" && "$(cat "${status}/pulumi.ok" 2>/dev/null)" == "github.com/pulumi/pulumi/pkg/v3@${PULUMI_VERSION}" ]] ||
    say "building the Pulumi CLI ${PULUMI_VERSION} (about 10 minutes on 2 cores the first time)"
  build pulumi github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "-X ${sdk_version_pkg}=${PULUMI_VERSION}" || cli_ok=0
fi
if wanted pulumi-language-nodejs; then
  build pulumi-language-nodejs github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "$PULUMI_VERSION" \
    github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "-X ${sdk_version_pkg}=${PULUMI_VERSION}" || true
fi
# Provider module paths: provider/ of each repository, major-version suffix from v2 on.
for plugin in command docker random kubernetes; do
  wanted "pulumi-resource-${plugin}" || continue
  version="$(npm_plugin_version "$plugin")" || {
    missing+=("pulumi-resource-${plugin}")
    printf '%s\n' "node_modules/@pulumi/${plugin} is not installed: run npm ci" >"${status}/pulumi-resource-${plugin}.missing"
    continue
  }
  major="${version%%.*}"
  module="github.com/pulumi/pulumi-${plugin}/provider"
  [[ "$major" == v0 || "$major" == v1 ]] || module="${module}/${major}"
  build "pulumi-resource-${plugin}" "$module" "$version" "${module}/cmd/pulumi-resource-${plugin}" \
    "-X ${module}/pkg/version.Version=${version}" || true
done

summary="pulumi ${PULUMI_VERSION} toolchain in ${bin#"${root}"/}"
[[ ${#built[@]} -eq 0 ]] || summary+="; built: ${built[*]}"
[[ ${#cached[@]} -eq 0 ]] || summary+="; cached: ${cached[*]}"
if ((${#missing[@]} > 0)); then
  summary+="; NOT buildable here: ${missing[*]} (why: ${status#"${root}"/}/*.missing)"
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
