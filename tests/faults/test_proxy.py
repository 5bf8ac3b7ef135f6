"""The black-hole proxy the ARI fault is injected with behaves like a partitioned network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.faults.proxy import BlackHoleProxy


class Upstream:
    """A local server that echoes, and counts the connections that reached it."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def _echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()


@pytest_asyncio.fixture
async def proxy() -> AsyncIterator[tuple[BlackHoleProxy, Upstream]]:
    upstream = Upstream()
    upstream.server = await asyncio.start_server(upstream._echo, "127.0.0.1", 0)
    hole = BlackHoleProxy("127.0.0.1", upstream.server.sockets[0].getsockname()[1])
    await hole.start()
    yield hole, upstream
    await hole.close()
    upstream.server.close()


async def _connect(hole: BlackHoleProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", hole.port)


async def test_bytes_flow_until_the_hole_opens_and_are_held_until_it_heals(
        proxy: tuple[BlackHoleProxy, Upstream]) -> None:
    hole, _ = proxy
    reader, writer = await _connect(hole)
    writer.write(b"ping")
    assert await asyncio.wait_for(reader.read(4), 2) == b"ping"

    hole.blackhole()
    writer.write(b"lost?")
    await writer.drain()
    read = asyncio.ensure_future(reader.read(5))
    done, _ = await asyncio.wait({read}, timeout=0.5)
    assert not done, "nothing may cross a black hole, and no FIN either"

    hole.heal()
    assert await asyncio.wait_for(read, 2) == b"lost?"  # TCP delivers it once the path is back
    writer.close()


async def test_a_connection_made_during_the_hole_never_reaches_the_far_side(
        proxy: tuple[BlackHoleProxy, Upstream]) -> None:
    hole, upstream = proxy
    hole.blackhole()
    reader, writer = await _connect(hole)  # the local handshake cannot be stopped
    writer.write(b"GET /ari/events")
    await asyncio.sleep(0.3)
    assert upstream.accepted == 0

    hole.heal()
    assert await asyncio.wait_for(reader.read(), 2) == b""  # closed, never forwarded
    assert upstream.accepted == 0
    writer.close()
