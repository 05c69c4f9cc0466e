"""The admission rule (hybrid_router/admission.py) on plain values."""

import random
import unittest

from hybrid_router.admission import EngineView, burst_requests, judge
from hybrid_router.metrics import LoadSample

LIVE = dict(live_enabled=True, stale_after_s=3.0, max_waiting=0, kv_cache_limit=0.95, burst_s=5.0)


def view(**kw: object) -> EngineView:
    base = dict(planned_rpm=60.0, max_running=8, tat=0.0, inflight=0, down=False, sample=None, sampled_at=0.0, inflight_at_sample=0)
    base.update(kw)
    return EngineView(**base)  # type: ignore[arg-type]


class PlannedRate(unittest.TestCase):
    def test_burst_is_five_seconds_of_rate_and_at_least_one(self) -> None:
        self.assertEqual(burst_requests(60, 5), 5)
        self.assertEqual(burst_requests(29, 5), 2)
        self.assertEqual(burst_requests(1, 5), 1)

    def test_admits_at_most_burst_plus_rate_over_any_window(self) -> None:
        rng = random.Random(7)
        for _ in range(200):
            rpm = rng.choice([6.0, 29.0, 60.0, 162.0, 600.0])
            arrivals = sorted(rng.uniform(0, 120) for _ in range(rng.randint(1, 800)))
            tat = 0.0
            admitted: list[float] = []
            for t in arrivals:
                v = judge(view(planned_rpm=rpm, tat=tat, max_running=10_000), t, **LIVE)  # type: ignore[arg-type]
                if v.admit:
                    tat = v.next_tat
                    admitted.append(t)
            burst = burst_requests(rpm, 5.0)
            for i, start in enumerate(admitted):
                for window in (1.0, 10.0, 60.0):
                    inside = sum(1 for t in admitted[i:] if t < start + window)
                    self.assertLessEqual(inside, burst + window * rpm / 60.0 + 1e-9, (rpm, window))

    def test_a_steady_stream_at_the_planned_rate_is_all_admitted(self) -> None:
        tat = 0.0
        for i in range(100):
            v = judge(view(tat=tat), 1000.0 + i * 1.0, **LIVE)  # type: ignore[arg-type]
            self.assertTrue(v.admit)
            tat = v.next_tat


class LiveSignals(unittest.TestCase):
    def sample(self, running: float, waiting: float = 0, kv: float = 0.5) -> LoadSample:
        return LoadSample(running=running, waiting=waiting, kv_usage=kv, progress=1)

    def test_a_queue_at_the_engine_saturates_it(self) -> None:
        v = judge(view(sample=self.sample(3, waiting=1), sampled_at=99.5), 100.0, **LIVE)  # type: ignore[arg-type]
        self.assertEqual((v.admit, v.reason), (False, "waiting"))

    def test_a_full_kv_cache_saturates_it(self) -> None:
        v = judge(view(sample=self.sample(3, kv=0.97), sampled_at=99.5), 100.0, **LIVE)  # type: ignore[arg-type]
        self.assertEqual(v.reason, "kv")

    def test_what_was_sent_since_the_sample_counts_against_the_batch(self) -> None:
        # 6 running at the sample, 2 admitted since: the batch of 8 is full.
        full = judge(view(sample=self.sample(6), sampled_at=99.5, inflight=5, inflight_at_sample=3), 100.0, **LIVE)  # type: ignore[arg-type]
        self.assertEqual(full.reason, "running")
        room = judge(view(sample=self.sample(6), sampled_at=99.5, inflight=4, inflight_at_sample=3), 100.0, **LIVE)  # type: ignore[arg-type]
        self.assertTrue(room.admit)

    def test_a_stale_sample_leaves_the_planned_rate_in_charge(self) -> None:
        v = judge(view(sample=self.sample(8, waiting=5), sampled_at=90.0), 100.0, **LIVE)  # type: ignore[arg-type]
        self.assertTrue(v.admit)
        off = dict(LIVE, live_enabled=False)
        self.assertTrue(judge(view(sample=self.sample(8, waiting=5), sampled_at=99.9), 100.0, **off).admit)  # type: ignore[arg-type]

    def test_without_a_sample_the_routers_own_inflight_still_bounds_the_batch(self) -> None:
        v = judge(view(inflight=8), 100.0, **LIVE)  # type: ignore[arg-type]
        self.assertEqual(v.reason, "running")

    def test_an_engine_out_of_rotation_takes_nothing(self) -> None:
        v = judge(view(down=True), 100.0, **LIVE)  # type: ignore[arg-type]
        self.assertEqual((v.admit, v.reason), (False, "down"))


if __name__ == "__main__":
    unittest.main()
