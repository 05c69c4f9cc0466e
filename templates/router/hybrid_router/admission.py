"""Whether an engine takes one more request: the rule, on plain values.

One budget per engine, whatever model name (base or adapter) the request used and
whichever router worker handles it:

1. An engine out of rotation (failed probes, a timed-out request, a stalled batch) takes
   nothing until it recovers (``state``/``poller``).
2. The planned rate is the ceiling: a GCRA (generic cell rate algorithm, the leaky bucket
   as a virtual scheduling rule) with emission interval 60/planned_rpm seconds and a burst
   of ``burst_s`` seconds of rate. Over any window of D seconds it admits at most
   burst + D x rate requests, so over a minute the over-admission is at most
   burst_s/60 of the planned rate. The planned rate is the planner's operating point
   (capacity model, or measured capacity when the stack has it); live signals only lower it.
3. With a fresh metrics snapshot, the engine is saturated (and skipped) when requests wait
   in its queue (more than ``max_waiting``), when its KV cache is at ``kv_cache_limit``, or
   when the running batch plus what this router has sent since the snapshot reaches the
   batch size: the planned concurrency, lowered to the running count at which the engine
   was last seen queueing (``state`` learns it from the samples), so that between two
   samples the router does not send a slower-than-planned engine more than it runs. A stale or missing snapshot leaves rule 2 in charge (the static planned
   rate is the fallback when metrics are unreachable), with the router's own in-flight
   count against ``max_running`` as a lower bound on the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .metrics import LoadSample


@dataclass(frozen=True)
class EngineView:
    """An engine's shared state as one admission decision sees it."""

    planned_rpm: float
    max_running: int
    #: GCRA theoretical arrival time (epoch seconds); 0 for a fresh engine.
    tat: float
    #: Requests this router has admitted to the engine and not yet seen finish.
    inflight: int
    down: bool
    sample: LoadSample | None
    sampled_at: float
    #: `inflight` when the sample was taken, to count what was sent since.
    inflight_at_sample: int
    #: The batch size learned from the samples (None: not yet); used only with a fresh sample.
    batch: int | None = None


@dataclass(frozen=True)
class Verdict:
    admit: bool
    #: ok | down | rate | waiting | kv | running
    reason: str
    #: Fraction of the engine's batch in use (projected); lower is preferred among engines.
    load: float
    #: The engine's next GCRA state if this request is admitted.
    next_tat: float


#: Every reason `judge` refuses with (the refusal metric's `reason` label values, with the
#: callback's `failed`: an engine that already failed the request).
REFUSAL_REASONS = ("down", "rate", "waiting", "kv", "running")


def emission_interval(planned_rpm: float) -> float:
    return 60.0 / planned_rpm


def burst_requests(planned_rpm: float, burst_s: float) -> int:
    """Requests that may arrive at once: `burst_s` seconds of the planned rate, at least one."""
    return max(1, math.floor(burst_s / emission_interval(planned_rpm) + 1e-9))


def judge(
    view: EngineView,
    now: float,
    *,
    live_enabled: bool,
    stale_after_s: float,
    max_waiting: int,
    kv_cache_limit: float,
    burst_s: float,
) -> Verdict:
    interval = emission_interval(view.planned_rpm)
    tau = (burst_requests(view.planned_rpm, burst_s) - 1) * interval
    start = max(view.tat, now)
    next_tat = start + interval
    fresh = live_enabled and view.sample is not None and now - view.sampled_at <= stale_after_s
    batch = view.max_running
    if fresh and view.sample is not None:
        if view.batch is not None:
            batch = max(1, min(batch, view.batch))
        sent_since = max(0, view.inflight - view.inflight_at_sample)
        projected = view.sample.running + view.sample.waiting + sent_since
    else:
        projected = float(view.inflight)
    load = projected / batch
    if view.down:
        return Verdict(False, "down", load, view.tat)
    if start - now > tau + 1e-9:
        return Verdict(False, "rate", load, view.tat)
    if fresh and view.sample is not None:
        if view.sample.waiting > max_waiting:
            return Verdict(False, "waiting", load, view.tat)
        if view.sample.kv_usage >= kv_cache_limit:
            return Verdict(False, "kv", load, view.tat)
    # Without a fresh snapshot the router's own in-flight count is still a lower bound on
    # the engine's batch.
    if projected >= batch:
        return Verdict(False, "running", load, view.tat)
    return Verdict(True, "ok", load, next_tat)
