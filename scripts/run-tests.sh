#!/usr/bin/env bash
# Runs the test suite as `npm test` does after its installs and type-check: the two vitest
# projects of vitest.config.mts ("waiting" and "main") side by side, each one file at a time,
# every output line prefixed with its lane. Exits non-zero when either lane fails (the first
# failing lane's status), and prints each lane's wall time with the load average.
#
# With arguments (`npm test -- test/plan`, `--project main`, `-t name`...) it runs a single
# `vitest run` with them instead: a filter meant for one lane would otherwise fail the other
# with "No test files found".
#
# Why lanes: most of the suite's time is real timers (vitest.config.mts); one file at a time it
# took 24 minutes on 2 cores while using about 12 CPU-minutes (user and system).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
vitest=node_modules/.bin/vitest

if [[ $# -gt 0 ]]; then
  exec "$vitest" run "$@"
fi

lanes=(waiting main)
pids=()
started=$(date +%s)

# Each lane runs in its own process group (set -m). On an interrupt, or when this script
# exits, whatever is left of a lane is stopped: its vitest and the proxies, clusters and sshd
# its test files started.
# shellcheck disable=SC2317 # called by the traps (shellcheck 0.9 misses that, here only)
stop_lanes() {
  for pid in "${pids[@]}"; do kill -TERM -- "-${pid}" 2>/dev/null || true; done
}
trap stop_lanes EXIT
trap 'stop_lanes; exit 130' INT
trap 'stop_lanes; exit 143' TERM

set -m
for lane in "${lanes[@]}"; do
  (
    s=$(date +%s)
    # sed reads all of vitest's output (no reader that stops early under pipefail); -u keeps
    # the two lanes' lines interleaved as they happen rather than in 4 KiB blocks.
    status=0
    "$vitest" run --project "$lane" 2>&1 | sed -u "s/^/[${lane}] /" || status=$?
    echo "[${lane}] lane finished: exit ${status} after $(($(date +%s) - s)) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
    exit "$status"
  ) &
  pids+=("$!")
done
set +m

result=0
for i in "${!pids[@]}"; do
  status=0
  wait "${pids[$i]}" || status=$?
  if [[ $status -ne 0 && $result -eq 0 ]]; then result=$status; fi
  if [[ $status -ne 0 ]]; then echo "lane ${lanes[$i]} failed (exit ${status}): see its [${lanes[$i]}] lines above" >&2; fi
done
echo "test lanes done in $(($(date +%s) - started)) s (exit ${result}), load $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$result"
