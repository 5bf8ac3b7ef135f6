"""AriClient.events(): Connected/Disconnected around every connection, heartbeat-detected
half-open sockets, reconnect with backoff, malformed messages skipped, prompt shutdown."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from typing import Any, Self

from callrec.ari import AriClient, AriEvent, Backoff, Connected, Disconnected, StreamItem

from .fake_ari import FakeAri, WsConnection, event, running

CHANNEL = {"id": "c1", "name": "PJSIP/caller-00000001", "state": "Ring"}
WAIT = 3.0  # upper bound for anything that should happen "promptly"


def client_for(fake: FakeAri, heartbeat: float = 5.0) -> AriClient:
    return AriClient(fake.url, "callrec", "secret", "callrec", heartbeat=heartbeat,
                     request_timeout=1.0, backoff_initial=0.05, backoff_max=0.2)


async def take(stream: AsyncIterator[StreamItem], count: int, timeout: float = WAIT) -> list[StreamItem]:
    async with asyncio.timeout(timeout):
        return [await anext(stream) for _ in range(count)]


def kinds(items: list[StreamItem]) -> list[str]:
    return [item.type if isinstance(item, AriEvent) else type(item).__name__ for item in items]


async def test_connects_with_app_and_auth_then_yields_parsed_events() -> None:
    async def send_start(conn: WsConnection) -> None:
        await conn.send(event("StasisStart", args=["inbound"], channel=CHANNEL))

    fake = FakeAri()
    fake.on_ws(send_start)
    async with running(fake), client_for(fake) as ari:
        items = await take(ari.events(), 2)
    assert kinds(items) == ["Connected", "StasisStart"]
    start = items[1]
    assert isinstance(start, AriEvent) and start.args == ("inbound",) and start.channel is not None
    [conn] = fake.ws_connections
    assert conn.query == {"app": "callrec", "subscribeAll": "false"}
    assert conn.authorization == "Basic " + base64.b64encode(b"callrec:secret").decode()


async def test_malformed_messages_are_skipped_not_raised() -> None:
    async def send_garbage_between(conn: WsConnection) -> None:
        await conn.send(
            event("ChannelDtmfReceived", digit="1", channel=CHANNEL),
            "this is not json",
            '{"type": "StasisStart"}',
            event("ChannelDtmfReceived", digit="2", channel="not an object"),
            event("ChannelDtmfReceived", digit="3", channel=CHANNEL),
        )

    fake = FakeAri()
    fake.on_ws(send_garbage_between)
    async with running(fake), client_for(fake) as ari:
        items = await take(ari.events(), 3)
    assert kinds(items) == ["Connected", "ChannelDtmfReceived", "ChannelDtmfReceived"]
    assert [item.digit for item in items[1:] if isinstance(item, AriEvent)] == ["1", "3"]


async def test_drop_yields_disconnected_then_reconnects_with_connected() -> None:
    async def send_then_drop(conn: WsConnection) -> None:
        await conn.send(event("StasisStart", channel=CHANNEL))
        await conn.drop()

    async def send_after_reconnect(conn: WsConnection) -> None:
        await conn.send(event("StasisEnd", channel=CHANNEL))

    fake = FakeAri()
    fake.on_ws(send_then_drop, send_after_reconnect)
    async with running(fake), client_for(fake) as ari:
        items = await take(ari.events(), 5)
    assert kinds(items) == ["Connected", "StasisStart", "Disconnected", "Connected", "StasisEnd"]
    assert len(fake.ws_connections) == 2


async def test_half_open_socket_is_detected_by_heartbeat() -> None:
    heartbeat = 0.5
    fake = FakeAri()
    fake.on_ws(WsConnection.go_silent)  # TCP stays open, pings are never answered
    async with running(fake), client_for(fake, heartbeat=heartbeat) as ari:
        stream = ari.events()
        [connected] = await take(stream, 1)
        went_silent = time.monotonic()
        [dropped, reconnected] = await take(stream, 2, timeout=3 * heartbeat + 1.0)
        detected_after = time.monotonic() - went_silent
    assert isinstance(connected, Connected)
    assert isinstance(dropped, Disconnected) and dropped.reason
    assert isinstance(reconnected, Connected)
    assert detected_after < 3 * heartbeat
    assert len(fake.ws_connections) == 2


class Refuser:
    """Accepts TCP connections on the fake's port and closes them at once: Asterisk's HTTP
    server not answering yet. Counts the attempts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.attempts = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._refuse, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.attempts += 1
        writer.close()


async def test_keeps_retrying_until_asterisk_comes_up() -> None:
    fake = FakeAri()
    async with client_for(fake) as ari:
        stream = ari.events()
        first = asyncio.ensure_future(anext(stream))
        async with Refuser(fake.port) as refuser:
            await _until(lambda: refuser.attempts >= 3)
        assert not first.done()
        async with running(fake):
            async with asyncio.timeout(WAIT):
                assert isinstance(await first, Connected)


async def _consume(stream: AsyncIterator[StreamItem], seen: list[StreamItem]) -> None:
    async for item in stream:
        seen.append(item)


async def test_closing_the_client_ends_the_iteration_promptly_while_connected() -> None:
    fake = FakeAri()
    seen: list[StreamItem] = []
    async with running(fake):
        async with client_for(fake) as ari:
            consumer = asyncio.ensure_future(_consume(ari.events(), seen))
            await _until(lambda: bool(seen))
            started = time.monotonic()
        async with asyncio.timeout(WAIT):
            await consumer
        assert time.monotonic() - started < 1.0
    assert kinds(seen) == ["Connected"]


async def test_closing_the_client_ends_the_iteration_promptly_while_retrying() -> None:
    fake = FakeAri()
    seen: list[StreamItem] = []
    async with Refuser(fake.port) as refuser:
        async with AriClient(fake.url, "u", "p", "callrec", backoff_initial=2.0, backoff_max=5.0) as ari:
            consumer = asyncio.ensure_future(_consume(ari.events(), seen))
            await _until(lambda: refuser.attempts >= 1)  # now sleeping >= 1 s before retrying
            started = time.monotonic()
        async with asyncio.timeout(WAIT):
            await consumer
        assert time.monotonic() - started < 0.9  # the pending retry is >= 1 s away
    assert seen == []


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(initial=0.2, maximum=5.0)
    delays = [backoff.next_delay() for _ in range(10)]
    ceilings = [min(5.0, 0.2 * 2**n) for n in range(10)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings))
    assert max(delays) <= 5.0
    backoff.reset()
    assert 0.1 <= backoff.next_delay() <= 0.2


async def _until(condition: Any, timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
