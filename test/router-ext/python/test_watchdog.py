"""The first-token watchdog (hybrid_router/watchdog.py) against a local server that goes silent."""

import asyncio
import time
import unittest

import httpx

from hybrid_router.watchdog import EngineWatchdogTransport


async def _server(delay_s: float, chunks: int) -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(delay_s)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
            for _ in range(chunks):
                writer.write(b"1\r\nx\r\n")
                await writer.drain()
                await asyncio.sleep(delay_s)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


class Watchdog(unittest.IsolatedAsyncioTestCase):
    async def fetch(self, delay_s: float, alive: bool, first_token_s: float = 0.3) -> tuple[float, str | None]:
        server, port = await _server(delay_s, 2)
        transport = EngineWatchdogTransport("gpu-1", lambda: alive, first_token_s=first_token_s, recheck_s=0.2, connect_s=1)
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
        elapsed, body = await self.fetch(delay_s=5, alive=False)
        self.assertIsNone(body)
        self.assertGreaterEqual(elapsed, 0.3)
        self.assertLess(elapsed, 1.5)

    async def test_lets_a_slow_call_to_a_live_engine_finish(self) -> None:
        elapsed, body = await self.fetch(delay_s=0.5, alive=True)
        self.assertEqual(body, "xx")
        self.assertGreaterEqual(elapsed, 1.4)

    async def test_watches_every_chunk_not_just_the_first(self) -> None:
        elapsed, body = await self.fetch(delay_s=0.5, alive=False, first_token_s=0.8)
        # The head arrives after 0.5 s (inside the limit); the stream then goes silent per chunk
        # for 0.5 s, also inside it: nothing is cut.
        self.assertEqual(body, "xx")


if __name__ == "__main__":
    unittest.main()
