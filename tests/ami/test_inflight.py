"""A MixMonitor start or stop in flight when AMI timed out or dropped is re-checked, never assumed.

The Recorder over a real AmiGateway against the fake AMI server: the fake carries an action out and
then loses the connection before answering (``lose_reply_to``), or never gets it (half-open socket).
After the reconnect a start is looked up on the channel (MixMonitor's i() variable and
MIXMONITOR_FILENAME) and adopted or reported failed; a stop is sent again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from callrec.ami import AmiError
from callrec.controller.recorder import MONITOR_VAR, Recorder, RecordingFiles

from .fake_ami import FakeAmi, running
from .test_gateway import gateway_for, until

AGENT = "PJSIP/agent1-00000002"
AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@asynccontextmanager
async def recorder_on(fake: FakeAmi, tmp_path: Path, *, reconnect_wait: float = 3.0,
                      action_timeout: float = 0.3) -> AsyncIterator[Recorder]:
    async with running(fake), gateway_for(fake, action_timeout=action_timeout) as ami:
        yield Recorder(ami, asterisk_dir="/spool", local_dir=str(tmp_path), finalise_timeout=1.0,
                       reconnect_wait=reconnect_wait)


def files(recorder: Recorder, n: int = 1) -> RecordingFiles:
    return recorder.files(UUID(int=n), AT)


async def test_a_start_carried_out_but_unanswered_is_found_and_adopted(tmp_path: Path) -> None:
    fake = FakeAmi(channel_vars={AGENT: {}}, lose_reply_to={"mixmonitor"})
    async with recorder_on(fake, tmp_path) as recorder:
        asterisk_id = await recorder.start(AGENT, files(recorder))
    assert asterisk_id is not None and list(fake.monitors) == [asterisk_id]
    assert len(fake.received("MixMonitor")) == 1  # looked up, never started a second time
    assert {str(g["Variable"]) for g in fake.received("Getvar")} == {MONITOR_VAR,
                                                                    "MIXMONITOR_FILENAME"}
    assert fake.connections == 2


async def test_a_start_that_never_reached_asterisk_is_reported_failed(tmp_path: Path) -> None:
    fake = FakeAmi(channel_vars={AGENT: {}})
    async with recorder_on(fake, tmp_path) as recorder:
        fake.half_open()  # the socket dies silently: the MixMonitor is never carried out
        with pytest.raises(AmiError, match="not running"):
            await recorder.start(AGENT, files(recorder))
    assert fake.monitors == {} and fake.connections == 2


async def test_an_earlier_monitors_id_on_the_channel_is_not_taken_for_this_start(
        tmp_path: Path) -> None:
    fake = FakeAmi(channel_vars={AGENT: {}})
    async with recorder_on(fake, tmp_path) as recorder:
        earlier = await recorder.start(AGENT, files(recorder, 1))
        await recorder.stop(AGENT, earlier)
        fake.half_open()
        with pytest.raises(AmiError, match="not running"):
            await recorder.start(AGENT, files(recorder, 2))
    assert fake.channel_vars[AGENT][MONITOR_VAR] == earlier and fake.monitors == {}


async def test_a_start_refused_while_disconnected_is_not_rechecked(tmp_path: Path) -> None:
    fake = FakeAmi(channel_vars={AGENT: {}})
    async with recorder_on(fake, tmp_path) as recorder:
        fake.drop_all()
        ami = recorder._ami
        await until(lambda: not ami.connected)
        with pytest.raises(AmiError, match="not connected"):
            await recorder.start(AGENT, files(recorder))
    assert not fake.received("MixMonitor") and not fake.received("Getvar")


async def test_a_stop_lost_in_flight_is_sent_again_once_reconnected(tmp_path: Path) -> None:
    fake = FakeAmi(channel_vars={AGENT: {}})
    async with recorder_on(fake, tmp_path) as recorder:
        asterisk_id = await recorder.start(AGENT, files(recorder))
        fake.half_open()  # this StopMixMonitor never reaches Asterisk
        assert not await recorder.stop(AGENT, asterisk_id)  # unanswered: sent again meanwhile
        await recorder.retries_sent()
    assert fake.monitors == {}
    assert [s["MixMonitorID"] for s in fake.received("StopMixMonitor")] == [asterisk_id] * 2


async def test_a_stop_carried_out_but_unanswered_is_harmless_to_repeat(tmp_path: Path) -> None:
    fake = FakeAmi(channel_vars={AGENT: {}})
    async with recorder_on(fake, tmp_path) as recorder:
        asterisk_id = await recorder.start(AGENT, files(recorder))
        fake.lose_reply_to.add("stopmixmonitor")
        assert not await recorder.stop(AGENT, asterisk_id)
        await recorder.retries_sent()  # the repeat finds nothing to stop
        await recorder.start(AGENT, files(recorder, 2))  # and AMI works on
    assert len(fake.received("StopMixMonitor")) == 2 and len(fake.monitors) == 1


async def test_a_stop_while_disconnected_waits_for_the_reconnect(tmp_path: Path) -> None:
    fake = FakeAmi(channel_vars={AGENT: {}})
    async with recorder_on(fake, tmp_path) as recorder:
        asterisk_id = await recorder.start(AGENT, files(recorder))
        fake.drop_all()
        ami = recorder._ami
        await until(lambda: not ami.connected)
        assert not await recorder.stop(AGENT, asterisk_id)  # refused: sent once reconnected
        await recorder.retries_sent()
    assert fake.monitors == {}


async def test_when_ami_stays_down_start_and_stop_give_up_within_the_bound(tmp_path: Path) -> None:
    fake = FakeAmi(channel_vars={AGENT: {}})
    async with running(fake), gateway_for(fake, action_timeout=0.3) as ami:
        recorder = Recorder(ami, asterisk_dir="/spool", local_dir=str(tmp_path),
                            finalise_timeout=1.0, reconnect_wait=0.5)
        asterisk_id = await recorder.start(AGENT, files(recorder))
        fake.username = "locked-out"  # every reconnect is refused from now on
        fake.half_open()
        started = time.monotonic()
        assert not await recorder.stop(AGENT, asterisk_id)
        with pytest.raises(AmiError):
            await recorder.start(AGENT, files(recorder, 2))
        assert time.monotonic() - started < 3.0
    assert fake.monitors == {asterisk_id: AGENT}  # ``b`` ends it when the agent leaves the bridge
