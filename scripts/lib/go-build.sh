# shellcheck shell=bash
# Helpers for the scripts that build test tools from Go modules into a shared cache
# (scripts/build-kube.sh; scripts/build-pulumi.sh follows the same rules with its own copies).
# Sourced, not run. Every function prints its messages with the caller's `say`.
#
# The rules they encode:
#   - caches live outside the work tree (~/.cache/hybrid-inference/<tool>/<version>), so a fresh
#     clone on the same machine reuses builds that take minutes;
#   - Go fetches only from the module proxy (no ",direct": nothing may clone from a VCS host),
#     never downloads a toolchain (GOTOOLCHAIN=local), and ignores any go.work around it;
#   - one build at a time per cache directory (flock), so parallel CI jobs can share one;
#   - a binary is rebuilt only when it is missing or its stamp names another module@version.

# hi_cache_root NAME: the default cache root of a tool, ~/.cache/hybrid-inference/NAME.
hi_cache_root() {
  printf '%s/hybrid-inference/%s\n' "${XDG_CACHE_HOME:-${HOME}/.cache}" "$1"
}

# hi_elapsed SECONDS: "3m25s".
hi_elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# hi_human_size PATH: "118M".
hi_human_size() { du -sh "$1" 2>/dev/null | cut -f 1; }

# hi_go_env: checks for Go and exports the environment every build runs in; returns 1 (after
# saying why) when Go is missing. HI_GOPROXY overrides the proxy (still without ",direct").
hi_go_env() {
  if ! command -v go >/dev/null 2>&1; then
    say "go not found: install Go (https://go.dev/doc/install); these tools are built from Go modules" >&2
    return 1
  fi
  export GOPROXY="${HI_GOPROXY:-https://proxy.golang.org}"
  export GOFLAGS="-mod=mod -buildvcs=false"
  export GOTOOLCHAIN=local
  export GOWORK=off
  export CGO_ENABLED=0
}

# hi_lock DIR: holds an exclusive lock on DIR/.lock (fd 9) until the script exits.
hi_lock() {
  mkdir -p "$1"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$1/.lock"
    flock 9
  fi
}

# hi_stamp_ok BINARY STAMP WANT: the binary exists and was built from WANT (module@version).
hi_stamp_ok() {
  [[ -x "$1" && "$(cat "$2" 2>/dev/null)" == "$3" ]]
}

# hi_module_dir MODULE@VERSION: downloads the module (zip and go.mod) from the proxy and prints
# "DIR GOMOD" (its extracted directory and its go.mod file); returns 1 with the proxy's error.
hi_module_dir() {
  local info err dir gomod
  info="$(cd "${TMPDIR:-/tmp}" && go mod download -json "$1" 2>&1)" || true
  err="$(grep -o '"Error": *"[^"]*"' <<<"$info" | sed -n 1p | sed -e 's/"Error": *"//' -e 's/"$//' -e 's/\\[nt]/ /g' || true)"
  dir="$(grep -o '"Dir": *"[^"]*"' <<<"$info" | sed -e 's/"Dir": *"//' -e 's/"$//' || true)"
  gomod="$(grep -o '"GoMod": *"[^"]*"' <<<"$info" | sed -e 's/"GoMod": *"//' -e 's/"$//' || true)"
  if [[ -n "$err" || -z "$dir" || ! -d "$dir" || ! -f "$gomod" ]]; then
    say "go mod download $1 failed: ${err:-$(tail -n 3 <<<"$info" | tr '\n' ' ')}" >&2
    return 1
  fi
  printf '%s %s\n' "$dir" "$gomod"
}
