"""The crash sweep: which leftover recording files to repair, hash or just report -- and that it
never deletes, never touches a live or sealed file, never leaves local_dir."""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callrec.audio import sine, wav_is_closed, write_samples
from callrec.controller.recorder import RecordingFiles
from callrec.controller.sweep import (
    Action,
    FileState,
    Reason,
    Step,
    Sweeper,
    carry_out,
    parse_name,
    plan_sweep,
    scan,
    sweep,
)
from callrec.store import StoreError

NOW = 1_800_000_000.0  # the injected clock (seconds since the epoch)
QUIET = 60.0
OLD = NOW - 3600       # a file last written an hour ago
DAY = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
OPEN = ("recording", "stopping", "finalising")
SEALED = ("complete", "incomplete", "interrupted", "failed", "purged")


# ------------------------------------------------------------------------------ pure decision
def state(*, closed: bool = False, mtime: float = OLD, rid: UUID | None = None) -> FileState:
    rid = rid or uuid4()
    return FileState(Path(f"/rec/2026/11/22/{rid}-mix.wav"), rid, "mix", 1044, mtime, closed)


def decide(f: FileState, status: str | None = None, running: frozenset[UUID] = frozenset()
           ) -> tuple[Reason, Step] | None:
    rows = {} if status is None else {f.recording_id: status}
    actions = plan_sweep([f], rows, running, NOW, QUIET)
    return (actions[0].reason, actions[0].step) if actions else None


@pytest.mark.parametrize("closed, status, expected", [
    (False, None, (Reason.ORPHAN, Step.REPAIR)),
    (True, None, (Reason.ORPHAN, Step.HASH)),
    *[(False, s, (Reason.UNSEALED, Step.REPAIR)) for s in OPEN],
    *[(True, s, (Reason.UNSEALED, Step.HASH)) for s in OPEN],
    *[(False, s, (Reason.SEALED_OPEN, Step.NOTE)) for s in SEALED],
    *[(True, s, None) for s in SEALED],
])
def test_a_quiet_file_nobody_owns_is_decided_by_its_row(
        closed: bool, status: str | None, expected: tuple[Reason, Step] | None) -> None:
    assert decide(state(closed=closed), status) == expected


@pytest.mark.parametrize("status", [None, *OPEN, *SEALED])
@pytest.mark.parametrize("closed", [False, True])
def test_a_recording_a_live_call_owns_is_never_touched(status: str | None, closed: bool) -> None:
    f = state(closed=closed)
    assert decide(f, status, running=frozenset({f.recording_id})) is None


@pytest.mark.parametrize("age, acts", [(0.0, False), (QUIET - 0.001, False), (QUIET, True),
                                       (QUIET * 100, True)])
def test_a_file_written_within_the_quiet_period_is_left_alone(age: float, acts: bool) -> None:
    assert (decide(state(mtime=NOW - age)) is not None) is acts


def test_a_file_from_the_future_counts_as_fresh() -> None:
    assert decide(state(mtime=NOW + 5)) is None  # a clock step back must not trigger repairs


def test_the_plan_keeps_the_order_of_the_files() -> None:
    files = [state(), state(closed=True), state()]
    assert [a.file for a in plan_sweep(files, {}, set(), NOW, QUIET)] == files


# ------------------------------------------------------------------------------ file names
@given(st.uuids(), st.datetimes(timezones=st.just(UTC)))
def test_every_file_the_recorder_names_is_one_the_sweep_finds(rid: UUID, at: datetime) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = RecordingFiles.for_recording(rid, at, "/ast", tmp)
        legs = {"mix": files.local_mix, "caller": files.local_caller, "agent": files.local_agent,
                "stereo": files.local_stereo}
        for path in legs.values():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
        found = {(f.path, f.recording_id, f.leg) for f in scan(Path(tmp), since=at.date())}
        assert found == {(path, rid, leg) for leg, path in legs.items()}


@pytest.mark.parametrize("name", [
    "notes.txt", "0b3c9a52-5f1e-4a8e-9d7e-2f6f8a1c0d11-mix.wav.bak",
    "0B3C9A52-5F1E-4A8E-9D7E-2F6F8A1C0D11-mix.wav",  # we only ever write lowercase
    "0b3c9a525f1e4a8e9d7e2f6f8a1c0d11-mix.wav", "0b3c9a52-5f1e-4a8e-9d7e-2f6f8a1c0d11-other.wav",
    "../0b3c9a52-5f1e-4a8e-9d7e-2f6f8a1c0d11-mix.wav", "x-0b3c9a52-5f1e-4a8e-9d7e-2f6f8a1c0d11-mix.wav",
    "0b3c9a52-5f1e-4a8e-9d7e-2f6f8a1c0d11-mix.wav\n",
])
def test_names_we_never_write_are_ignored(name: str) -> None:
    assert parse_name(name) is None


# ------------------------------------------------------------------------------ on disk
def asterisk_header(rate: int = 8000) -> bytes:
    """format_wav's header as written at open: RIFF and data sizes 0 until wav_close()."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (b"RIFF" + struct.pack("<I", 0) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", 0))


def crashed(path: Path, seconds: float, mtime: float = OLD) -> Path:
    """A MixMonitor file as an Asterisk crash leaves it: audio on disk, header still zeroed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(asterisk_header() + (sine(400, seconds) * 16000).astype("<i2").tobytes())
    os.utime(path, (mtime, mtime))
    return path


def closed_file(path: Path, seconds: float, mtime: float = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_samples(path, sine(550, seconds), rate=8000)
    os.utime(path, (mtime, mtime))
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Rows:
    """The recordings table as the sweep sees it, and the ids it was asked about."""

    def __init__(self, rows: Mapping[UUID, str] | None = None, fail: bool = False) -> None:
        self.rows = dict(rows or {})
        self.fail = fail
        self.asked: list[set[UUID]] = []

    async def __call__(self, ids: Collection[UUID]) -> Mapping[UUID, str]:
        self.asked.append(set(ids))
        if self.fail:
            raise StoreError("connection refused", transient=True)
        return {i: s for i, s in self.rows.items() if i in ids}


def rec_files(root: Path, rid: UUID | None = None, at: datetime = DAY) -> RecordingFiles:
    return RecordingFiles.for_recording(rid or uuid4(), at, "/var/spool/asterisk/callrec", str(root))


async def run(root: Path, rows: Rows, running: set[UUID] | None = None, **kw: object) -> list:
    return await sweep(root, rows, lambda: running or set(), now=NOW, quiet_seconds=QUIET, **kw)


async def test_a_crashed_unsealed_recording_is_repaired_and_fingerprinted(tmp_path: Path) -> None:
    f = rec_files(tmp_path)
    for leg, seconds in [(f.local_mix, 2.5), (f.local_caller, 2.5), (f.local_agent, 2.4)]:
        crashed(leg, seconds)
    rid = UUID(f.local_mix.name[:36])
    found = {x.leg: x for x in await run(tmp_path, Rows({rid: "recording"}))}
    assert set(found) == {"mix", "caller", "agent"}
    for leg, path, ms in [("mix", f.local_mix, 2500), ("caller", f.local_caller, 2500),
                          ("agent", f.local_agent, 2400)]:
        x = found[leg]
        assert (x.recording_id, x.reason, x.outcome, x.path) == (rid, Reason.UNSEALED, "repaired", path)
        assert wav_is_closed(path)
        assert x.facts is not None and x.facts.duration_ms == ms
        assert x.facts.sha256 == digest(path) and x.facts.bytes == path.stat().st_size
        assert x.last_write == datetime.fromtimestamp(OLD, UTC)


async def test_an_orphan_is_reported_never_deleted(tmp_path: Path) -> None:
    open_one = crashed(rec_files(tmp_path).local_mix, 1.0)
    closed_one = closed_file(rec_files(tmp_path).local_agent, 1.0)
    before = digest(closed_one)
    found = {x.path: x for x in await run(tmp_path, Rows())}
    assert {(x.reason, x.outcome) for x in found.values()} == {
        (Reason.ORPHAN, "repaired"), (Reason.ORPHAN, "hashed")}
    assert found[open_one].outcome == "repaired" and found[closed_one].outcome == "hashed"
    assert open_one.exists() and digest(closed_one) == before


async def test_a_sealed_recordings_file_is_only_noted(tmp_path: Path) -> None:
    path = crashed(rec_files(tmp_path).local_mix, 1.0)
    before = digest(path)
    [x] = await run(tmp_path, Rows({UUID(path.name[:36]): "complete"}))
    assert (x.reason, x.outcome, x.facts) == (Reason.SEALED_OPEN, "noted", None)
    assert digest(path) == before  # its stored SHA-256 is of these bytes: never rewrite them


async def test_live_and_fresh_recordings_are_left_alone(tmp_path: Path) -> None:
    live = crashed(rec_files(tmp_path).local_mix, 1.0)
    fresh = crashed(rec_files(tmp_path).local_mix, 1.0, mtime=NOW - 1)
    before = {live: digest(live), fresh: digest(fresh)}
    rows = Rows({UUID(p.name[:36]): "recording" for p in before})
    assert await run(tmp_path, rows, running={UUID(live.name[:36])}) == []
    assert {p: digest(p) for p in before} == before


async def test_without_the_rows_nothing_is_decided(tmp_path: Path) -> None:
    path = crashed(rec_files(tmp_path).local_mix, 1.0)
    before = digest(path)
    with pytest.raises(StoreError):
        await run(tmp_path, Rows(fail=True))  # a database outage must not make everything orphan
    assert digest(path) == before


async def test_a_file_too_short_for_a_header_is_reported_unreadable_and_kept(tmp_path: Path) -> None:
    path = rec_files(tmp_path).local_mix
    path.parent.mkdir(parents=True)
    path.write_bytes(b"RIFF\0\0")  # the disk filled up (or Asterisk died) while writing the header
    os.utime(path, (OLD, OLD))
    [x] = await run(tmp_path, Rows())
    assert (x.outcome, x.facts) == ("unreadable", None) and x.error
    assert path.read_bytes() == b"RIFF\0\0"


async def test_only_the_recorders_layout_is_looked_at(tmp_path: Path) -> None:
    name = f"{uuid4()}-mix.wav"
    strays = [crashed(tmp_path / name, 1.0), crashed(tmp_path / "2026/11" / name, 1.0),
              crashed(tmp_path / "misc/11/22" / name, 1.0),
              crashed(tmp_path / "2026/11/22" / f"{name}.bak", 1.0),
              crashed(tmp_path / "2026/11/22/sub" / name, 1.0)]
    (tmp_path / "2026/11/22/notes.txt").write_text("x")
    before = {p: digest(p) for p in strays}
    assert await run(tmp_path, Rows()) == []
    assert {p: digest(p) for p in strays} == before


async def test_symlinks_are_never_followed_out_of_local_dir(tmp_path: Path) -> None:
    root, outside = tmp_path / "spool", tmp_path / "elsewhere"
    target = crashed(outside / "2026/11/22" / f"{uuid4()}-mix.wav", 1.0)
    day = root / "2026/11/22"
    day.mkdir(parents=True)
    (day / f"{uuid4()}-mix.wav").symlink_to(target)  # a file link named like a recording
    (root / "2026/11/23").symlink_to(outside / "2026/11/22", target_is_directory=True)
    (root / "2027").symlink_to(outside / "2026", target_is_directory=True)
    before = digest(target)
    assert scan(root) == []
    assert await run(root, Rows()) == []
    assert digest(target) == before and not wav_is_closed(target)


def test_a_day_linked_inside_local_dir_is_not_walked_twice(tmp_path: Path) -> None:
    path = crashed(rec_files(tmp_path).local_mix, 1.0)
    (tmp_path / "2026/11/23").symlink_to(path.parent, target_is_directory=True)
    (tmp_path / "2026/12").symlink_to(path.parent.parent, target_is_directory=True)
    assert [f.path for f in scan(tmp_path)] == [path]


async def test_a_symlinked_local_dir_itself_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "data"
    path = crashed(real / "2026/11/22" / f"{uuid4()}-mix.wav", 1.0)
    (tmp_path / "spool").symlink_to(real, target_is_directory=True)  # e.g. /var/spool -> /data
    [x] = await run(tmp_path / "spool", Rows())
    assert x.outcome == "repaired" and wav_is_closed(path)


async def test_days_before_since_are_skipped(tmp_path: Path) -> None:
    old = crashed(rec_files(tmp_path, at=datetime(2026, 11, 20, tzinfo=UTC)).local_mix, 1.0)
    new = crashed(rec_files(tmp_path, at=datetime(2026, 11, 21, tzinfo=UTC)).local_mix, 1.0)
    assert [x.path for x in await run(tmp_path, Rows(), since=date(2026, 11, 21))] == [new]
    assert not wav_is_closed(old)


async def test_a_missing_local_dir_is_an_empty_sweep(tmp_path: Path) -> None:
    rows = Rows()
    assert await run(tmp_path / "never-created", rows) == []
    assert rows.asked == []


async def test_the_rows_are_asked_for_once_with_every_recording_id(tmp_path: Path) -> None:
    a, b = rec_files(tmp_path), rec_files(tmp_path)
    for path in (a.local_mix, a.local_agent, b.local_mix):
        crashed(path, 0.5)
    rows = Rows()
    await run(tmp_path, rows)
    assert rows.asked == [{UUID(a.local_mix.name[:36]), UUID(b.local_mix.name[:36])}]


def test_a_file_that_changed_since_the_scan_is_left_for_the_next_sweep(tmp_path: Path) -> None:
    path = crashed(rec_files(tmp_path).local_mix, 1.0)
    [f] = scan(tmp_path)
    with open(path, "ab") as out:
        out.write(b"\0\0" * 160)  # MixMonitor was alive after all
    os.utime(path, (OLD, OLD))
    assert carry_out(Action(f, Reason.ORPHAN, Step.REPAIR), tmp_path) is None
    assert not wav_is_closed(path)


async def test_the_sweeper_reports_each_file_once(tmp_path: Path) -> None:
    first = crashed(rec_files(tmp_path).local_mix, 1.0)
    sweeper = Sweeper(tmp_path, Rows(), quiet_seconds=QUIET, clock=lambda: NOW)
    assert [x.path for x in await sweeper.run_once(set)] == [first]
    second = crashed(rec_files(tmp_path).local_mix, 1.0)
    assert [x.path for x in await sweeper.run_once(set)] == [second]
    assert await sweeper.run_once(set) == []


async def test_a_reported_file_is_not_looked_up_or_hashed_again(tmp_path: Path) -> None:
    orphan = crashed(rec_files(tmp_path).local_mix, 1.0)
    rows = Rows()
    sweeper = Sweeper(tmp_path, rows, quiet_seconds=QUIET, clock=lambda: NOW)
    [found] = await sweeper.run_once(set)
    assert found.path == orphan and rows.asked == [{UUID(orphan.name[:36])}]
    assert await sweeper.run_once(set) == []
    assert len(rows.asked) == 1  # nothing left to ask about: no lookup at all
