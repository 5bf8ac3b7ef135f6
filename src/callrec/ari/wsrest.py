"""ARI REST requests over the event WebSocket (Asterisk 20.14, 21.9, 22.4 and later).

Why: over HTTP every request costs the controller about half a millisecond of CPU - aiohttp's
request machinery, a loopback connection's send and receive, HTTP parsed on both sides - and a
call makes about a dozen (docs/benchmarks-load.md). Over the WebSocket the controller already
holds, a request is one JSON text frame out and one ``RESTResponse`` message back, with the
status and body HTTP would have given.

Asterisk answers one socket's requests one at a time, in order. A request whose target is busy
(an ``addChannel`` waits for the channel's own Stasis thread) holds up the ones behind it. Measured
side by side on the 2-core sandbox (docs/benchmarks-load-rounds.md) the controller's CPU per call
did not fall beyond the run-to-run noise, so it is opt-in: ``[asterisk] ari_rest = "websocket"``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp


class WsRestLost(Exception):
    """The WebSocket went away before the answer came: the request's outcome is unknown."""


@dataclass(frozen=True)
class RestReply:
    status: int
    reason: str
    body: bytes


class WsRest:
    """The requests in flight on the current event WebSocket, matched to their answers by id."""

    def __init__(self) -> None:
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[RestReply]] = {}
        self._ids = itertools.count(1)

    @property
    def available(self) -> bool:
        return self._ws is not None and not self._ws.closed

    def attach(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws

    def detach(self, reason: str) -> None:
        """The socket ended: every request still waiting fails now, not at its timeout."""
        self._ws = None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WsRestLost(reason))

    async def request(self, method: str, path: str, query: Mapping[str, str],
                      body: object) -> RestReply:
        """Send one request and wait for its answer (the caller bounds the wait)."""
        ws = self._ws
        if ws is None or ws.closed:
            raise WsRestLost("no event WebSocket")
        request_id = str(next(self._ids))
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send_str(json.dumps(_message(request_id, method, path, query, body)))
            return await future
        finally:
            self._pending.pop(request_id, None)

    def resolve(self, message: Mapping[str, Any]) -> None:
        """A ``RESTResponse`` arrived: complete its request (unknown ids are late answers to
        requests that timed out, and are dropped)."""
        future = self._pending.get(str(message.get("request_id")))
        if future is None or future.done():
            return
        status = message.get("status_code")
        body = message.get("message_body")
        if isinstance(status, bool) or not isinstance(status, int):
            future.set_exception(WsRestLost(f"RESTResponse without a status: {status!r}"))
            return
        future.set_result(RestReply(status, str(message.get("reason_phrase") or ""),
                                    body.encode() if isinstance(body, str) else b""))


def _message(request_id: str, method: str, path: str, query: Mapping[str, str],
             body: object) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "RESTRequest", "request_id": request_id,
                               "method": method, "uri": path.lstrip("/")}
    if query:
        message["query_strings"] = [{"name": k, "value": v} for k, v in query.items()]
    if body is not None:
        message["content_type"] = "application/json"
        message["message_body"] = json.dumps(body)
    return message
