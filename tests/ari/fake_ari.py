"""A tiny in-process fake of Asterisk's ARI HTTP server, for unit-testing the ARI client.

REST: every request is recorded; replies are scripted per (method, path) and default to ARI's
404 {"message": "..."} shape. Events: each WebSocket connection runs the next scripted
behaviour (send events, drop, send garbage, go silent), then by default stays open and answers
pings.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

WsScript = Callable[["WsConnection"], Awaitable[None]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event(event_type: str, **fields: Any) -> str:
    """An ARI event as Asterisk would send it (note the colon-less UTC offset)."""
    body = {"type": event_type, "timestamp": "2024-05-01T12:00:00.123+0000", "application": "callrec"}
    body.update(fields)
    return json.dumps(body)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None


@dataclass
class WsConnection:
    """One accepted event WebSocket, handed to a script."""

    ws: web.WebSocketResponse
    query: dict[str, str]
    authorization: str | None
    stop: asyncio.Event

    async def send(self, *texts: str) -> None:
        for text in texts:
            await self.ws.send_str(text)

    async def drop(self) -> None:
        await self.ws.close()

    async def go_silent(self) -> None:
        """Half-open: keep the TCP socket open but never read again, so pings go unanswered."""
        await self.stop.wait()

    async def serve(self) -> None:
        """Behave like a live Asterisk: keep reading (aiohttp answers pings while reading)."""
        reader = asyncio.ensure_future(self._drain())
        stopper = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        reader.cancel()
        stopper.cancel()

    async def _drain(self) -> None:
        async for _ in self.ws:
            pass


@dataclass
class FakeAri:
    port: int = field(default_factory=free_port)
    requests: list[RecordedRequest] = field(default_factory=list)
    replies: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    delays: dict[tuple[str, str], float] = field(default_factory=dict)
    ws_scripts: deque[WsScript] = field(default_factory=deque)
    ws_connections: list[WsConnection] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reply(self, method: str, path: str, status: int, body: Any = None) -> None:
        """Script the reply to ``method /ari{path}``. ``body``: JSON-able, or bytes sent raw."""
        self.replies[(method, path)] = (status, body)

    def on_ws(self, *scripts: WsScript) -> None:
        self.ws_scripts.extend(scripts)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ari/events", self._events)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        return app

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/ari")
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.requests.append(
            RecordedRequest(
                request.method, request.raw_path.split("?")[0].removeprefix("/ari"),
                dict(request.query), body, request.headers.get("Authorization"),
            )
        )
        key = (request.method, path)
        if key in self.delays:
            await asyncio.sleep(self.delays[key])
        status, reply = self.replies.get(key, (404, {"message": f"no fake reply for {path}"}))
        if isinstance(reply, bytes):
            return web.Response(status=status, body=reply)
        if reply is None:
            return web.Response(status=status)
        return web.json_response(reply, status=status)

    async def _events(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connection = WsConnection(ws, dict(request.query), request.headers.get("Authorization"), self.stop)
        self.ws_connections.append(connection)
        script = self.ws_scripts.popleft() if self.ws_scripts else None
        if script is not None:
            await script(connection)
        if not ws.closed:
            await connection.serve()
        return ws


@asynccontextmanager
async def running(fake: FakeAri) -> AsyncIterator[FakeAri]:
    runner = web.AppRunner(fake.app(), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", fake.port)
    await site.start()
    try:
        yield fake
    finally:
        fake.stop.set()
        await runner.cleanup()
