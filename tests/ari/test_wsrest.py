"""REST over the event WebSocket (``rest_over_websocket=True``): while ``events()`` holds a
connection, requests travel on it as RESTRequest messages and come back as RESTResponse, with the
same results and errors as over HTTP; a dropped socket fails the requests in flight at once;
without a connection, requests go over HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from callrec.ari import AriClient, AriError, AriNotFound, Connected, StreamItem

from .fake_ari import FakeAri, WsConnection, running

CHANNEL = {"id": "c1", "name": "PJSIP/caller-00000001", "state": "Up"}
Answer = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


def client_for(fake: FakeAri) -> AriClient:
    return AriClient(fake.url, "callrec", "secret", "callrec", request_timeout=1.0,
                     backoff_initial=0.05, backoff_max=0.2, rest_over_websocket=True)


def answering(seen: list[dict[str, Any]], answer: Answer) -> Callable[[WsConnection], Awaitable[None]]:
    """A WebSocket script: every RESTRequest is recorded and answered as ``answer`` says
    (None: never answered)."""
    async def script(conn: WsConnection) -> None:
        async for message in conn.ws:
            request = json.loads(message.data)
            seen.append(request)
            reply = await answer(request)
            if reply is not None:
                await conn.send(json.dumps({"type": "RESTResponse",
                                            "request_id": request["request_id"],
                                            "uri": request["uri"], **reply}))
    return script


async def connected(ari: AriClient) -> AsyncIterator[StreamItem]:
    """The event stream, once connected (the caller holds it: the connection lives with it)."""
    stream = ari.events()
    async with asyncio.timeout(3):
        assert isinstance(await anext(stream), Connected)
    return stream


async def test_requests_travel_on_the_socket_with_their_parameters_and_body() -> None:
    seen: list[dict[str, Any]] = []

    async def ok(request: dict[str, Any]) -> dict[str, Any]:
        return {"status_code": 200, "reason_phrase": "OK", "content_type": "application/json",
                "message_body": json.dumps(CHANNEL)}

    fake = FakeAri()
    fake.on_ws(answering(seen, ok))
    async with running(fake), client_for(fake) as ari:
        _events = await connected(ari)
        channel = await ari.originate("PJSIP/agent1", channel_id="c1", app_args="agent,1",
                                      variables={"CALLREC_LEG": "1"})
    assert channel.id == "c1" and not fake.requests  # nothing over HTTP
    [request] = seen
    assert (request["type"], request["method"], request["uri"]) == (
        "RESTRequest", "POST", "channels/c1")
    params = {q["name"]: q["value"] for q in request["query_strings"]}
    assert params["endpoint"] == "PJSIP/agent1" and params["appArgs"] == "agent,1"
    assert json.loads(request["message_body"]) == {"variables": {"CALLREC_LEG": "1"}}


async def test_an_error_answer_is_the_same_error_as_over_http() -> None:
    async def missing(request: dict[str, Any]) -> dict[str, Any]:
        return {"status_code": 404, "reason_phrase": "Not Found",
                "message_body": json.dumps({"message": "Channel not found"})}

    fake = FakeAri()
    fake.on_ws(answering([], missing))
    async with running(fake), client_for(fake) as ari:
        _events = await connected(ari)
        with pytest.raises(AriNotFound) as caught:
            await ari.hangup("gone")
        with pytest.raises(AriNotFound):  # and the socket still carries the next request
            await ari.answer("gone")
    assert caught.value.message == "Channel not found"


async def test_a_socket_that_drops_fails_the_request_in_flight_at_once() -> None:
    async def drop(request: dict[str, Any]) -> None:
        raise ConnectionResetError  # the script ends: the fake closes the socket

    fake = FakeAri()
    fake.on_ws(answering([], drop))
    async with running(fake), client_for(fake) as ari:
        _events = await connected(ari)
        started = time.monotonic()
        with pytest.raises(AriError) as caught:
            await ari.answer("c1")
    assert caught.value.status is None  # outcome unknown, as for a broken HTTP connection
    assert time.monotonic() - started < 0.9  # not the 1 s request timeout


async def test_an_answer_that_never_comes_times_out() -> None:
    async def silent(request: dict[str, Any]) -> None:
        return None

    fake = FakeAri()
    fake.on_ws(answering([], silent))
    async with running(fake), client_for(fake) as ari:
        _events = await connected(ari)
        with pytest.raises(AriError) as caught:
            await ari.answer("c1")
    assert caught.value.status is None and "Timeout" in caught.value.message


async def test_without_an_event_connection_requests_go_over_http() -> None:
    fake = FakeAri()
    fake.reply("POST", "/channels/c1/answer", 204)
    async with running(fake), client_for(fake) as ari:
        await ari.answer("c1")
    assert [(r.method, r.path) for r in fake.requests] == [("POST", "/channels/c1/answer")]
