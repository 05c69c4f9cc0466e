"""Polls every engine's health and live load, once per interval for the whole router.

Each worker runs this loop, but only the holder of the ``poller`` lease (``state``) polls:
the engines see ``engines / poll_interval_s`` probes per second whatever the number of
router workers, and a worker that dies hands the lease on within ``3 x poll_interval_s``.

Per engine and interval: ``GET /health`` (vLLM answers 200 while its engine core lives;
LoRAX the same) and, for vLLM, ``GET /metrics`` (``metrics``), both bounded by
``probe_timeout_s``. ``fail_threshold`` failed health probes in a row take the engine out
of rotation; so does a batch whose progress counters have not moved for ``stall_s`` while
requests run. An engine out of rotation comes back only after ``min_down_s`` and a canary:
a one-token completion that must answer within the first-token limit, which proves the
whole path (not just /health) works again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable

import httpx

from .metrics import LoadSample, parse_vllm_metrics
from .settings import EngineSettings, Settings
from .state import SharedState

LEASE = "poller"
log = logging.getLogger("hybrid_router")


class Poller:
    def __init__(self, settings: Settings, state: SharedState, on_round: Callable[[], None] | None = None) -> None:
        self._settings = settings
        self._state = state
        #: Run by the lease holder after each round (the spend gauge's refresh).
        self._on_round = on_round
        self._holder = f"{socket.gethostname()}:{os.getpid()}"
        # Engines are on a private network: never through an HTTP(S)_PROXY from the environment.
        self._client = httpx.AsyncClient(trust_env=False, timeout=settings.live_load.probe_timeout_s)
        self._canaries: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="hybrid-router-poller")

    async def _run(self) -> None:
        interval = self._settings.live_load.poll_interval_s
        while True:
            try:
                if self._state.try_lease(LEASE, self._holder, ttl_s=3 * interval):
                    await asyncio.gather(*(self.poll(e) for e in self._settings.engines))
                    self._state.collect_garbage()
                    if self._on_round is not None:
                        self._on_round()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed round must not end the loop
                log.exception("hybrid_router: engine poll failed")
            await asyncio.sleep(interval)

    async def poll(self, engine: EngineSettings) -> None:
        healthy, sample = await asyncio.gather(self._health(engine), self._metrics(engine))
        timeouts = self._settings.engine_timeouts
        went_down = self._state.record_probe(
            engine.name, healthy, sample, fail_threshold=timeouts.fail_threshold, stall_s=timeouts.stall_s
        )
        if went_down is not None:
            log.warning("hybrid_router: engine %s out of rotation (%s)", engine.name, went_down)
        if healthy and self._state.health(engine.name).down:
            running = self._canaries.get(engine.name)
            if running is None or running.done():
                self._canaries[engine.name] = asyncio.get_running_loop().create_task(self._canary(engine))

    async def _health(self, engine: EngineSettings) -> bool:
        try:
            res = await self._client.get(engine.health_url)
            return res.status_code == 200
        except httpx.HTTPError:
            return False

    async def _metrics(self, engine: EngineSettings) -> LoadSample | None:
        if engine.metrics_url is None:
            return None
        try:
            res = await self._client.get(engine.metrics_url)
            if res.status_code != 200:
                return None
            return parse_vllm_metrics(res.text)
        except httpx.HTTPError:
            return None

    async def _canary(self, engine: EngineSettings) -> None:
        timeouts = self._settings.engine_timeouts
        key_env = self._settings.engine_key_env
        key = os.environ.get(key_env) if key_env else None
        headers = {"authorization": f"Bearer {key}"} if key else {}
        body = {"model": engine.canary_model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
        try:
            res = await self._client.post(engine.completions_url, json=body, headers=headers, timeout=timeouts.first_token_s)
            passed = res.status_code == 200
        except httpx.HTTPError:
            passed = False
        if passed and self._state.bring_up(engine.name, timeouts.min_down_s):
            log.warning("hybrid_router: engine %s back in rotation (canary passed)", engine.name)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self._client.aclose()
