"""The first-token limit on engine calls: an httpx transport the router's engine calls use.

LiteLLM's per-deployment ``timeout`` bounds a whole non-streaming call, and a
non-streaming answer arrives in one piece at the end, so a timeout short enough to catch a
hung engine quickly would also cut every long answer. This transport watches the silence
instead: when the response head (non-streaming: the whole answer) or the next stream chunk
has not arrived after ``first_token_s``, it asks the shared state whether the engine is
alive - in rotation and answering its health probe within the last few seconds (``poller``)
- and cuts the call with ``httpx.ReadTimeout`` if not. LiteLLM maps that to its Timeout
error: the request is retried on another engine (the failed one is out of rotation by then)
or falls back to the next tier. While the engine is alive the call keeps waiting, rechecked
every ``recheck_s``, up to the deployment's own timeout (the stack's request_timeout_s).

So a hung engine costs its first request at most ``first_token_s`` (plus the retry), a
slow but healthy one costs nothing, and a stalled batch (alive, but its counters frozen) is
taken out of rotation by the poller after ``stall_s`` and then cut here.

Connections: ``connect_s`` bounds the TCP connect (a refused or unroutable engine fails fast).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


class EngineWatchdogTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        engine: str,
        alive: Callable[[], bool],
        *,
        first_token_s: float,
        recheck_s: float,
        connect_s: float,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._engine = engine
        self._alive = alive
        self._first_token_s = first_token_s
        self._recheck_s = recheck_s
        self._connect_s = connect_s
        # The proxy passes LiteLLM's own transport (aiohttp-based, its faster default).
        self._inner = inner if inner is not None else httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = dict(request.extensions.get("timeout") or {})
        current = timeout.get("connect")
        timeout["connect"] = self._connect_s if current is None else min(float(current), self._connect_s)
        request.extensions["timeout"] = timeout
        response = await self.watch(self._inner.handle_async_request(request), request)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            # A non-streamed answer: vLLM sends its head only once the answer is complete,
            # so the silence worth watching is over.
            return response
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_WatchedStream(response.stream, self, request),
            extensions=response.extensions,
        )

    async def watch(self, step: Awaitable[T], request: httpx.Request) -> T:
        """Awaits `step`; past the first-token limit, only as long as the engine is alive.

        The pattern of ``asyncio.timeout``: a timer that, when the engine turns out to be
        dead, cancels the current task, and the cancellation turned into ReadTimeout here -
        no extra task per awaited read (this runs for every response head and stream chunk).
        """
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            return await step
        started = time.monotonic()
        cut = False
        handle: asyncio.TimerHandle | None = None

        def check() -> None:
            nonlocal handle, cut
            if self._alive():
                handle = loop.call_later(self._recheck_s, check)
            else:
                cut = True
                task.cancel()

        handle = loop.call_later(self._first_token_s, check)
        try:
            return await step
        except asyncio.CancelledError:
            if cut and task.uncancel() == 0:
                silent = time.monotonic() - started
                raise httpx.ReadTimeout(
                    f"engine {self._engine} silent for {silent:.1f} s and not passing its health checks",
                    request=request,
                ) from None
            raise
        finally:
            if handle is not None:
                handle.cancel()

    async def aclose(self) -> None:
        await self._inner.aclose()


class _WatchedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream | httpx.SyncByteStream, watchdog: EngineWatchdogTransport, request: httpx.Request) -> None:
        if not isinstance(inner, httpx.AsyncByteStream):
            raise TypeError("an async transport returned a sync stream")
        self._inner = inner
        self._watchdog = watchdog
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            try:
                chunk = await self._watchdog.watch(chunks.__anext__(), self._request)
            except StopAsyncIteration:
                return
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def health_fresh_s(poll_interval_s: float, probe_timeout_s: float) -> float:
    """How old the last passed health probe may be for the engine to count as alive: one
    interval plus two probe timeouts (a probe in flight, and one slow answer), rounded up."""
    return math.ceil(poll_interval_s + 2 * probe_timeout_s)
