"""AriClient REST: the right ARI request for each call, typed results, and AriError for failures."""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from callrec.ari import AriClient, AriConflict, AriError, AriNotFound, Bridge, Channel, Playback

from .fake_ari import FakeAri, free_port, running

CHANNEL = {"id": "c1", "name": "PJSIP/agent-00000002", "state": "Up", "caller": {"number": "2001"}}
BRIDGE = {"id": "b1", "bridge_type": "mixing", "channels": ["c1"], "name": "call-1"}
PLAYBACK = {"id": "p1", "state": "queued", "target_uri": "channel:c1", "media_uri": "sound:beep"}

Call = Callable[[AriClient], Awaitable[Any]]


def client_for(fake: FakeAri, **kwargs: Any) -> AriClient:
    return AriClient(fake.url, "callrec", "secret", "callrec", **kwargs)


# (call, HTTP method, path under /ari, expected query, expected JSON body, reply status, reply body)
REQUESTS: list[tuple[str, Call, str, str, dict[str, str], Any, int, Any]] = [
    ("asterisk_info", lambda a: a.asterisk_info(), "GET", "/asterisk/info", {}, None, 200, {"system": {}}),
    ("application", lambda a: a.application(), "GET", "/applications/callrec", {}, None, 200, {"name": "callrec"}),
    ("list_channels", lambda a: a.list_channels(), "GET", "/channels", {}, None, 200, [CHANNEL]),
    ("get_channel", lambda a: a.get_channel("c1"), "GET", "/channels/c1", {}, None, 200, CHANNEL),
    ("answer", lambda a: a.answer("c1"), "POST", "/channels/c1/answer", {}, None, 204, None),
    ("hangup", lambda a: a.hangup("c1"), "DELETE", "/channels/c1", {"reason": "normal"}, None, 204, None),
    ("hangup busy", lambda a: a.hangup("c1", "busy"), "DELETE", "/channels/c1", {"reason": "busy"}, None, 204, None),
    ("play list", lambda a: a.play("c1", ["sound:a", "tone:ring"], "p1"), "POST", "/channels/c1/play/p1",
     {"media": "sound:a,tone:ring"}, None, 201, PLAYBACK),
    ("stop_playback", lambda a: a.stop_playback("p1"), "DELETE", "/playbacks/p1", {}, None, 204, None),
    ("originate", lambda a: a.originate("PJSIP/2001", channel_id="c9", app_args="agent,1",
                                        caller_id="Q <100>", variables={"CALLREC": "1"}),
     "POST", "/channels/c9",
     {"endpoint": "PJSIP/2001", "app": "callrec", "appArgs": "agent,1", "callerId": "Q <100>", "timeout": "30"},
     {"variables": {"CALLREC": "1"}}, 200, CHANNEL | {"id": "c9"}),
    ("external_media", lambda a: a.external_media("em1", "127.0.0.1:40000"), "POST", "/channels/externalMedia",
     {"channelId": "em1", "app": "callrec", "external_host": "127.0.0.1:40000", "format": "ulaw"}, None,
     200, CHANNEL | {"id": "em1"}),
    ("continue", lambda a: a.continue_in_dialplan("c1", "ivr", "s"), "POST", "/channels/c1/continue",
     {"context": "ivr", "extension": "s", "priority": "1"}, None, 204, None),
    ("redirect", lambda a: a.redirect("c1", "PJSIP/2002"), "POST", "/channels/c1/redirect",
     {"endpoint": "PJSIP/2002"}, None, 204, None),
    ("start_moh", lambda a: a.start_moh("c1", "default"), "POST", "/channels/c1/moh", {"mohClass": "default"}, None, 204, None),
    ("stop_moh", lambda a: a.stop_moh("c1"), "DELETE", "/channels/c1/moh", {}, None, 204, None),
    ("mute", lambda a: a.mute("c1", "in"), "POST", "/channels/c1/mute", {"direction": "in"}, None, 204, None),
    ("unmute", lambda a: a.unmute("c1", "in"), "DELETE", "/channels/c1/mute", {"direction": "in"}, None, 204, None),
    ("set_var", lambda a: a.set_var("c1", "X", "y"), "POST", "/channels/c1/variable",
     {"variable": "X", "value": "y"}, None, 204, None),
    ("transfer_progress", lambda a: a.transfer_progress("c1", "channel_answered"), "POST",
     "/channels/c1/transfer_progress", {"states": "channel_answered"}, None, 204, None),
    ("create_bridge", lambda a: a.create_bridge("b1", name="call-1"), "POST", "/bridges/b1",
     {"type": "mixing", "name": "call-1"}, None, 200, BRIDGE),
    ("get_bridge", lambda a: a.get_bridge("b1"), "GET", "/bridges/b1", {}, None, 200, BRIDGE),
    ("list_bridges", lambda a: a.list_bridges(), "GET", "/bridges", {}, None, 200, [BRIDGE]),
    ("add_channel", lambda a: a.add_channel("b1", "c1", role="agent"), "POST", "/bridges/b1/addChannel",
     {"channel": "c1", "role": "agent"}, None, 204, None),
    ("remove_channel", lambda a: a.remove_channel("b1", "c1"), "POST", "/bridges/b1/removeChannel",
     {"channel": "c1"}, None, 204, None),
    ("destroy_bridge", lambda a: a.destroy_bridge("b1"), "DELETE", "/bridges/b1", {}, None, 204, None),
    ("bridge_start_moh", lambda a: a.bridge_start_moh("b1", "hold"), "POST", "/bridges/b1/moh",
     {"mohClass": "hold"}, None, 204, None),
    ("bridge_stop_moh", lambda a: a.bridge_stop_moh("b1"), "DELETE", "/bridges/b1/moh", {}, None, 204, None),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "query", "body", "status", "reply"),
    [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS],
)
async def test_each_call_sends_the_documented_ari_request(
    call: Call, method: str, path: str, query: dict[str, str], body: Any, status: int, reply: Any
) -> None:
    fake = FakeAri()
    fake.reply(method, path, status, reply)
    async with running(fake), client_for(fake) as ari:
        await call(ari)
    [request] = fake.requests
    assert (request.method, request.path, request.query, request.body) == (method, path, query, body)
    assert request.authorization == "Basic " + base64.b64encode(b"callrec:secret").decode()


async def test_results_are_typed_models() -> None:
    fake = FakeAri()
    fake.reply("GET", "/channels/c1", 200, CHANNEL)
    fake.reply("GET", "/bridges", 200, [BRIDGE])
    fake.reply("POST", "/channels/c1/play/p1", 201, PLAYBACK)
    async with running(fake), client_for(fake) as ari:
        channel = await ari.get_channel("c1")
        bridges = await ari.list_bridges()
        playback = await ari.play("c1", "sound:beep", "p1")
    assert channel == Channel("c1", "PJSIP/agent-00000002", "Up", "2001", "", "", "", "", None)
    assert bridges == [Bridge("b1", "mixing", ("c1",), "call-1")]
    assert playback == Playback("p1", "queued", "channel:c1", "sound:beep")


async def test_ids_are_path_quoted() -> None:
    fake = FakeAri()
    fake.reply("POST", "/channels/a/b/answer", 204)
    async with running(fake), client_for(fake) as ari:
        await ari.answer("a/b")
    assert fake.requests[0].path == "/channels/a%2Fb/answer"


@pytest.mark.parametrize(
    ("status", "body", "error_type", "message"),
    [
        (404, {"message": "Channel not found"}, AriNotFound, "Channel not found"),
        (409, {"message": "Channel not in Stasis application"}, AriConflict, "Channel not in Stasis application"),
        (400, {"message": "Invalid reason for hangup provided"}, AriError, "Invalid reason for hangup provided"),
        (401, {"error": "Authentication required"}, AriError, "Authentication required"),
        (500, b"<html>boom</html>", AriError, "<html>boom</html>"),
    ],
)
async def test_error_statuses_carry_asterisks_message(
    status: int, body: Any, error_type: type[AriError], message: str
) -> None:
    fake = FakeAri()
    fake.reply("DELETE", "/channels/c1", status, body)
    async with running(fake), client_for(fake) as ari:
        with pytest.raises(error_type) as caught:
            await ari.hangup("c1")
    assert type(caught.value) is error_type
    assert (caught.value.status, caught.value.method, caught.value.path) == (status, "DELETE", "/channels/c1")
    assert caught.value.message == message
    assert message in str(caught.value)


async def test_get_var_returns_value_or_none_when_unset_but_raises_for_missing_channel() -> None:
    fake = FakeAri()
    fake.reply("GET", "/channels/c1/variable", 200, {"value": "yes"})
    async with running(fake), client_for(fake) as ari:
        assert await ari.get_var("c1", "RECORD") == "yes"
        fake.reply("GET", "/channels/c1/variable", 404, {"message": "Provided variable was not found"})
        assert await ari.get_var("c1", "RECORD") is None
        # Asterisk 22.10's wording for each case (checked against the sandbox pbx).
        fake.reply("GET", "/channels/c1/variable", 404, {"message": "Provided channel was not found"})
        with pytest.raises(AriNotFound):
            await ari.get_var("c1", "RECORD")
    assert fake.requests[0].query == {"variable": "RECORD"}


@pytest.mark.parametrize("reply", [{"name": "no id"}, [CHANNEL], b"not json"])
async def test_unexpected_success_bodies_are_ari_errors(reply: Any) -> None:
    fake = FakeAri()
    fake.reply("GET", "/channels/c1", 200, reply)
    async with running(fake), client_for(fake) as ari:
        with pytest.raises(AriError) as caught:
            await ari.get_channel("c1")
    assert "response" in caught.value.message


async def test_refused_connection_is_an_ari_error_without_status() -> None:
    async with AriClient(f"http://127.0.0.1:{free_port()}", "u", "p", "callrec") as ari:
        with pytest.raises(AriError) as caught:
            await ari.asterisk_info()
    assert caught.value.status is None
    assert caught.value.path == "/asterisk/info"


async def test_slow_response_times_out_as_ari_error() -> None:
    fake = FakeAri()
    fake.reply("GET", "/asterisk/info", 200, {})
    fake.delays[("GET", "/asterisk/info")] = 5.0
    async with running(fake), client_for(fake, request_timeout=0.3) as ari:
        started = time.monotonic()
        with pytest.raises(AriError) as caught:
            await ari.asterisk_info()
    assert caught.value.status is None
    assert time.monotonic() - started < 2.0


async def test_calls_after_close_are_ari_errors() -> None:
    fake = FakeAri()
    async with running(fake):
        ari = client_for(fake)
        async with ari:
            pass
        with pytest.raises(AriError, match="not open"):
            await ari.asterisk_info()
    assert fake.requests == []
