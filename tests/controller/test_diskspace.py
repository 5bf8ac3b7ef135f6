"""The disk guard: refuse or carry on below the free-space threshold, and spot a recording that a
full disk cut short -- in tables, then for real on a 256 KiB tmpfs."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf

from callrec.app import watch_disk
from callrec.audio import file_facts, sine, wav_is_closed
from callrec.controller.diskspace import (
    DiskError,
    DiskVerdict,
    cut_short,
    decide_disk,
    disk_news,
    probe,
)

KIB = 1024
GIB = 1024 ** 3


# ------------------------------------------------------------------------------------ tables
@pytest.mark.parametrize("free, policy, record, alarmed", [
    (10 * GIB, "refuse", True, False),
    (10 * GIB, "carry_on", True, False),
    (GIB, "refuse", True, False),           # exactly at the threshold: enough
    (GIB - 1, "refuse", False, True),
    (GIB - 1, "carry_on", True, True),
    (0, "refuse", False, True),
    (0, "carry_on", True, True),
])
def test_below_the_threshold_the_policy_decides(free: int, policy: str, record: bool,
                                                 alarmed: bool) -> None:
    verdict = decide_disk(free, 100 * GIB, GIB, policy)  # type: ignore[arg-type]
    assert (verdict.record, verdict.alarm is not None) == (record, alarmed)


def test_the_alarm_says_how_much_is_left_and_what_was_done() -> None:
    refused = decide_disk(5, 100, 10, "refuse").alarm
    carried = decide_disk(5, 100, 10, "carry_on").alarm
    assert refused is not None and "5 of 100" in refused and "refused" in refused
    assert carried is not None and "5 of 100" in carried and "cut short" in carried


def test_a_zero_threshold_never_alarms() -> None:
    assert decide_disk(0, 100, 0, "refuse") == DiskVerdict(True, None)


@pytest.mark.parametrize("free, total, threshold, policy", [
    (-1, 100, 10, "refuse"), (10, -1, 10, "refuse"), (10, 100, -1, "refuse"),
    (101, 100, 10, "refuse"), (10, 100, 10, "ignore"), (10, 100, 10, "REFUSE"),
])
def test_impossible_inputs_are_refused_loudly(free: int, total: int, threshold: int,
                                               policy: str) -> None:
    with pytest.raises(ValueError):
        decide_disk(free, total, threshold, policy)  # type: ignore[arg-type]


@pytest.mark.parametrize("recorded, in_bridge, tolerance, short", [
    (60_000, 60_000, 100, False),
    (59_900, 60_000, 100, False),   # within tolerance
    (59_899, 60_000, 100, True),
    (60_020, 60_000, 100, False),   # one frame longer: not short (longer is checked elsewhere)
    (3_581, 10_000, 100, True),     # a full disk
    (0, 10_000, 100, True),
    (0, 0, 100, False),
    (59_800, 60_000, 250, False),   # the sandbox's simulated phones start ~200 ms late
])
def test_cut_short_compares_the_file_with_the_agents_time_in_the_bridge(
        recorded: int, in_bridge: int, tolerance: int, short: bool) -> None:
    assert cut_short(recorded, in_bridge, tolerance) is short


def test_the_default_tolerance_is_100_ms() -> None:
    assert (cut_short(900, 1000), cut_short(899, 1000)) == (False, True)


@pytest.mark.parametrize("args", [(-1, 10), (10, -1), (10, 10, -1)])
def test_negative_durations_are_refused(args: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        cut_short(*args)


LOW = DiskVerdict(True, "recordings disk low: 10 of 100 bytes free, below 50: recording anyway")
FINE = DiskVerdict(True, None)


def test_a_watched_disk_alarms_once_when_it_goes_low_and_says_when_it_recovers() -> None:
    """Looked at every 30 s: the operator hears of each change once, not every look."""
    low, said = False, []
    for verdict in (FINE, LOW, LOW, LOW, FINE, FINE, LOW):
        low, news = disk_news(low, verdict)
        said.append(news)
    assert said == [None, LOW.alarm, None, None,
                    "recordings disk: free space back above the threshold", None, LOW.alarm]


async def test_watch_disk_logs_the_alarm_at_error(caplog: pytest.LogCaptureFixture) -> None:
    class Disk:
        verdicts = iter([FINE, LOW, LOW])

        async def disk_verdict(self) -> DiskVerdict:
            return next(self.verdicts, LOW)

    watching = asyncio.create_task(watch_disk(Disk(), interval=0.001))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(2):
            while not any(r.levelno == logging.ERROR for r in caplog.records):
                await asyncio.sleep(0.001)
    finally:
        watching.cancel()
    [alarm] = [r for r in caplog.records if r.name == "callrec.app"]
    assert alarm.levelno == logging.ERROR and alarm.getMessage() == LOW.alarm


def test_probe_of_a_missing_directory_is_one_domain_error(tmp_path: Path) -> None:
    with pytest.raises(DiskError, match="cannot read free space"):
        probe(str(tmp_path / "absent"))


def test_probe_reports_a_real_file_system(tmp_path: Path) -> None:
    free, total = probe(str(tmp_path))
    assert 0 <= free <= total and total > 0


# --------------------------------------------------------------------- a real tiny file system
def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, unmounted afterwards whatever happened (needs root)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0:
        _unavailable("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs",
                           str(mount_point)], capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        _unavailable(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], timeout=10, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], timeout=10, check=True)
    assert not os.path.ismount(mount_point)


def record_like_mixmonitor(path: Path, seconds: float) -> int:
    """Write 20 ms frames as MixMonitor does, ignoring every write error as it does; returns how
    many frames failed."""
    audio = sine(400, seconds)
    failures = 0
    with sf.SoundFile(str(path), "w", 8000, 1, "PCM_16", format="WAV") as out:
        for start in range(0, len(audio), 160):
            try:
                out.write(audio[start:start + 160])
            except (sf.SoundFileError, OSError):
                failures += 1
    return failures


def test_a_full_disk_is_refused_and_a_recording_into_it_is_flagged_as_cut_short(
        tiny_fs: Path, tmp_path: Path) -> None:
    free, total = probe(str(tiny_fs))
    assert (free, total) == (256 * KIB, 256 * KIB)
    (tiny_fs / "filler").write_bytes(b"\0" * (200 * KIB))
    free, total = probe(str(tiny_fs))
    assert (free, total) == (56 * KIB, 256 * KIB)
    threshold = 128 * KIB
    assert decide_disk(free, total, threshold, "refuse").record is False
    assert decide_disk(free, total, threshold, "carry_on").record is True

    intended_ms = 10_000  # 160 KB of audio, about three times what is left
    path = tiny_fs / "cut.wav"
    assert record_like_mixmonitor(path, intended_ms / 1000) > 0
    # The header is rewritten in place at close, which needs no new blocks: the truncated file is
    # consistent and looks sound. Only the comparison with the bridge time gives it away.
    assert wav_is_closed(path)
    recorded = file_facts(path).duration_ms
    assert 0 < recorded < intended_ms and path.stat().st_size <= free
    assert cut_short(recorded, intended_ms)

    roomy = tmp_path / "whole.wav"  # the same recording where there is room: not flagged
    assert record_like_mixmonitor(roomy, intended_ms / 1000) == 0
    assert not cut_short(file_facts(roomy).duration_ms, intended_ms)
