"""AriClient against the sandbox pbx (http://127.0.0.1:8088, callrec/callrec).

Skips when the pbx is not reachable - unless CI=true, where it fails: a compliance product must
not pass by skipping its real-server tests. Uses its own Stasis app name so it never steals the
"callrec" app from a running controller.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from callrec.ari import AriClient, AriConflict, AriEvent, AriNotFound, Connected, StreamItem
from tests.conftest import require_listening

pytestmark = pytest.mark.e2e

HOST, PORT = "127.0.0.1", 8088


@pytest.fixture(scope="module", autouse=True)
def pbx_reachable() -> None:
    require_listening(HOST, PORT)


def client(*, rest_over_websocket: bool = False) -> AriClient:
    return AriClient(f"http://{HOST}:{PORT}", "callrec", "callrec", f"callrec-test-{uuid.uuid4().hex[:8]}",
                     heartbeat=2.0, rest_over_websocket=rest_over_websocket)


async def next_event(stream: AsyncIterator[StreamItem], event_type: str, channel_id: str) -> AriEvent:
    async with asyncio.timeout(5.0):
        async for item in stream:
            if isinstance(item, AriEvent) and item.type == event_type and item.channel \
                    and item.channel.id == channel_id:
                return item
    raise AssertionError("event stream ended")


async def test_asterisk_info_reports_asterisk_22() -> None:
    async with client() as ari:
        info = await ari.asterisk_info()
    assert info["system"]["version"].startswith("22.")


async def test_bridge_lifecycle_and_conflict() -> None:
    bridge_id = f"test-{uuid.uuid4()}"
    async with client() as ari:
        created = await ari.create_bridge(bridge_id, name="callrec-test")
        with pytest.raises(AriConflict) as duplicate:
            await ari.create_bridge(bridge_id)
        fetched = await ari.get_bridge(bridge_id)
        assert bridge_id in {b.id for b in await ari.list_bridges()}
        await ari.destroy_bridge(bridge_id)
        with pytest.raises(AriNotFound):
            await ari.get_bridge(bridge_id)
    assert (created.id, created.bridge_type, created.channels) == (bridge_id, "mixing", ())
    assert fetched == created
    assert "already exists" in duplicate.value.message


async def test_missing_channel_is_not_found_with_asterisks_message() -> None:
    async with client() as ari:
        with pytest.raises(AriNotFound) as caught:
            await ari.get_channel(f"missing-{uuid.uuid4()}")
    assert caught.value.status == 404
    assert caught.value.message == "Channel not found"


async def test_events_websocket_delivers_the_life_of_a_real_channel() -> None:
    channel_id = f"test-{uuid.uuid4()}"
    async with client() as ari:
        stream = ari.events()
        async with asyncio.timeout(5.0):
            assert isinstance(await anext(stream), Connected)
        channel = await ari.external_media(channel_id, "127.0.0.1:40000")
        started = await next_event(stream, "StasisStart", channel_id)
        assert await ari.get_var(channel_id, "CALLREC_UNSET") is None  # 404 "variable not found"
        await ari.set_var(channel_id, "CALLREC_TEST", "yes")
        assert await ari.get_var(channel_id, "CALLREC_TEST") == "yes"
        await ari.hangup(channel_id)
        ended = await next_event(stream, "StasisEnd", channel_id)
        with pytest.raises(AriNotFound):  # the channel is gone: not a "None" variable
            await ari.get_var(channel_id, "CALLREC_TEST")
    assert channel.id == channel_id and channel.name.startswith("UnicastRTP/")
    assert started.timestamp <= ended.timestamp
    assert started.timestamp.utcoffset() is not None


async def test_an_event_filter_is_really_applied() -> None:
    async with client() as ari:
        stream = ari.events()
        async with asyncio.timeout(5.0):
            async for item in stream:
                if isinstance(item, Connected):
                    break
        await ari.drop_events(["ChannelVarset", "Dial"])
        app = await ari.application()
        assert {e["type"] for e in app["events_disallowed"]} == {"ChannelVarset", "Dial"}


async def test_rest_over_the_event_websocket_answers_as_http_does() -> None:
    """Asterisk 22's REST over the event WebSocket: same results, same errors and messages."""
    bridge_id, channel_id = f"test-{uuid.uuid4()}", f"test-{uuid.uuid4()}"
    async with client(rest_over_websocket=True) as ari:
        assert ari.rest_transport == "http"  # no event connection yet
        stream = ari.events()
        async with asyncio.timeout(5.0):
            assert isinstance(await anext(stream), Connected)
        assert ari.rest_transport == "websocket"
        created = await ari.create_bridge(bridge_id, name="callrec-test")
        with pytest.raises(AriConflict) as duplicate:
            await ari.create_bridge(bridge_id)
        await ari.external_media(channel_id, "127.0.0.1:40000")
        await next_event(stream, "StasisStart", channel_id)
        await ari.set_var(channel_id, "CALLREC_TEST", "yes")
        assert await ari.get_var(channel_id, "CALLREC_TEST") == "yes"
        assert await ari.get_var(channel_id, "CALLREC_UNSET") is None
        await ari.add_channel(bridge_id, channel_id)
        assert (await ari.get_bridge(bridge_id)).channels == (channel_id,)
        await ari.hangup(channel_id)
        await next_event(stream, "StasisEnd", channel_id)
        await ari.destroy_bridge(bridge_id)
        with pytest.raises(AriNotFound) as missing:
            await ari.get_bridge(bridge_id)
    assert (created.id, created.bridge_type) == (bridge_id, "mixing")
    assert "already exists" in duplicate.value.message
    assert missing.value.message == "Bridge not found"
