#!/usr/bin/env bash
# hybrid-inference step "readiness": the readiness gate `pulumi up` waits on.
#
# Runs on the host after a container is (re)created, and succeeds only once the container
# serves what the plan says it serves:
#   vllm    GET /v1/models lists the served model and every LoRA adapter (vLLM's
#           OpenAI-compatible server lists both: vllm/entrypoints/openai/serving_models.py);
#   lorax   GET /health answers 200, then a one-token completion for the base model and for
#           each adapter, with the `model` and `adapter_source` the router sends (LoRAX has no
#           /v1/models: core/render/lorax.ts);
#   router  GET /health/readiness says "healthy" (LiteLLM's unauthenticated readiness probe),
#           then the router reaches every engine upstream the way it will send requests: its
#           /v1/models (vLLM) or /health (LoRAX), with the key the router holds.
# The check itself runs inside the container (`docker exec`, a Python program on stdin: every
# engine and router image ships python3), so it reaches the service on 127.0.0.1 whether or
# not a port is published, and the engine key it sends is read there from the container's own
# environment, by name: no key travels to the check or appears on any command line.
#
# It asks every HI_POLL_S seconds, for at most HI_TIMEOUT_S (the engine's planned cold start:
# core/plan/rollout.ts), and prints progress every minute. It fails early when the container
# keeps crashing (3 restarts by Docker during the wait). On failure it prints why, the
# container's state and its last HI_LOG_LINES log lines, with the values of the container's
# secret variables (HI_SECRET_ENV, by name) replaced by [redacted]; a container whose
# environment cannot be read has its log withheld instead.
#
# Environment (values arrive as quoted data; nothing here is spliced into code):
#   HI_CONTAINER   required. The container to check.
#   HI_CHECK       required. vllm, lorax or router.
#   HI_PROBES      required. JSON: what must be served (core/render/readiness.ts).
#   HI_SECRET_ENV  optional. Comma-separated names of the container's secret variables.
#   HI_TIMEOUT_S   required. Seconds to wait at most.
#   HI_POLL_S      required. Seconds between attempts.
#   HI_LOG_LINES   required. Log lines to print on failure.
#   HI_SETTLE_S    optional, default 0. Seconds to wait once the container serves, before the
#                  step ends (and the next host of a rollout may change): the router's
#                  cooldown_time, during which it keeps an engine it saw failing out of rotation.
#   HI_ROOT        tests only.
STEP=readiness
# @include common.sh (inlined by core/render/script.ts; see templates/lib/common.sh)

readonly NAME_RE='^[A-Za-z0-9][A-Za-z0-9_.-]*$'
readonly MAX_CRASHES=3

validate() {
  local v
  for v in HI_CONTAINER HI_CHECK HI_PROBES HI_TIMEOUT_S HI_POLL_S HI_LOG_LINES; do
    require "$v" "core/render/readiness.ts renders every variable of this step"
  done
  [[ "$HI_CONTAINER" =~ $NAME_RE ]] || die "HI_CONTAINER must be a container name, got '$HI_CONTAINER'"
  [[ "$HI_CHECK" =~ ^(vllm|lorax|router)$ ]] || die "HI_CHECK must be vllm, lorax or router, got '$HI_CHECK'"
  [[ "${HI_SECRET_ENV:-}" =~ ^([A-Z_][A-Z0-9_]*(,[A-Z_][A-Z0-9_]*)*)?$ ]] || die "HI_SECRET_ENV must be comma-separated variable names, got '$HI_SECRET_ENV'"
  for v in HI_TIMEOUT_S HI_POLL_S HI_LOG_LINES; do
    if ! is_uint "${!v}" || ((${!v} == 0)); then die "$v must be a whole number above 0, got '${!v}'"; fi
  done
  SETTLE_S="${HI_SETTLE_S:-0}"
  is_uint "$SETTLE_S" || die "HI_SETTLE_S must be a whole number of seconds, got '$SETTLE_S'"
}

# The check, run by the container's python3 with argv [mode, probes JSON]. Prints one line: what
# is served (exit 0) or why not yet (exit 1).
read -r -d '' PROBE <<'PY' || true
import json, os, sys, urllib.error, urllib.request

mode, probes = sys.argv[1], json.loads(sys.argv[2])

class NotReady(Exception):
    pass

def call(url, key_env=None, body=None, timeout=10):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key_env:
        key = os.environ.get(key_env)
        if not key:
            raise NotReady(f"{key_env} is not set in the container")
        headers["Authorization"] = "Bearer " + key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as e:
        text = e.read()[:300].decode("utf-8", "replace").replace("\n", " ")
        raise NotReady(f"{url} answered HTTP {e.code}: {text}")
    except urllib.error.URLError as e:
        raise NotReady(f"{url}: {e.reason}")
    except OSError as e:
        raise NotReady(f"{url}: {e}")
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise NotReady(f"{url} answered something that is not JSON: {raw[:120]!r}")

def listed_models(url, key_env, expected):
    doc = call(url + "/models", key_env)
    ids = sorted(m.get("id") for m in (doc or {}).get("data", []) if isinstance(m, dict))
    missing = [m for m in expected if m not in ids]
    if missing:
        raise NotReady(f"{url}/models lists {', '.join(ids) or 'nothing'}, not {', '.join(missing)}")

try:
    if mode == "vllm":
        listed_models(probes["url"] + "/v1", probes["key_env"], probes["models"])
        print(f"serving {', '.join(probes['models'])} on {probes['url']}/v1")
    elif mode == "lorax":
        call(probes["url"] + "/health")
        for r in probes["requests"]:
            body = {"model": r["model"], "prompt": "ping", "max_tokens": 1}
            if r.get("adapter_source"):
                body["adapter_source"] = r["adapter_source"]
            call(probes["url"] + "/v1/completions", body=body, timeout=60)
        print(f"serving {', '.join(r['name'] for r in probes['requests'])} on {probes['url']}")
    elif mode == "router":
        doc = call(probes["url"] + "/health/readiness")
        if (doc or {}).get("status") != "healthy":
            raise NotReady(f"/health/readiness says {doc!r}")
        for u in probes["upstreams"]:
            try:
                if u["kind"] == "vllm":
                    listed_models(u["api_base"], u["key_env"], u["models"])
                else:
                    call(u["api_base"].rsplit("/v1", 1)[0] + "/health")
            except NotReady as e:
                raise NotReady(f"the router cannot use the engine of {u['name']}: {e}")
        print(f"router ready; it reaches {', '.join(u['name'] for u in probes['upstreams'])}")
    else:
        raise NotReady(f"unknown check {mode}")
except NotReady as e:
    print(e)
    sys.exit(1)
PY

# Prints stdin with the values of the container's secret variables replaced; withholds it when
# the container's environment cannot be read. Names and the container come as argv.
read -r -d '' REDACT <<'PY' || true
import json, subprocess, sys

container, names = sys.argv[1], [n for n in sys.argv[2].split(",") if n]
text = sys.stdin.read()
if names:
    try:
        out = subprocess.run(["docker", "inspect", "--format", "{{json .Config.Env}}", container],
                             capture_output=True, text=True, check=True).stdout
        env = json.loads(out) or []
    except Exception:
        print("(withheld: the container's environment could not be read to redact its secrets)")
        sys.exit(0)
    values = [item.partition("=")[2] for item in env if item.partition("=")[0] in names]
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, "[redacted]")
sys.stdout.write(text)
PY

redact() { python3 -c "$REDACT" "$HI_CONTAINER" "${HI_SECRET_ENV:-}"; }

# "<status> <restart count> <exit code>", or nothing when the container does not exist.
container_state() {
  docker inspect --format '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}' "$HI_CONTAINER" 2>/dev/null || true
}

give_up() {
  local why=$1 state
  state="$(container_state)"
  fail "$(redact <<<"$HI_CONTAINER is not ready: $why")"
  fail "container state: ${state:-gone} (status, restarts by Docker, last exit code)"
  fail "its last $HI_LOG_LINES log lines (secrets redacted; all of it: docker logs $HI_CONTAINER):"
  { docker logs --tail "$HI_LOG_LINES" "$HI_CONTAINER" 2>&1 || true; } | redact | sed 's/^/    /' >&2
  exit 1
}

main() {
  validate
  command -v docker >/dev/null 2>&1 || die "docker not found: run the host bootstrap (docker step) first"
  local state status restarts code first_restarts="" waited=0 out reason="not asked yet" attempt=0
  while :; do
    state="$(container_state)"
    [[ -n "$state" ]] || die "the container $HI_CONTAINER does not exist: this step runs after it is created"
    read -r status restarts code <<<"$state"
    [[ -n "$first_restarts" ]] || first_restarts="$restarts"
    if [[ "$status" == running ]]; then
      if out="$(docker exec -i "$HI_CONTAINER" python3 - "$HI_CHECK" "$HI_PROBES" <<<"$PROBE" 2>&1)"; then
        say "$HI_CONTAINER is ready after ${waited}s: $(redact <<<"$out")"
        if ((SETTLE_S > 0)); then
          say "waiting ${SETTLE_S}s (the router's cooldown_time) so the router takes $HI_CONTAINER back into rotation before the next host changes"
          sleep "$SETTLE_S"
        fi
        return 0
      fi
      reason="$(tail -n 1 <<<"$out")"
    else
      reason="the container is $status (last exit code $code)"
    fi
    if ((restarts - first_restarts >= MAX_CRASHES)); then
      give_up "it crashed and was restarted $((restarts - first_restarts)) times in ${waited}s; last: $reason"
    fi
    ((waited < HI_TIMEOUT_S)) || give_up "still not serving after ${HI_TIMEOUT_S}s (the plan's deadline); last: $reason"
    # One line a minute: the deployment's log shows it waiting, and the SSH session never goes idle.
    if ((attempt % (60 / HI_POLL_S > 0 ? 60 / HI_POLL_S : 1) == 0)); then
      say "waiting for $HI_CONTAINER (${waited}s of ${HI_TIMEOUT_S}s): $(redact <<<"$reason")"
    fi
    sleep "$HI_POLL_S"
    waited=$((waited + HI_POLL_S))
    attempt=$((attempt + 1))
  done
}

main "$@" </dev/null
