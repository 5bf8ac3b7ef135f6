"""The ARI event WebSocket: heartbeat, reconnect with backoff, and prompt shutdown.

Asterisk keeps no backlog for a Stasis application whose WebSocket is gone: events that happen
while we are disconnected are simply lost. So the stream tells its consumer about every
(re)connection with :class:`Connected` - the cue to reconcile state over REST - and about every
drop with :class:`Disconnected`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from callrec.ari.errors import MalformedEvent
from callrec.ari.models import AriEvent, parse_event

log = logging.getLogger(__name__)

T = TypeVar("T")

_END_OF_CONNECTION = (
    aiohttp.WSMsgType.CLOSE,
    aiohttp.WSMsgType.CLOSING,
    aiohttp.WSMsgType.CLOSED,
    aiohttp.WSMsgType.ERROR,
)


@dataclass(frozen=True)
class Connected:
    """The event WebSocket is (re)connected. Anything may have happened while it was down."""


@dataclass(frozen=True)
class Disconnected:
    """The event WebSocket dropped; the stream is reconnecting."""

    reason: str


StreamItem = AriEvent | Connected | Disconnected


class Backoff:
    """Exponential backoff with jitter: initial, 2x, 4x, ... capped at maximum.

    The jitter ("equal jitter": a delay in [d/2, d]) keeps several callrec instances from
    hammering a restarted Asterisk in lockstep while never retrying in a tight loop.
    """

    def __init__(self, initial: float = 0.2, maximum: float = 5.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2 ** min(self._attempt, 30))
        self._attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._attempt = 0


async def _race(closing: asyncio.Future[Any], awaitable: Awaitable[T]) -> T | None:
    """Await ``awaitable`` unless ``closing`` finishes first; then cancel it and return None."""
    task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait({task, closing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
    if task.cancelled() or not task.done():
        return None
    return task.result()


def _describe_end(message: aiohttp.WSMessage, ws: aiohttp.ClientWebSocketResponse) -> str:
    if message.type is aiohttp.WSMsgType.ERROR:
        return f"error: {message.data}"
    if message.type is aiohttp.WSMsgType.CLOSE:
        return f"closed by Asterisk (code {message.data}{' ' + message.extra if message.extra else ''})"
    cause = ws.exception()
    return f"connection lost ({cause})" if cause else "connection lost"


def _decode(message: aiohttp.WSMessage) -> AriEvent | None:
    try:
        return parse_event(message.data)
    except MalformedEvent as exc:
        # One bad message must not take the whole recorder down; Asterisk's next event is fine.
        log.warning("skipping malformed ARI event (%s): %.200r", exc.message, message.data)
        return None


async def stream_events(
    connect: Callable[[], Awaitable[aiohttp.ClientWebSocketResponse]],
    closing: asyncio.Event,
    backoff: Backoff,
    *,
    stable_after: float,
) -> AsyncGenerator[StreamItem, None]:
    """Yield ARI events forever, reconnecting as needed, until ``closing`` is set.

    ``connect`` opens one WebSocket (raising aiohttp.ClientError / TimeoutError / OSError on
    failure). The backoff is reset once a connection has stayed up for ``stable_after`` seconds,
    so a server that accepts and immediately drops us is still retried slowly.
    """
    closed = asyncio.ensure_future(closing.wait())
    loop = asyncio.get_running_loop()
    try:
        while not closing.is_set():
            ws = await _connect_once(connect, closed)
            if ws is None:
                await _race(closed, asyncio.sleep(backoff.next_delay()))
                continue
            started = loop.time()
            yield Connected()
            reason: str | None = None
            try:
                async with aclosing(_receive_until_end(ws, closed)) as items:
                    async for item in items:
                        if isinstance(item, str):
                            reason = item
                        else:
                            yield item
            finally:
                await ws.close()
            if closing.is_set() or reason is None:
                return
            log.warning("ARI event WebSocket %s; reconnecting", reason)
            yield Disconnected(reason)
            if loop.time() - started >= stable_after:
                backoff.reset()
            await _race(closed, asyncio.sleep(backoff.next_delay()))
    finally:
        closed.cancel()


async def _connect_once(
    connect: Callable[[], Awaitable[aiohttp.ClientWebSocketResponse]],
    closed: asyncio.Future[Any],
) -> aiohttp.ClientWebSocketResponse | None:
    try:
        return await _race(closed, connect())
    except aiohttp.WSServerHandshakeError as exc:
        log.warning("ARI event WebSocket refused: HTTP %s %s", exc.status, exc.message)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.warning("ARI event WebSocket connect failed: %r", exc)
    return None


async def _receive_until_end(
    ws: aiohttp.ClientWebSocketResponse, closed: asyncio.Future[Any]
) -> AsyncGenerator[AriEvent | str, None]:
    """Yield the events of one connection, then the reason it ended (a str).

    Ends silently when ``closed`` fires. aiohttp's heartbeat turns a half-open socket (peer gone
    without a FIN, pings unanswered) into an ERROR message within 1.5 x heartbeat.
    """
    while True:
        message = await _race(closed, ws.receive())
        if message is None:
            return
        if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            event = _decode(message)
            if event is not None:
                yield event
        elif message.type in _END_OF_CONNECTION:
            yield _describe_end(message, ws)
            return
