"""The extension's Prometheus metrics (hybrid_router/exporter.py): names and labels the
monitoring queries (core/render/monitoring/metrics.ts ROUTER_EXTENSION), counted where the
callback decides, and aggregated over worker processes as LiteLLM's metrics port does."""

import asyncio
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from typing import Any

# Before litellm is imported (by hybrid_router.callback): its bundled cost map, as the router
# image runs it, and no fetch from the internet.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402

from hybrid_router.exporter import Exporter  # noqa: E402
from hybrid_router.metrics import LoadSample  # noqa: E402
from hybrid_router.settings import parse_settings  # noqa: E402
from hybrid_router.state import SharedState  # noqa: E402


def settings_doc(state_path: str, *, metrics: bool = True) -> dict[str, Any]:
    """A one-engine stack with a managed and a frontier tier (the shape renderRouter writes)."""
    return {
        "version": 1,
        "state_path": state_path,
        "spend_path": None,
        "engine_key_env": None,
        "hard_tag": "hard",
        "engines": [{
            "name": "gpu-1", "kind": "vllm", "health_url": "http://127.0.0.1:9/health", "metrics_url": "http://127.0.0.1:9/metrics",
            "completions_url": "http://127.0.0.1:9/v1/chat/completions", "canary_model": "m", "planned_rpm": 600,
            "max_running": 8, "deployment_ids": ["m@gpu-1"],
        }],
        "deployments": {
            "m@gpu-1": {"tier": "engine", "model": "m", "provider": "hosted_vllm", "group": "m", "engine": "gpu-1", "continue_with": []},
            "m@managed": {"tier": "managed", "model": "managed-m", "provider": "together_ai", "group": "m", "engine": None, "continue_with": []},
            "f@anthropic": {"tier": "frontier", "model": "claude", "provider": "anthropic", "group": "frontier", "engine": None, "continue_with": []},
        },
        "groups": {
            "m": {"kind": "served", "adapter_policy": None, "assistant_prefill": False},
            "frontier": {"kind": "frontier", "adapter_policy": None, "assistant_prefill": True},
        },
        "live_load": {
            "enabled": True, "poll_interval_s": 1, "probe_timeout_s": 2, "stale_after_s": 3, "max_waiting": 0,
            "kv_cache_limit": 0.95, "burst_s": 5, "unconfirmed_ttl_s": 2, "confirmed_ttl_s": 600,
        },
        "engine_timeouts": {"first_token_s": 10, "connect_s": 3, "recheck_s": 5, "stall_s": 30, "fail_threshold": 2, "min_down_s": 5},
        "escalation": {
            "enabled": False, "target_group": "frontier", "groups": ["m"], "min_mean_logprob": None, "on_length": True,
            "on_empty": True, "on_refusal": True, "refusal_prefixes": [], "stream_prefix_tokens": 0,
        },
        "budget": {"usd_per_day": {"anthropic": 1.0}, "override_tag": "over-budget-ok"},
        "mid_stream": {"mode": "error"},
        "hygiene": {"generic_errors": True, "hide_routes": False},
        "metrics": {"enabled": metrics},
    }


class ExporterTest(unittest.TestCase):
    def test_counts_under_the_names_and_labels_the_monitoring_queries(self) -> None:
        registry = CollectorRegistry()
        ex = Exporter(True, registry)
        ex.engine_refused("gpu-1", "waiting")
        ex.engine_refused("gpu-1", "waiting")
        ex.engine_refused("gpu-2", "down")
        ex.escalation("length", escalated=True)
        ex.escalation("logprob", escalated=False)
        ex.stream_break(continued=True)
        ex.stream_break(continued=False)
        ex.budget_refused(["anthropic", "openai"])
        ex.spend_today("anthropic", 1.25)
        ex.spend_today("anthropic", 0.5)  # a new UTC day: the gauge follows the state down
        v = registry.get_sample_value
        self.assertEqual(v("hybrid_router_engine_refusals_total", {"engine": "gpu-1", "reason": "waiting"}), 2.0)
        self.assertEqual(v("hybrid_router_engine_refusals_total", {"engine": "gpu-2", "reason": "down"}), 1.0)
        self.assertEqual(v("hybrid_router_escalations_total", {"reason": "length", "outcome": "escalated"}), 1.0)
        self.assertEqual(v("hybrid_router_escalations_total", {"reason": "logprob", "outcome": "failed"}), 1.0)
        self.assertEqual(v("hybrid_router_stream_breaks_total", {"outcome": "continued"}), 1.0)
        self.assertEqual(v("hybrid_router_stream_breaks_total", {"outcome": "broken"}), 1.0)
        self.assertEqual(v("hybrid_router_budget_refusals_total", {"provider": "openai"}), 1.0)
        self.assertEqual(v("hybrid_router_frontier_spend_today_usd", {"provider": "anthropic"}), 0.5)

    def test_every_series_exists_at_zero_before_its_first_event(self) -> None:
        registry = CollectorRegistry()
        Exporter(True, registry).declare(["gpu-1"], ["anthropic"])
        v = registry.get_sample_value
        for reason in ("down", "rate", "waiting", "kv", "running", "failed"):
            self.assertEqual(v("hybrid_router_engine_refusals_total", {"engine": "gpu-1", "reason": reason}), 0.0, reason)
        for reason in ("length", "empty", "refusal", "logprob"):
            for outcome in ("escalated", "failed"):
                self.assertEqual(v("hybrid_router_escalations_total", {"reason": reason, "outcome": outcome}), 0.0)
        self.assertEqual(v("hybrid_router_stream_breaks_total", {"outcome": "broken"}), 0.0)
        self.assertEqual(v("hybrid_router_budget_refusals_total", {"provider": "anthropic"}), 0.0)

    def test_monitoring_off_registers_nothing(self) -> None:
        registry = CollectorRegistry()
        ex = Exporter(False, registry)
        ex.engine_refused("gpu-1", "waiting")
        ex.spend_today("anthropic", 1.0)
        self.assertFalse(ex.active)
        self.assertNotIn(b"hybrid_router", generate_latest(registry))


class CallbackCountsTest(unittest.TestCase):
    """The callback counts where it decides: a saturated engine's refusal, today's spend."""

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def router(self) -> tuple[Any, CollectorRegistry]:
        from hybrid_router.callback import HybridRouter

        settings = parse_settings(settings_doc(os.path.join(self.tmp.name, "state.db")))
        state = SharedState(settings.state_path, settings.engines)
        self.addCleanup(state.close)
        registry = CollectorRegistry()
        router = HybridRouter(settings, state, Exporter(True, registry))
        router._ensure_started = lambda: None  # no poller or tokenizer warm-up in a unit test
        return router, registry

    def test_an_engine_with_a_queue_is_counted_as_refused_for_waiting(self) -> None:
        router, registry = self.router()
        router.state.record_probe("gpu-1", True, LoadSample(running=8, waiting=3, kv_usage=0.5, progress=1.0), fail_threshold=2, stall_s=30)
        deployments = [{"model_info": {"id": "m@gpu-1"}, "litellm_params": {}}, {"model_info": {"id": "m@managed"}, "litellm_params": {}}]
        for i in range(3):
            kept = asyncio.run(router.async_filter_deployments("m", deployments, [], {"litellm_call_id": f"call-{i}", "metadata": {}}))
            self.assertEqual([d["model_info"]["id"] for d in kept], ["m@managed"])
        self.assertEqual(registry.get_sample_value("hybrid_router_engine_refusals_total", {"engine": "gpu-1", "reason": "waiting"}), 3.0)

    def test_an_admitted_request_counts_no_refusal(self) -> None:
        router, registry = self.router()
        router.state.record_probe("gpu-1", True, LoadSample(running=1, waiting=0, kv_usage=0.1, progress=1.0), fail_threshold=2, stall_s=30)
        deployments = [{"model_info": {"id": "m@gpu-1"}, "litellm_params": {}}, {"model_info": {"id": "m@managed"}, "litellm_params": {}}]
        kept = asyncio.run(router.async_filter_deployments("m", deployments, [], {"litellm_call_id": "call-ok", "metadata": {}}))
        self.assertEqual([d["model_info"]["id"] for d in kept], ["m@gpu-1", "m@managed"])
        refusals = [
            registry.get_sample_value("hybrid_router_engine_refusals_total", {"engine": "gpu-1", "reason": r})
            for r in ("down", "rate", "waiting", "kv", "running", "failed")
        ]
        self.assertEqual(refusals, [0.0] * 6)

    def test_frontier_spend_sets_todays_gauge_from_the_shared_total(self) -> None:
        router, registry = self.router()
        router.state.add_spend("anthropic", 0.25)  # another worker's spend, in the shared state
        kwargs = {"model_info": {"id": "f@anthropic"}, "litellm_call_id": "call-f", "response_cost": 0.5}
        asyncio.run(router.async_log_success_event(kwargs, None, None, None))
        self.assertEqual(registry.get_sample_value("hybrid_router_frontier_spend_today_usd", {"provider": "anthropic"}), 0.75)


# Two "workers" in multiprocess mode (the env var is set before prometheus_client is
# imported, as LiteLLM's proxy_cli does before it starts the workers).
_WORKER = textwrap.dedent(
    """
    import sys, time
    from hybrid_router.exporter import Exporter  # noqa: E402
    ex = Exporter(True)
    ex.engine_refused("gpu-1", "waiting")
    ex.spend_today("anthropic", float(sys.argv[1]))
    """
)


class MultiprocessTest(unittest.TestCase):
    def test_workers_counters_add_up_and_the_spend_is_the_newest_reading(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": d, "PYTHONPATH": os.pathsep.join(sys.path)}
            # Both workers read the shared total; the second read it later, after more spend.
            for spent in ("1.5", "2.0"):
                subprocess.run([sys.executable, "-c", _WORKER, spent], env=env, check=True, timeout=60)
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=d)
            v = registry.get_sample_value
            self.assertEqual(v("hybrid_router_engine_refusals_total", {"engine": "gpu-1", "reason": "waiting"}), 2.0)
            # Not 3.5 (a sum counts the shared total once per worker), and no pid label.
            self.assertEqual(v("hybrid_router_frontier_spend_today_usd", {"provider": "anthropic"}), 2.0)


if __name__ == "__main__":
    unittest.main()
