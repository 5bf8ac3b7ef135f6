"""AmiGateway against the sandbox pbx AMI (127.0.0.1:5038, callrec/callrec).

Skips when the pbx is not reachable - unless CI=true, where it fails.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from callrec.ami import AmiError, AmiGateway
from callrec.ari import AriClient, Connected
from callrec.config import RecordingsConfig
from callrec.controller.recorder import MONITOR_VAR, Recorder
from tests.conftest import require_listening

pytestmark = pytest.mark.e2e

HOST, AMI_PORT, ARI_PORT = "127.0.0.1", 5038, 8088
WAV_HEADER_BYTES = 44  # format_wav's header, before any audio


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


async def test_an_armed_mixmonitor_writes_nothing_until_bridged_and_can_be_found_again() -> None:
    """The Asterisk facts arming and the in-flight re-check rest on: MixMonitor creates its files at
    once, but with ``b`` writes no audio while the channel is unbridged; MIXMONITOR_FILENAME and the
    i() variable name this very monitor; discard leaves no file behind."""
    channel_id = f"test-{uuid.uuid4()}"
    app = f"callrec-test-{uuid.uuid4().hex[:8]}"
    dirs = RecordingsConfig()
    async with AriClient(f"http://{HOST}:{ARI_PORT}", "callrec", "callrec", app) as ari, gateway() as ami:
        events = ari.events()
        async with asyncio.timeout(5.0):
            assert isinstance(await anext(events), Connected)
        channel = await ari.external_media(channel_id, "127.0.0.1:40000")
        recorder = Recorder(ami, asterisk_dir=dirs.asterisk_dir, local_dir=dirs.local_dir,
                            finalise_timeout=1.0)
        files = recorder.files(uuid.uuid4(), datetime.now(UTC))
        legs = (files.local_mix, files.local_caller, files.local_agent)
        try:
            asterisk_id = await recorder.start(channel.name, files)
            assert asterisk_id
            assert await ami.getvar(channel.name, MONITOR_VAR) == asterisk_id
            assert await ami.getvar(channel.name, "MIXMONITOR_FILENAME") == str(files.asterisk_mix)
            await asyncio.sleep(0.5)  # 25 frames' time: none may reach the file
            assert files.local_mix.stat().st_size == WAV_HEADER_BYTES
            await recorder.discard(channel.name, asterisk_id, files)
            with pytest.raises(AmiError):  # discard stopped it
                await ami.mixmonitor_stop(channel.name, asterisk_id)
            assert not any(p.exists() for p in legs)
        finally:
            await ari.hangup(channel_id)
            for path in legs:  # a failed run must not leave orphans for the sweep
                path.unlink(missing_ok=True)
