"""The extension's own Prometheus metrics: what LiteLLM cannot count.

Names and labels are a contract with the monitoring (core/render/monitoring/metrics.ts,
``ROUTER_EXTENSION``; its alerts and dashboards query them). They are registered only when
the settings say the stack's monitoring is on (``metrics.enabled``) and prometheus_client
imports (the pinned LiteLLM 1.108.7 image ships it; ``litellm[proxy]`` does not).

How they reach Prometheus: with monitoring on, the router runs with
``--prometheus_metrics_port``, and LiteLLM's proxy_cli then always sets
``PROMETHEUS_MULTIPROC_DIR`` before it starts the workers (proxy_cli.py
``maybe_setup_prometheus_multiproc_dir``). prometheus_client, imported after that, backs
every metric's value with a file in that directory; the separate metrics process
(proxy/prometheus_metrics_server.py) reads all workers' files with a
``MultiProcessCollector`` - exactly as it does for LiteLLM's own metrics, which
integrations/prometheus.py registers in the default registry. Without the directory (one
worker, no metrics port) the default registry is what LiteLLM's /metrics serves, so the
metrics are registered there too.

Counters are summed over workers by the collector. The spend gauge is different: every
worker reads the same shared total (the SQLite ``spend`` table), so summing would count it
once per worker, and ``max`` would keep yesterday's total after UTC midnight in a worker
that has not written since. ``mostrecent`` serves the newest reading of the shared total,
which is the truth; the poller's lease holder refreshes it every poll interval, so the day
rolls over without traffic (and a dead worker's last reading is superseded at once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .admission import REFUSAL_REASONS
from .confidence import ESCALATION_REASONS

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge

log = logging.getLogger("hybrid_router")

ENGINE_REFUSALS = "hybrid_router_engine_refusals"
ESCALATIONS = "hybrid_router_escalations"
STREAM_BREAKS = "hybrid_router_stream_breaks"
FRONTIER_SPEND_TODAY = "hybrid_router_frontier_spend_today_usd"
BUDGET_REFUSALS = "hybrid_router_budget_refusals"

#: Why a request left an engine: admission's verdicts, and `failed` (callback.py: the engine
#: already failed this request).
ENGINE_REFUSAL_REASONS = (*REFUSAL_REASONS, "failed")
ESCALATION_OUTCOMES = ("escalated", "failed")
STREAM_OUTCOMES = ("continued", "broken")


class _Metrics:
    """The prometheus_client objects, registered once in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Gauge

        # A Counter named `x` is exposed as `x_total`.
        self.engine_refusals: Counter = Counter(
            ENGINE_REFUSALS,
            "Requests the router extension did not send to an engine, by engine and why "
            "(admission: down, rate, waiting, kv, running; failed: the engine already failed the request).",
            ("engine", "reason"),
            registry=registry,
        )
        self.escalations: Counter = Counter(
            ESCALATIONS,
            "Low-confidence engine answers re-asked of the frontier tier, by reason and outcome (escalated, failed).",
            ("reason", "outcome"),
            registry=registry,
        )
        self.stream_breaks: Counter = Counter(
            STREAM_BREAKS,
            "Streams an upstream broke after their first byte, by outcome (continued on the next tier, broken).",
            ("outcome",),
            registry=registry,
        )
        self.budget_refusals: Counter = Counter(
            BUDGET_REFUSALS,
            "Requests refused because the frontier provider's daily budget was spent, by provider.",
            ("provider",),
            registry=registry,
        )
        self.spend_today: Gauge = Gauge(
            FRONTIER_SPEND_TODAY,
            "Today's (UTC) frontier spend in USD per provider, as the extension's budget guard counts it.",
            ("provider",),
            registry=registry,
            multiprocess_mode="mostrecent",
        )


_DEFAULT: _Metrics | None = None


def _default_metrics() -> _Metrics | None:
    """The process-wide metrics in prometheus_client's default registry; None without the library."""
    global _DEFAULT
    if _DEFAULT is None:
        try:
            from prometheus_client import REGISTRY
        except ImportError:
            log.warning("hybrid_router: monitoring is on but prometheus_client is not installed; the extension exports no metrics")
            return None
        _DEFAULT = _Metrics(REGISTRY)
    return _DEFAULT


class Exporter:
    """Records the extension's events as metrics; does nothing when monitoring is off."""

    def __init__(self, enabled: bool, registry: CollectorRegistry | None = None) -> None:
        if not enabled:
            self._m: _Metrics | None = None
        elif registry is not None:
            self._m = _Metrics(registry)
        else:
            self._m = _default_metrics()

    @property
    def active(self) -> bool:
        return self._m is not None

    def declare(self, engines: Iterable[str], frontier_providers: Iterable[str]) -> None:
        """Creates every series the stack can have at 0, so that a dashboard or alert finds it
        before its first event, and rate() counts that first event (a series' first sample
        is the base rate() compares with). The label sets are small and known: engines x 6
        reasons, 4 x 2 escalations, 2 stream outcomes, one per frontier provider."""
        m = self._m
        if m is None:
            return
        for engine in engines:
            for reason in ENGINE_REFUSAL_REASONS:
                m.engine_refusals.labels(engine=engine, reason=reason)
        for reason in ESCALATION_REASONS:
            for outcome in ESCALATION_OUTCOMES:
                m.escalations.labels(reason=reason, outcome=outcome)
        for outcome in STREAM_OUTCOMES:
            m.stream_breaks.labels(outcome=outcome)
        for provider in frontier_providers:
            m.budget_refusals.labels(provider=provider)

    def engine_refused(self, engine: str, reason: str) -> None:
        if self._m is not None:
            self._m.engine_refusals.labels(engine=engine, reason=reason).inc()

    def escalation(self, reason: str, *, escalated: bool) -> None:
        if self._m is not None:
            self._m.escalations.labels(reason=reason, outcome="escalated" if escalated else "failed").inc()

    def stream_break(self, *, continued: bool) -> None:
        if self._m is not None:
            self._m.stream_breaks.labels(outcome="continued" if continued else "broken").inc()

    def budget_refused(self, providers: Iterable[str]) -> None:
        if self._m is not None:
            for provider in providers:
                self._m.budget_refusals.labels(provider=provider).inc()

    def spend_today(self, provider: str, usd: float) -> None:
        if self._m is not None:
            self._m.spend_today.labels(provider=provider).set(usd)
