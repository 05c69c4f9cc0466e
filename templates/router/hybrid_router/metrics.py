"""Reading an engine's live load from its Prometheus endpoint.

Metric names are vLLM v0.33.0's (vllm/v1/metrics/loggers.py, PrometheusStatLogger):
``vllm:num_requests_running`` and ``vllm:num_requests_waiting`` (gauges, requests in the
running batch and queued), ``vllm:kv_cache_usage_perc`` (gauge, 1.0 = full), and the
counters ``vllm:prompt_tokens`` / ``vllm:generation_tokens`` (exposed with the ``_total``
suffix prometheus_client adds to counters). ``vllm:iteration_tokens_total`` is a histogram
observed once per engine step, so its ``_count`` moves during a long chunked prefill when
the token counters do not (the prompt counter is only incremented when a prefill finishes,
vllm/v1/metrics/stats.py). Every series carries ``model_name`` and ``engine`` labels; an
engine with data-parallel replicas exposes one series per replica, so values are summed
(the KV usage is averaged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"
KV_USAGE = "vllm:kv_cache_usage_perc"
PROMPT_TOKENS = "vllm:prompt_tokens_total"
GENERATION_TOKENS = "vllm:generation_tokens_total"
ITERATIONS = "vllm:iteration_tokens_total_count"


@dataclass(frozen=True)
class LoadSample:
    running: float
    waiting: float
    kv_usage: float
    #: Sum of the engine's progress counters (prompt and generated tokens, engine steps): it
    #: moves whenever the engine does work.
    progress: float


def parse_vllm_metrics(text: str) -> LoadSample | None:
    """The engine's load from a Prometheus text exposition; None when the gauges are absent."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_end = len(line)
        for i, ch in enumerate(line):
            if ch == "{" or ch == " ":
                name_end = i
                break
        name = line[:name_end]
        if name not in (RUNNING, WAITING, KV_USAGE, PROMPT_TOKENS, GENERATION_TOKENS, ITERATIONS):
            continue
        # The value follows the label set (which may contain spaces inside quotes).
        rest = line[name_end:]
        if rest.startswith("{"):
            close = _label_set_end(rest)
            if close < 0:
                continue
            rest = rest[close + 1 :]
        parts = rest.split()
        if not parts:
            continue
        try:
            value = float(parts[0])
        except ValueError:
            continue
        if math.isnan(value):
            continue
        sums[name] = sums.get(name, 0.0) + value
        counts[name] = counts.get(name, 0) + 1
    if RUNNING not in sums or WAITING not in sums:
        return None
    kv = sums.get(KV_USAGE, 0.0) / max(1, counts.get(KV_USAGE, 1))
    progress = sums.get(PROMPT_TOKENS, 0.0) + sums.get(GENERATION_TOKENS, 0.0) + sums.get(ITERATIONS, 0.0)
    return LoadSample(running=sums[RUNNING], waiting=sums[WAITING], kv_usage=kv, progress=progress)


def _label_set_end(text: str) -> int:
    """Index of the `}` closing the label set that `text` starts with, honouring quoted values."""
    in_quotes = False
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            in_quotes = not in_quotes
        elif ch == "}" and not in_quotes:
            return i
    return -1
