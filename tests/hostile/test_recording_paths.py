"""Recording file names: whatever the caller number, the keys pressed or the channel names, files
are named from callrec's own recording UUID and the date only, and stay inside the configured
directories."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callrec.controller.ivr import DTMF_KEYS
from callrec.controller.recorder import Recorder, RecordingFiles
from tests.controller.fakes import CALLER, Rig, bridge, channel, until
from tests.hostile.strategies import NASTY, hostile

DIRS = st.sampled_from(["/var/spool/asterisk/callrec", "/var/spool/asterisk/callrec/", "/r",
                        "/srv/rec dir/x", "relative/spool"])
LAYOUT = re.compile(r"[0-9]{1,4}/[0-9]{2}/[0-9]{2}/"
                    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                    r"-(mix|caller|agent|stereo)\.wav")


def inside(path: PurePosixPath | Path, directory: str) -> str:
    """The part of ``path`` under ``directory``; fails if it is not (lexically) inside it."""
    normal = os.path.normpath(str(path))
    assert normal == str(path), f"{path} is not in normal form"
    assert os.path.commonpath([normal, os.path.normpath(directory)]) == os.path.normpath(directory)
    return os.path.relpath(normal, os.path.normpath(directory))


@given(st.uuids(), st.datetimes(timezones=st.just(UTC)), DIRS, DIRS)
def test_paths_are_the_date_and_the_uuid_inside_the_configured_directories(
        rid: UUID, at: datetime, asterisk_dir: str, local_dir: str) -> None:
    f = RecordingFiles.for_recording(rid, at, asterisk_dir, local_dir)
    for path in (f.asterisk_mix, f.asterisk_caller, f.asterisk_agent):
        assert LAYOUT.fullmatch(inside(path, asterisk_dir)) and path.name.startswith(str(rid))
    for path in (f.local_mix, f.local_caller, f.local_agent, f.local_stereo):
        assert LAYOUT.fullmatch(inside(path, local_dir)) and path.name.startswith(str(rid))


class CapturingAmi:
    def __init__(self) -> None:
        self.started: list[tuple[str, str, str]] = []

    async def mixmonitor_start(self, channel: str, file: str, *, options: str = "") -> str:
        self.started.append((channel, file, options))
        return "mm-1"


@given(hostile, st.uuids())
async def test_a_hostile_channel_name_never_reaches_the_mixmonitor_options(
        name: str, rid: UUID) -> None:
    ami = CapturingAmi()
    recorder = Recorder(ami, asterisk_dir="/spool", local_dir="/local",  # type: ignore[arg-type]
                        finalise_timeout=1)
    files = recorder.files(rid, datetime(2026, 11, 22, tzinfo=UTC))
    await recorder.start(name, files)
    [(channel_name, file, options)] = ami.started
    assert (channel_name, file) == (name, str(files.asterisk_mix))
    # MixMonitor parses ( ) , | in its options: only our own paths may be in there.
    assert options == f"bi(CALLREC_MIXMONITOR)r({files.asterisk_agent})t({files.asterisk_caller})"


@pytest.mark.parametrize("nasty", [s for s in NASTY if s] + ["../" * 50 + "etc/passwd"])
async def test_a_whole_call_full_of_hostile_input_records_into_uuid_named_files(nasty: str) -> None:
    async with Rig() as rig:
        caller = channel(CALLER["id"], CALLER["name"], number=nasty)
        await rig.send("StasisStart", channel=caller, args=["inbound"])
        [session] = rig.controller.calls.values()
        rig.sessions.append(session)
        await rig.finish_playback(1, rig.deps.inbound.announcement)
        await until(lambda: len(rig.journal.of("ari", "play")) >= 2, "the number prompt")
        await rig.send("ChannelDtmfReceived", channel=CALLER, digit=nasty, duration_ms=100)
        junk = "".join(c for c in nasty[:20] if c not in DTMF_KEYS)
        await rig.key(f"4{junk}8213#")  # one event per character: junk between the digits
        await rig.finish_playback(2, rig.deps.inbound.client_number_prompt)
        await until(lambda: rig.journal.of("ari", "bridge_start_moh"), "music on hold")
        agent_id = (await rig.agent_rung())["id"]
        agent = channel(agent_id, f"PJSIP/{nasty}", number=nasty)
        call_id, leg_id = rig.journal.of("ari", "originate")[-1].args["app_args"].split(",")[1:]
        await rig.send("StasisStart", channel=agent, args=["agent", call_id, leg_id])
        await until(lambda: rig.added(agent_id), "the agent moved into the mix bridge")
        await rig.send("ChannelEnteredBridge", channel=CALLER, bridge=bridge(rig.mix()))
        await rig.send("ChannelEnteredBridge", channel=agent, bridge=bridge(rig.mix()))
        await until(lambda: rig.journal.of("ami", "start"), "MixMonitor started")

        [start] = rig.journal.of("ami", "start")
        files: RecordingFiles = start.args["files"]
        await until(lambda: rig.stored("recording_started"), "the recording's evidence")
        [recording] = rig.stored("recording_started")
        rid = recording["id"]
        assert start.args["channel_name"] == f"PJSIP/{nasty}"
        for path in (files.asterisk_mix, files.asterisk_caller, files.asterisk_agent):
            assert LAYOUT.fullmatch(inside(path, "/spool")) and path.name.startswith(str(rid))
        for path in (files.local_mix, files.local_caller, files.local_agent, files.local_stereo):
            assert LAYOUT.fullmatch(inside(path, "/local")) and path.name.startswith(str(rid))
        assert [n["client_number"] for n in rig.stored("set_client_number")] == ["48213"]
