"""The ARI event WebSocket: heartbeat, reconnect with backoff, and prompt shutdown.

Asterisk keeps no backlog for a Stasis application whose WebSocket is gone: events that happen
while we are disconnected are simply lost. So the stream tells its consumer about every
(re)connection with :class:`Connected` - the cue to reconcile state over REST - and about every
drop with :class:`Disconnected`.

Each connection is read by a task of its own, whatever its consumer is doing: the answers to REST
requests sent over the same socket (``wsrest``) must arrive while the consumer awaits them in the
middle of handling an event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from callrec.ari.errors import MalformedEvent
from callrec.ari.models import AriEvent
from callrec.ari.wsrest import WsRest

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


def _decode(message: aiohttp.WSMessage, rest: WsRest | None) -> AriEvent | None:
    """The event in a message; None for a REST answer (handed to ``rest``) or a bad message."""
    try:
        decoded = json.loads(message.data)
        if isinstance(decoded, dict) and decoded.get("type") == "RESTResponse":
            if rest is not None:
                rest.resolve(decoded)
            return None
        return AriEvent.from_json(decoded)
    except (ValueError, TypeError, RecursionError, MalformedEvent) as exc:
        # One bad message must not take the whole recorder down; Asterisk's next event is fine.
        # (ValueError covers JSONDecodeError, UnicodeDecodeError and the int-digits limit.)
        why = exc.message if isinstance(exc, MalformedEvent) else f"not JSON: {exc}"
        log.warning("skipping malformed ARI event (%s): %.200r", why, message.data)
        return None


async def stream_events(
    connect: Callable[[], Awaitable[aiohttp.ClientWebSocketResponse]],
    closing: asyncio.Event,
    backoff: Backoff,
    *,
    stable_after: float,
    rest: WsRest | None = None,
) -> AsyncGenerator[StreamItem, None]:
    """Yield ARI events forever, reconnecting as needed, until ``closing`` is set.

    ``connect`` opens one WebSocket (raising aiohttp.ClientError / TimeoutError / OSError on
    failure). The backoff is reset once a connection has stayed up for ``stable_after`` seconds,
    so a server that accepts and immediately drops us is still retried slowly. ``rest``, if
    given, carries REST requests over each connection while it is up.
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
            reason: str | None = None
            try:
                async with aclosing(_one_connection(ws, closed, rest)) as items:
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


async def _one_connection(
    ws: aiohttp.ClientWebSocketResponse, closed: asyncio.Future[Any], rest: WsRest | None
) -> AsyncGenerator[Connected | AriEvent | str, None]:
    """Connected, the events of one connection, then the reason it ended (a str).

    Ends silently when ``closed`` fires. The socket is read by a task of its own from before
    Connected is yielded (the consumer's reconcile sends REST requests over it)."""
    inbox: asyncio.Queue[AriEvent | str] = asyncio.Queue()
    if rest is not None:
        rest.attach(ws)
    reader = asyncio.ensure_future(_receive_until_end(ws, inbox, rest))
    try:
        yield Connected()
        while not closed.done():
            # Events already queued are taken without a task and a wait each (a busy loop
            # finds several at once); only an empty inbox is raced against the shutdown.
            item = inbox.get_nowait() if not inbox.empty() else await _race(closed, inbox.get())
            if item is None:
                return
            yield item
            if isinstance(item, str):
                return
    finally:
        reader.cancel()
        if rest is not None:
            rest.detach("event WebSocket closed")


async def _receive_until_end(ws: aiohttp.ClientWebSocketResponse,
                             inbox: asyncio.Queue[AriEvent | str], rest: WsRest | None) -> None:
    """Queue the events of one connection, then the reason it ended (a str).

    aiohttp's heartbeat turns a half-open socket (peer gone without a FIN, pings unanswered) into
    an ERROR message within 1.5 x heartbeat."""
    while True:
        message = await ws.receive()
        if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            event = _decode(message, rest)
            if event is not None:
                inbox.put_nowait(event)
        elif message.type in _END_OF_CONNECTION:
            reason = _describe_end(message, ws)
            if rest is not None:
                rest.detach(reason)  # requests in flight fail now, not at their timeout
            inbox.put_nowait(reason)
            return
