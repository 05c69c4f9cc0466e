"""The first-token watchdog (hybrid_router/watchdog.py) against a local server that goes silent."""

import asyncio
import time
import unittest

import httpx

from hybrid_router.watchdog import EngineWatchdogTransport


async def _server(head_delay_s: float, chunk_delay_s: float, content_type: bytes) -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(head_delay_s)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ntransfer-encoding: chunked\r\n\r\n")
            for _ in range(2):
                writer.write(b"1\r\nx\r\n")
                await writer.drain()
                await asyncio.sleep(chunk_delay_s)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


SSE = b"text/event-stream"


class Watchdog(unittest.IsolatedAsyncioTestCase):
    async def fetch(self, head_s: float, chunk_s: float, alive: bool, content_type: bytes = SSE) -> tuple[float, str | None]:
        server, port = await _server(head_s, chunk_s, content_type)
        transport = EngineWatchdogTransport("gpu-1", lambda: alive, first_token_s=0.3, recheck_s=0.2, connect_s=1)
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(transport=transport, timeout=30) as client:
                res = await client.get(f"http://127.0.0.1:{port}/")
                return time.monotonic() - started, res.text
        except httpx.ReadTimeout:
            return time.monotonic() - started, None
        finally:
            server.close()
            await transport.aclose()

    async def test_cuts_a_silent_call_to_a_dead_engine_at_the_limit(self) -> None:
        elapsed, body = await self.fetch(head_s=5, chunk_s=0, alive=False)
        self.assertIsNone(body)
        self.assertGreaterEqual(elapsed, 0.3)
        self.assertLess(elapsed, 1.5)

    async def test_lets_a_slow_call_to_a_live_engine_finish(self) -> None:
        elapsed, body = await self.fetch(head_s=0.8, chunk_s=0.5, alive=True)
        self.assertEqual(body, "xx")
        self.assertGreaterEqual(elapsed, 1.7)

    async def test_watches_each_stream_chunk(self) -> None:
        # The head comes at once; the stream then stays silent past the limit.
        elapsed, body = await self.fetch(head_s=0, chunk_s=5, alive=False)
        self.assertIsNone(body)
        self.assertLess(elapsed, 1.5)

    async def test_a_non_streamed_answer_is_passed_on_whole(self) -> None:
        # Its head means the answer is complete: the body is not watched.
        _, body = await self.fetch(head_s=0, chunk_s=0.5, alive=False, content_type=b"application/json")
        self.assertEqual(body, "xx")


if __name__ == "__main__":
    unittest.main()
