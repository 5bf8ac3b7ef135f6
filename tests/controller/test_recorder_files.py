"""Recorder: file names from our own IDs only; MixMonitor options; a failed stop is not an error."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from uuid import UUID

import numpy as np
import pytest
import soundfile as sf

from callrec.ami import AmiError, AmiOutcomeUnknown
from callrec.controller.recorder import Recorder, RecordingFiles

RID = UUID("0b3c9a52-5f1e-4a8e-9d7e-2f6f8a1c0d11")
AT = datetime(2026, 3, 7, 23, 59, 59, tzinfo=UTC)
ASTERISK_DIR = "/var/spool/asterisk/callrec"
LOCAL_DIR = "/var/tmp/callrec/rootfs/var/spool/asterisk/callrec"


def files() -> RecordingFiles:
    return RecordingFiles.for_recording(RID, AT, ASTERISK_DIR, LOCAL_DIR)


def test_paths_are_built_from_the_recording_id_and_date_only() -> None:
    f = files()
    day = "2026/03/07"
    assert f.asterisk_mix == PurePosixPath(f"{ASTERISK_DIR}/{day}/{RID}-mix.wav")
    assert f.asterisk_caller == PurePosixPath(f"{ASTERISK_DIR}/{day}/{RID}-caller.wav")
    assert f.asterisk_agent == PurePosixPath(f"{ASTERISK_DIR}/{day}/{RID}-agent.wav")
    assert f.local_stereo == Path(f"{LOCAL_DIR}/{day}/{RID}-stereo.wav")


def test_local_paths_mirror_asterisks() -> None:
    f = files()
    pairs = [(f.asterisk_mix, f.local_mix), (f.asterisk_caller, f.local_caller),
             (f.asterisk_agent, f.local_agent)]
    for seen_by_asterisk, seen_by_us in pairs:
        assert seen_by_asterisk.relative_to(ASTERISK_DIR) == PurePosixPath(
            seen_by_us.relative_to(LOCAL_DIR).as_posix())


def test_every_file_is_distinct() -> None:
    f = files()
    assert len({f.local_mix, f.local_caller, f.local_agent, f.local_stereo}) == 4


def test_different_recordings_never_share_a_file() -> None:
    other = RecordingFiles.for_recording(UUID(int=RID.int + 1), AT, ASTERISK_DIR, LOCAL_DIR)
    assert {files().local_mix, files().local_agent}.isdisjoint({other.local_mix, other.local_agent})


def test_names_contain_nothing_but_id_date_and_leg() -> None:
    for path in (files().asterisk_mix, files().asterisk_caller, files().asterisk_agent):
        # MixMonitor's option string uses ( ) , | as syntax; a path must never contain them.
        assert not set(str(path)) & set("(),|;$&' \"")
        assert path.name.startswith(str(RID))


# ------------------------------------------------------------------------------------ MixMonitor
class FakeAmi:
    """The two AMI gateway calls the Recorder uses."""

    def __init__(self, stop_error: AmiError | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.stop_error = stop_error

    async def mixmonitor_start(self, channel: str, file: str, *, options: str = "") -> str | None:
        self.calls.append(("start", {"channel": channel, "file": file, "options": options}))
        return "a1b2c3"

    async def mixmonitor_stop(self, channel: str, mixmonitor_id: str | None = None) -> None:
        self.calls.append(("stop", {"channel": channel, "mixmonitor_id": mixmonitor_id}))
        if self.stop_error is not None:
            raise self.stop_error


def recorder(ami: FakeAmi) -> Recorder:
    return Recorder(ami, asterisk_dir=ASTERISK_DIR, local_dir=LOCAL_DIR,  # type: ignore[arg-type]
                    finalise_timeout=1.0)


async def test_start_attaches_mixmonitor_to_the_agent_channel() -> None:
    ami = FakeAmi()
    f = recorder(ami).files(RID, AT)
    assert f == files()
    assert await recorder(ami).start("PJSIP/agent1-00000002", f) == "a1b2c3"
    [(kind, call)] = ami.calls
    assert kind == "start"
    assert call["channel"] == "PJSIP/agent1-00000002"
    assert call["file"] == str(f.asterisk_mix)


async def test_start_options_record_only_while_bridged_with_both_legs_split() -> None:
    ami = FakeAmi()
    f = files()
    await recorder(ami).start("PJSIP/agent1-00000002", f)
    options = ami.calls[0][1]["options"]
    flags = re.sub(r"\([^)]*\)", "", options)  # option letters, their (arguments) removed
    assert "b" in flags  # record only while bridged: the file ends when the agent leaves
    assert re.search(r"i\([A-Z_]+\)", options)  # MixMonitor ID, for a targeted StopMixMonitor
    # r() is what the agent's channel reads (the agent), t() what it is sent (the caller).
    assert f"r({f.asterisk_agent})" in options
    assert f"t({f.asterisk_caller})" in options


async def test_stop_targets_the_mixmonitor_id() -> None:
    ami = FakeAmi()
    assert await recorder(ami).stop("PJSIP/agent1-00000002", "a1b2c3") is True
    assert ami.calls == [("stop", {"channel": "PJSIP/agent1-00000002", "mixmonitor_id": "a1b2c3"})]


@pytest.mark.parametrize("message", ["No such channel", "timed out after 3.0s"])
async def test_stop_on_a_gone_channel_returns_false(message: str) -> None:
    ami = FakeAmi(stop_error=AmiError(message, "StopMixMonitor"))
    assert await recorder(ami).stop("PJSIP/agent1-00000002", None) is False
    assert [kind for kind, _ in ami.calls] == ["stop"]


async def test_start_failure_is_the_callers_to_handle() -> None:
    class Refusing(FakeAmi):
        async def mixmonitor_start(self, channel: str, file: str, *, options: str = "") -> str:
            raise AmiError("No such channel", "MixMonitor")

    with pytest.raises(AmiError):
        await recorder(Refusing()).start("PJSIP/agent1-00000002", files())


async def test_a_stereo_file_that_cannot_be_written_does_not_stop_the_seal(tmp_path: Path) -> None:
    rec = Recorder(FakeAmi(), asterisk_dir=ASTERISK_DIR, local_dir=str(tmp_path),  # type: ignore[arg-type]
                   finalise_timeout=1.0)
    f = rec.files(RID, AT)
    f.local_mix.parent.mkdir(parents=True)
    for path in (f.local_mix, f.local_caller, f.local_agent):
        sf.write(path, np.zeros(800, dtype=np.int16), 8000, subtype="PCM_16")
    # The merge writes <stereo>.part first: pointed nowhere, it cannot, as on a full disk.
    f.local_stereo.with_name(f.local_stereo.name + ".part").symlink_to(tmp_path / "no" / "where")
    done = await rec.finalise(f)
    assert done.stereo is None and not f.local_stereo.exists()
    assert done.facts is not None and (done.facts.duration_ms, done.complete) == (100, True)


class LostAmi(FakeAmi):
    """AMI that loses the first stop and answers again when ``back`` is set."""

    def __init__(self) -> None:
        super().__init__(stop_error=AmiOutcomeUnknown("no answer within 3 s", "StopMixMonitor"))
        self.back = asyncio.Event()

    async def wait_answering(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self.back.wait()
        except TimeoutError:
            return False
        self.stop_error = None
        return True


async def test_an_unanswered_stop_is_sent_again_once_ami_answers_without_holding_the_call() -> None:
    ami = LostAmi()
    rec = recorder(ami)
    async with asyncio.timeout(1):  # returns at once: the call's next steps do not wait for AMI
        assert await rec.stop("PJSIP/agent1-00000002", "a1b2c3") is False
    assert len(ami.calls) == 1
    ami.back.set()
    async with asyncio.timeout(1):  # bounded polling for the stop sent in the background
        while len(ami.calls) < 2:
            await asyncio.sleep(0.01)
    assert ami.calls[1] == ("stop", {"channel": "PJSIP/agent1-00000002", "mixmonitor_id": "a1b2c3"})
