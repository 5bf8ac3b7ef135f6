"""AmiGateway against the sandbox pbx AMI (127.0.0.1:5038, callrec/callrec).

Skips when the pbx is not reachable - unless CI=true, where it fails.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from callrec.ami import AmiError, AmiGateway
from callrec.ari import AriClient, Connected
from tests.conftest import require_listening

pytestmark = pytest.mark.e2e

HOST, AMI_PORT, ARI_PORT = "127.0.0.1", 5038, 8088


@pytest.fixture(scope="module", autouse=True)
def pbx_reachable() -> None:
    require_listening(HOST, AMI_PORT, ARI_PORT)


def gateway() -> AmiGateway:
    return AmiGateway(HOST, AMI_PORT, "callrec", "callrec")


async def test_login_and_cli_command() -> None:
    async with gateway() as ami:
        assert ami.connected
        version = await ami.command("core show version")
    assert "Asterisk 22." in version


async def test_wrong_secret_is_refused() -> None:
    with pytest.raises(AmiError) as caught:
        await AmiGateway(HOST, AMI_PORT, "callrec", "wrong").connect()
    assert caught.value.message == "Authentication failed"


async def test_getvar_on_a_missing_channel_is_an_amierror() -> None:
    async with gateway() as ami:
        with pytest.raises(AmiError) as caught:
            await ami.getvar("PJSIP/nobody-00000000", "CALLREC_ID")
        assert ami.connected
    assert (caught.value.message, caught.value.action) == ("No such channel", "Getvar")


async def test_async_originate_returns_at_once_and_fails_later_as_an_event() -> None:
    action_id = f"callrec-test-{uuid.uuid4()}"
    async with gateway() as ami:
        outcome = ami.expect_event("OriginateResponse", lambda e: e.get("ActionID") == action_id)
        await ami.originate("PJSIP/no-such-endpoint", context="callrec-inbound", exten="100",
                            action_id=action_id)
        async with asyncio.timeout(5.0):
            event = await outcome
    assert event.text("Response") == "Failure"


async def test_mixmonitor_start_and_stop_on_a_real_channel() -> None:
    channel_id = f"test-{uuid.uuid4()}"
    app = f"callrec-test-{uuid.uuid4().hex[:8]}"
    async with AriClient(f"http://{HOST}:{ARI_PORT}", "callrec", "callrec", app) as ari, gateway() as ami:
        # A Stasis app exists only while its event WebSocket is connected; a channel put into an
        # app nobody listens to is hung up at once.
        events = ari.events()
        async with asyncio.timeout(5.0):
            assert isinstance(await anext(events), Connected)
        channel = await ari.external_media(channel_id, "127.0.0.1:40000")
        try:
            started = ami.expect_event("MixMonitorStart", lambda e: e.get("Uniqueid") == channel_id)
            mixmonitor_id = await ami.mixmonitor_start(channel.name, f"/tmp/{channel_id}.wav",
                                                       options="i(CALLREC_MIXMONITOR_ID)")
            assert mixmonitor_id
            # i(VAR) also stores the ID on the channel
            assert await ami.getvar(channel.name, "CALLREC_MIXMONITOR_ID") == mixmonitor_id
            stopped = ami.expect_event("MixMonitorStop", lambda e: e.get("Uniqueid") == channel_id)
            await ami.mixmonitor_stop(channel.name, mixmonitor_id)
            async with asyncio.timeout(5.0):
                await started
                await stopped
            with pytest.raises(AmiError):  # nothing left to stop
                await ami.mixmonitor_stop(channel.name, mixmonitor_id)
        finally:
            await ari.hangup(channel_id)
