"""The shared state (hybrid_router/state.py): one SQLite file, several processes."""

import multiprocessing
import os
import tempfile
import time
import unittest

from hybrid_router.metrics import LoadSample
from hybrid_router.settings import EngineSettings, LiveLoadSettings
from hybrid_router.state import Admission, Refusal, SharedState

ENGINE = EngineSettings(
    name="gpu-1", kind="vllm", health_url="http://x/health", metrics_url=None, completions_url="http://x/v1/chat/completions",
    canary_model="m", planned_rpm=60.0, max_running=1000, deployment_ids=("m@gpu-1",),
)
OTHER = EngineSettings(**{**ENGINE.__dict__, "name": "gpu-2", "deployment_ids": ("m@gpu-2",)})
LIVE = LiveLoadSettings(
    enabled=True, poll_interval_s=1, probe_timeout_s=2, stale_after_s=3, max_waiting=0, kv_cache_limit=0.95,
    burst_s=5, unconfirmed_ttl_s=2, confirmed_ttl_s=600,
)


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _worker(path: str, n: int, out: "multiprocessing.Queue[int]") -> None:
    state = SharedState(path, [ENGINE])
    admitted = 0
    for _ in range(n):
        if isinstance(state.reserve(["gpu-1"], LIVE), Admission):
            admitted += 1
    out.put(admitted)


class SharedAcrossProcesses(unittest.TestCase):
    def test_four_processes_share_one_engine_budget(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "state.db")
            SharedState(path, [ENGINE]).close()
            out: "multiprocessing.Queue[int]" = multiprocessing.Queue()
            started = time.time()
            procs = [multiprocessing.Process(target=_worker, args=(path, 50, out)) for _ in range(4)]
            for p in procs:
                p.start()
            for p in procs:
                p.join(60)
            elapsed = time.time() - started
            total = sum(out.get() for _ in procs)
            # 200 attempts within a few seconds at 60 rpm: the burst (5) plus one per second elapsed.
            self.assertGreaterEqual(total, 5)
            self.assertLessEqual(total, 5 + int(elapsed) + 1)


class Admissions(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.clock = Clock()
        self.state = SharedState(os.path.join(self.dir.name, "s.db"), [ENGINE, OTHER], clock=self.clock)

    def tearDown(self) -> None:
        self.state.close()
        self.dir.cleanup()

    def test_picks_the_less_loaded_engine_and_counts_inflight_until_released(self) -> None:
        a = self.state.reserve(["gpu-1", "gpu-2"], LIVE)
        assert isinstance(a, Admission)
        b = self.state.reserve(["gpu-1", "gpu-2"], LIVE)
        assert isinstance(b, Admission)
        self.assertNotEqual(a.engine, b.engine)
        self.assertTrue(self.state.confirm(a.reservation, 600))
        self.assertEqual(self.state.inflight(a.engine), 1)
        self.state.release(a.reservation)
        self.assertEqual(self.state.inflight(a.engine), 0)

    def test_an_unused_admission_lapses_and_a_used_one_lasts(self) -> None:
        a = self.state.reserve(["gpu-1"], LIVE)
        b = self.state.reserve(["gpu-1"], LIVE)
        assert isinstance(a, Admission) and isinstance(b, Admission)
        self.state.confirm(b.reservation, 600)
        self.clock.t += 3
        self.assertFalse(self.state.confirm(a.reservation, 600))
        self.assertEqual(self.state.inflight("gpu-1"), 1)
        self.state.collect_garbage()
        self.assertEqual(self.state.inflight("gpu-1"), 1)

    def test_refuses_with_the_reason_per_engine(self) -> None:
        self.state.record_request_failure("gpu-2", "timeout", fail_threshold=2)
        for _ in range(5):
            self.assertIsInstance(self.state.reserve(["gpu-1"], LIVE), Admission)
        r = self.state.reserve(["gpu-1", "gpu-2"], LIVE)
        assert isinstance(r, Refusal)
        self.assertEqual(r.reasons, {"gpu-1": "rate", "gpu-2": "down"})
        self.assertFalse(r.all_down)


class Health(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.clock = Clock()
        self.state = SharedState(os.path.join(self.dir.name, "s.db"), [ENGINE], clock=self.clock)

    def tearDown(self) -> None:
        self.state.close()
        self.dir.cleanup()

    def test_failed_probes_take_an_engine_out_only_after_the_threshold(self) -> None:
        self.assertIsNone(self.state.record_probe("gpu-1", False, None, fail_threshold=2, stall_s=30))
        self.assertEqual(self.state.record_probe("gpu-1", False, None, fail_threshold=2, stall_s=30), "unreachable")
        self.assertTrue(self.state.health("gpu-1").down)

    def test_comes_back_only_after_min_down_s(self) -> None:
        self.state.record_request_failure("gpu-1", "timeout", fail_threshold=2)
        self.clock.t += 2
        self.assertFalse(self.state.bring_up("gpu-1", min_down_s=5))
        self.clock.t += 4
        self.assertTrue(self.state.bring_up("gpu-1", min_down_s=5))
        self.assertFalse(self.state.health("gpu-1").down)

    def test_server_errors_need_the_threshold_timeouts_do_not(self) -> None:
        self.assertFalse(self.state.record_request_failure("gpu-1", "error", fail_threshold=2))
        self.assertTrue(self.state.record_request_failure("gpu-1", "error", fail_threshold=2))

    def test_a_batch_whose_counters_freeze_is_stalled(self) -> None:
        busy = LoadSample(running=3, waiting=0, kv_usage=0.3, progress=100)
        self.assertIsNone(self.state.record_probe("gpu-1", True, busy, fail_threshold=2, stall_s=30))
        self.clock.t += 20
        self.assertIsNone(self.state.record_probe("gpu-1", True, busy, fail_threshold=2, stall_s=30))
        self.clock.t += 11
        self.assertEqual(self.state.record_probe("gpu-1", True, busy, fail_threshold=2, stall_s=30), "stalled")

    def test_learns_the_batch_at_which_the_engine_queues(self) -> None:
        live = LiveLoadSettings(**{**LIVE.__dict__, "burst_s": 1000})
        self.state.record_probe("gpu-1", True, LoadSample(running=4, waiting=2, kv_usage=0.3, progress=1), fail_threshold=2, stall_s=30)
        self.state.record_probe("gpu-1", True, LoadSample(running=4, waiting=0, kv_usage=0.3, progress=2), fail_threshold=2, stall_s=30)
        # Running 4 without a queue: room for a fifth, then the router holds back.
        a = self.state.reserve(["gpu-1"], live)
        self.assertIsInstance(a, Admission)
        r = self.state.reserve(["gpu-1"], live)
        assert isinstance(r, Refusal)
        self.assertEqual(r.reasons, {"gpu-1": "running"})

    def test_one_lease_holder_at_a_time(self) -> None:
        self.assertTrue(self.state.try_lease("poller", "a", 3))
        self.assertFalse(self.state.try_lease("poller", "b", 3))
        self.assertTrue(self.state.try_lease("poller", "a", 3))
        self.clock.t += 4
        self.assertTrue(self.state.try_lease("poller", "b", 3))


class Spend(unittest.TestCase):
    def test_spend_is_per_provider_per_utc_day_and_kept_in_its_own_file(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            clock = Clock(1_764_460_800.0)  # 2025-11-30T00:00:00Z
            state = SharedState(os.path.join(d, "hot.db"), [ENGINE], clock=clock, spend_path=os.path.join(d, "spend.db"))
            state.add_spend("anthropic", 1.5)
            state.add_spend("anthropic", 0.25)
            state.add_spend("openai", 2)
            self.assertAlmostEqual(state.spend_today("anthropic"), 1.75)
            clock.t += 86_400
            self.assertEqual(state.spend_today("anthropic"), 0.0)
            state.close()
            again = SharedState(os.path.join(d, "hot2.db"), [ENGINE], clock=Clock(1_764_460_800.0), spend_path=os.path.join(d, "spend.db"))
            self.assertAlmostEqual(again.spend_today("anthropic"), 1.75)
            again.close()


if __name__ == "__main__":
    unittest.main()
