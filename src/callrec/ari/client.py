"""A small typed ARI client on aiohttp (REST + the event WebSocket).

Parameter names follow the Asterisk 22 REST API (``/usr/share/asterisk/rest-api/*.json``).
Every failure is an :class:`~callrec.ari.errors.AriError` carrying the HTTP status and the
``message`` of Asterisk's JSON error body.
"""

from __future__ import annotations

import asyncio
import base64
import json
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import aiohttp

from callrec.ari.errors import AriError, AriNotFound, MalformedEvent, error_for_status
from callrec.ari.events import Backoff, StreamItem, stream_events
from callrec.ari.models import Bridge, Channel, Playback
from callrec.ari.wsrest import RestReply, WsRest, WsRestLost

M = TypeVar("M")
Params = Mapping[str, str | int | bool | None]


def _segment(value: str) -> str:
    # IDs are caller-chosen strings; a "/" or "?" must not change which resource we address.
    return quote(value, safe="")


def _query(params: Params | None) -> dict[str, str]:
    """Drop unset parameters and render the rest the way ARI parses them."""
    rendered: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        rendered[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return rendered


def _error_message(body: bytes, reason: str | None) -> str:
    """Asterisk answers errors with {"message": "..."} (ARI) or {"error": "..."} (HTTP auth)."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        for key in ("message", "error"):
            value = decoded.get(key)
            if isinstance(value, str):
                return value
    return text[:200] or (reason or "")


class AriClient:
    """ARI for one Stasis application. Use as ``async with AriClient(...) as ari:``.

    ``base_url`` is Asterisk's HTTP server root, e.g. ``http://127.0.0.1:8088`` (``/ari`` is
    appended; a trailing ``/ari`` is accepted too).
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        app: str,
        *,
        request_timeout: float = 5.0,
        heartbeat: float = 5.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        rest_over_websocket: bool = False,
    ) -> None:
        root = base_url.rstrip("/")
        self._root = root if root.endswith("/ari") else root + "/ari"
        self._authorization = basic_authorization(username, password)
        self.app = app
        self._request_timeout = request_timeout
        self._heartbeat = heartbeat
        self._backoff = (backoff_initial, backoff_max)
        self._session: aiohttp.ClientSession | None = None
        self._closing = asyncio.Event()
        # Open event sockets, closed by close() even when their stream is suspended at a yield
        # (nobody iterating) and so cannot notice the shutdown itself.
        self._sockets: weakref.WeakSet[aiohttp.ClientWebSocketResponse] = weakref.WeakSet()
        # While events() holds a connection, REST goes over it (wsrest.py); else over HTTP.
        self._ws_rest = WsRest() if rest_over_websocket else None

    async def __aenter__(self) -> Self:
        # The header is built by hand: aiohttp 3.14 deprecates BasicAuth/auth= in favour of an
        # API that older 3.x releases lack. It also covers the WebSocket handshake.
        self._session = aiohttp.ClientSession(headers={"Authorization": self._authorization})
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session; a running ``events()`` iteration ends promptly."""
        self._closing.set()
        for ws in list(self._sockets):
            await ws.close()
        if self._session is not None:
            await self._session.close()

    @property
    def rest_transport(self) -> str:
        """How a request sent now would travel: "websocket" or "http"."""
        return "websocket" if self._ws_rest is not None and self._ws_rest.available else "http"

    # -- plumbing ---------------------------------------------------------------------------

    def _require_session(self, method: str, path: str) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed or self._closing.is_set():
            raise AriError(None, method, path, "ARI client is not open")
        return self._session

    async def _call(
        self, method: str, path: str, params: Params | None = None, body: object = None
    ) -> Any:
        """One REST request; the decoded JSON body, or None for 204 No Content."""
        session = self._require_session(method, path)
        try:
            if self._ws_rest is not None and self.rest_transport == "websocket":
                async with asyncio.timeout(self._request_timeout):
                    reply = await self._ws_rest.request(method, path, _query(params), body)
            else:
                reply = await self._over_http(session, method, path, params, body)
        except (aiohttp.ClientError, TimeoutError, OSError, WsRestLost) as exc:
            raise AriError(None, method, path, f"{type(exc).__name__}: {exc}") from exc
        status, reason, payload = reply.status, reply.reason, reply.body
        if status >= 300:
            raise error_for_status(status, method, path, _error_message(payload, reason))
        if not payload.strip():
            return None
        try:
            return json.loads(payload)
        except (ValueError, RecursionError):
            raise AriError(status, method, path, "response body is not JSON") from None

    async def _over_http(self, session: aiohttp.ClientSession, method: str, path: str,
                         params: Params | None, body: object) -> RestReply:
        timeout = aiohttp.ClientTimeout(total=self._request_timeout)
        async with session.request(
            method, self._root + path, params=_query(params), json=body, timeout=timeout
        ) as response:
            return RestReply(response.status, response.reason or "", await response.read())

    async def _model(
        self, parse: Callable[[object], M], method: str, path: str, params: Params | None = None,
        body: object = None,
    ) -> M:
        data = await self._call(method, path, params, body)
        try:
            return parse(data)
        except MalformedEvent as exc:
            raise AriError(None, method, path, f"unexpected response: {exc.message}") from None

    async def _list(self, parse: Callable[[object], M], path: str) -> list[M]:
        data = await self._call("GET", path)
        if not isinstance(data, list):
            raise AriError(None, "GET", path, "unexpected response: not a JSON list")
        try:
            return [parse(item) for item in data]
        except MalformedEvent as exc:
            raise AriError(None, "GET", path, f"unexpected response: {exc.message}") from None

    # -- asterisk / applications ------------------------------------------------------------

    async def asterisk_info(self) -> Mapping[str, Any]:
        return await self._model(_as_mapping, "GET", "/asterisk/info")

    async def application(self, name: str | None = None) -> Mapping[str, Any]:
        return await self._model(_as_mapping, "GET", f"/applications/{_segment(name or self.app)}")

    # -- channels ---------------------------------------------------------------------------

    async def list_channels(self) -> list[Channel]:
        return await self._list(Channel.from_json, "/channels")

    async def get_channel(self, channel_id: str) -> Channel:
        return await self._model(Channel.from_json, "GET", f"/channels/{_segment(channel_id)}")

    async def answer(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{_segment(channel_id)}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._call("DELETE", f"/channels/{_segment(channel_id)}", {"reason": reason})

    async def play(self, channel_id: str, media: str | list[str], playback_id: str) -> Playback:
        # ARI splits allowMultiple query parameters on commas; repeating the key keeps only one.
        uris = media if isinstance(media, str) else ",".join(media)
        path = f"/channels/{_segment(channel_id)}/play/{_segment(playback_id)}"
        return await self._model(Playback.from_json, "POST", path, {"media": uris})

    async def stop_playback(self, playback_id: str) -> None:
        await self._call("DELETE", f"/playbacks/{_segment(playback_id)}")

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app: str | None = None,
        app_args: str = "",
        caller_id: str | None = None,
        timeout: int = 30,
        variables: Mapping[str, str] | None = None,
        originator: str | None = None,
    ) -> Channel:
        """Originate into a Stasis app (this client's app unless ``app`` is given)."""
        params: Params = {
            "endpoint": endpoint,
            "app": app or self.app,
            "appArgs": app_args or None,
            "callerId": caller_id,
            "timeout": timeout,
            "originator": originator,
        }
        body = {"variables": dict(variables)} if variables else None
        path = f"/channels/{_segment(channel_id)}"
        return await self._model(Channel.from_json, "POST", path, params, body)

    async def external_media(
        self, channel_id: str, external_host: str, *, audio_format: str = "ulaw"
    ) -> Channel:
        """A UnicastRTP channel placed straight into this app (no dialplan, no phone): handy to
        get a real channel for tests and probes."""
        params: Params = {"channelId": channel_id, "app": self.app, "external_host": external_host,
                  "format": audio_format}
        return await self._model(Channel.from_json, "POST", "/channels/externalMedia", params)

    async def continue_in_dialplan(
        self, channel_id: str, context: str, extension: str, priority: int = 1
    ) -> None:
        params: Params = {"context": context, "extension": extension, "priority": priority}
        await self._call("POST", f"/channels/{_segment(channel_id)}/continue", params)

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        await self._call("POST", f"/channels/{_segment(channel_id)}/redirect", {"endpoint": endpoint})

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        await self._call("POST", f"/channels/{_segment(channel_id)}/moh", {"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self._call("DELETE", f"/channels/{_segment(channel_id)}/moh")

    async def mute(self, channel_id: str, direction: str = "both") -> None:
        await self._call("POST", f"/channels/{_segment(channel_id)}/mute", {"direction": direction})

    async def unmute(self, channel_id: str, direction: str = "both") -> None:
        path = f"/channels/{_segment(channel_id)}/mute"
        await self._call("DELETE", path, {"direction": direction})

    async def get_var(self, channel_id: str, name: str) -> str | None:
        """A channel variable's value, or None when it is not set.

        Asterisk answers 404 both for an unset variable and for an unknown channel; only the
        former is "None" - a missing channel is still an AriNotFound.
        """
        path = f"/channels/{_segment(channel_id)}/variable"
        try:
            data = await self._call("GET", path, {"variable": name})
        except AriNotFound as exc:
            if "variable" in exc.message.lower() and "channel" not in exc.message.lower():
                return None
            raise
        value = data.get("value") if isinstance(data, dict) else None
        if not isinstance(value, str):
            raise AriError(None, "GET", path, "unexpected response: no string 'value'")
        return value

    async def set_var(self, channel_id: str, name: str, value: str) -> None:
        path = f"/channels/{_segment(channel_id)}/variable"
        await self._call("POST", path, {"variable": name, "value": value})

    async def transfer_progress(self, channel_id: str, states: str) -> None:
        """Asterisk >= 22.3: tell a transferring channel how the transfer went
        (e.g. "channel_answered", "channel_declined")."""
        path = f"/channels/{_segment(channel_id)}/transfer_progress"
        await self._call("POST", path, {"states": states})

    async def hold(self, channel_id: str) -> None:
        """Indicate hold to the channel (a PJSIP endpoint with moh_passthrough sends a re-INVITE)."""
        await self._call("POST", f"/channels/{_segment(channel_id)}/hold")

    async def unhold(self, channel_id: str) -> None:
        await self._call("DELETE", f"/channels/{_segment(channel_id)}/hold")

    # -- events -----------------------------------------------------------------------------

    async def drop_events(self, event_types: Sequence[str]) -> None:
        """Ask Asterisk not to send this application these event types (ARI event filter).

        The body is the filter itself: ``{"filter": {...}}``, as the parameter name suggests, is
        accepted with 200 and silently ignored by Asterisk 22."""
        body = {"disallowed": [{"type": t} for t in event_types]}
        await self._call("PUT", f"/applications/{_segment(self.app)}/eventFilter", None, body)

    async def user_event(self, name: str, variables: Mapping[str, str],
                         application: str | None = None) -> None:
        """Raise a user event delivered to an application's WebSocket (ChannelUserevent).

        callrec's CLI uses it to reach a running controller with no extra control channel: the
        ARI credentials are the authority, and Asterisk is the transport.
        """
        path = f"/events/user/{_segment(name)}"
        await self._call("POST", path, {"application": application or self.app},
                         {"variables": dict(variables)})

    # -- bridges ----------------------------------------------------------------------------

    async def create_bridge(self, bridge_id: str, bridge_type: str = "mixing", name: str = "") -> Bridge:
        params = {"type": bridge_type, "name": name or None}
        return await self._model(Bridge.from_json, "POST", f"/bridges/{_segment(bridge_id)}", params)

    async def get_bridge(self, bridge_id: str) -> Bridge:
        return await self._model(Bridge.from_json, "GET", f"/bridges/{_segment(bridge_id)}")

    async def list_bridges(self) -> list[Bridge]:
        return await self._list(Bridge.from_json, "/bridges")

    async def add_channel(self, bridge_id: str, channel_id: str, role: str | None = None) -> None:
        path = f"/bridges/{_segment(bridge_id)}/addChannel"
        await self._call("POST", path, {"channel": channel_id, "role": role})

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        path = f"/bridges/{_segment(bridge_id)}/removeChannel"
        await self._call("POST", path, {"channel": channel_id})

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._call("DELETE", f"/bridges/{_segment(bridge_id)}")

    async def bridge_start_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        await self._call("POST", f"/bridges/{_segment(bridge_id)}/moh", {"mohClass": moh_class})

    async def bridge_stop_moh(self, bridge_id: str) -> None:
        await self._call("DELETE", f"/bridges/{_segment(bridge_id)}/moh")

    async def play_on_bridge(self, bridge_id: str, media: str, playback_id: str) -> Playback:
        """Play to every channel in the bridge (and so into a MixMonitor on any of them)."""
        path = f"/bridges/{_segment(bridge_id)}/play/{_segment(playback_id)}"
        return await self._model(Playback.from_json, "POST", path, {"media": media})

    # -- events -----------------------------------------------------------------------------

    def events(self) -> AsyncIterator[StreamItem]:
        """Events of this application, forever: ``Connected()`` after every (re)connect,
        ``Disconnected(reason)`` after every drop, until the client is closed. Iterate once."""
        initial, maximum = self._backoff
        return stream_events(
            self._open_websocket,
            self._closing,
            Backoff(initial, maximum),
            stable_after=maximum,
            rest=self._ws_rest,
        )

    async def _open_websocket(self) -> aiohttp.ClientWebSocketResponse:
        session = self._require_session("GET", "/events")
        # subscribeAll=false: only the channels/bridges this app owns, not every channel.
        params = {"app": self.app, "subscribeAll": "false"}
        # The handshake gets the REST timeout: a half-open server must not stall the reconnect.
        async with asyncio.timeout(self._request_timeout):
            ws = await session.ws_connect(
                self._root + "/events",
                params=params,
                heartbeat=self._heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_close=min(self._request_timeout, 2.0)),
            )
        self._sockets.add(ws)
        return ws


def basic_authorization(username: str, password: str) -> str:
    """The HTTP Basic `Authorization` header value for ARI (REST and WebSocket)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _as_mapping(data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MalformedEvent("not a JSON object")
    return data
