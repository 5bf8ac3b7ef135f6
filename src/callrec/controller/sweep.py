"""Recordings a crash left behind: find them under ``recordings.local_dir``, repair, fingerprint.

Why this exists: Asterisk's ``format_wav`` writes a WAV's RIFF and ``data`` sizes only when the file
is closed, so a crash of Asterisk leaves files whose header claims no audio at all; a crash of the
controller between StopMixMonitor and finalisation leaves rows ``recording``/``stopping``/``finalising``
that nobody will seal. Restart recovery (adopt.py) handles the calls that are still open; this sweep
catches everything else: files of calls that ended meanwhile, and files no recording row names (the
row's INSERT was lost, or somebody copied files in).

It never deletes or renames anything: every file is evidence. It only rewrites header size fields
(``repair_wav_header``) of files nobody owns, and reports what it found. The decision is pure
(:func:`plan_sweep`); the I/O around it is thin (:func:`scan`, :func:`carry_out`, :func:`sweep`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from uuid import UUID

from callrec.audio import AudioError, FileFacts, file_facts, repair_wav_header, wav_is_closed
from callrec.store import RecordingInfo
from callrec.store.models import OPEN_RECORDING_STATUSES

log = logging.getLogger(__name__)

# The only names RecordingFiles ever builds: <canonical lowercase UUID>-<leg>.wav under YYYY/MM/DD.
_NAME = re.compile(
    r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"-(?P<leg>mix|caller|agent|stereo)\.wav", re.ASCII)
# strftime("%Y") does not pad: the recorder names year 999 "999" (only a broken clock gets there).
_YEAR = re.compile(r"[0-9]{1,4}", re.ASCII)
_TWO = re.compile(r"[0-9]{2}", re.ASCII)


class Reason(StrEnum):
    ORPHAN = "orphan"                 # no recording row names this recording id
    UNSEALED = "unsealed"             # row still recording/stopping/finalising; no live call owns it
    SEALED_OPEN = "sealed_but_open"   # row sealed, yet the file's header was never closed


class Step(StrEnum):
    REPAIR = "repair"  # header not closed: rebuild its sizes from the bytes on disk, then hash
    HASH = "hash"      # header closed: hash only
    NOTE = "note"      # touch nothing (a sealed row's SHA-256 is of these exact bytes): report only


@dataclass(frozen=True)
class FileState:
    path: Path
    recording_id: UUID
    leg: str        # mix | caller | agent | stereo
    size: int
    mtime: float    # last write, seconds since the epoch
    closed: bool    # wav_is_closed: the header agrees with the file


@dataclass(frozen=True)
class Action:
    file: FileState
    reason: Reason
    step: Step


@dataclass(frozen=True)
class SweepFinding:
    path: Path
    recording_id: UUID
    leg: str
    reason: Reason
    outcome: str                # repaired | hashed | noted | unreadable
    last_write: datetime        # the file's mtime (UTC): when audio last reached it
    facts: FileFacts | None     # after repair; None when noted or unreadable
    error: str | None = None


# ------------------------------------------------------------------------------------- pure
def plan_sweep(files: Sequence[FileState], rows: Mapping[UUID, str], running: AbstractSet[UUID],
               now: float, quiet_seconds: float) -> list[Action]:
    """What to do with each file. ``rows``: recording id -> status for every id that has a row;
    ``running``: recordings a live call in this controller owns (including those being finalised)."""
    actions = (_decide(f, rows, running, now, quiet_seconds) for f in files)
    return [a for a in actions if a is not None]


def _decide(f: FileState, rows: Mapping[UUID, str], running: AbstractSet[UUID], now: float,
            quiet_seconds: float) -> Action | None:
    if f.recording_id in running:
        return None  # MixMonitor (or our own finalisation) may still be writing it
    if now - f.mtime < quiet_seconds:
        # Still growing, or just stopped: MixMonitor writes every 20 ms while bridged, so a quiet
        # file is one nothing writes any more. Repairing a live file would race its own close.
        return None
    status = rows.get(f.recording_id)
    if status is None:
        return Action(f, Reason.ORPHAN, _step(f))
    if status in OPEN_RECORDING_STATUSES:
        return Action(f, Reason.UNSEALED, _step(f))
    if not f.closed:
        return Action(f, Reason.SEALED_OPEN, Step.NOTE)
    return None


def _step(f: FileState) -> Step:
    return Step.HASH if f.closed else Step.REPAIR


# ------------------------------------------------------------------------------------- scan
def parse_name(name: str) -> tuple[UUID, str] | None:
    """(recording id, leg) of a file name RecordingFiles could have built; None otherwise."""
    m = _NAME.fullmatch(name)
    return (UUID(m["id"]), m["leg"]) if m else None


def scan(root: Path, *, since: date | None = None) -> list[FileState]:
    """Every recording file under ``root``/YYYY/MM/DD (days before ``since`` skipped).

    Symlinks are never followed (neither directories nor files) and names that do not match the
    recorder's pattern are ignored, so nothing outside ``root`` is ever looked at.
    """
    try:
        base = root.resolve(strict=True)
    except OSError:
        return []  # no recording written yet
    return [state for path in _day_files(base, since) if (state := _state(path, base))]


def _day_files(base: Path, since: date | None) -> Iterator[Path]:
    for year in _subdirs(base, _YEAR):
        for month in _subdirs(year, _TWO):
            for day in _subdirs(month, _TWO):
                if since is None or _day(year, month, day) >= since:
                    yield from _files(day)


def _subdirs(parent: Path, pattern: re.Pattern[str]) -> list[Path]:
    try:
        with os.scandir(parent) as entries:
            return sorted(Path(e.path) for e in entries
                          if pattern.fullmatch(e.name) and e.is_dir(follow_symlinks=False))
    except OSError as exc:
        log.warning("sweep: cannot list %s: %s", parent, exc)
        return []


def _day(year: Path, month: Path, day: Path) -> date:
    try:
        return date(int(year.name), int(month.name), int(day.name))
    except ValueError:
        return date.min  # 2026/13/45 was never written by us: outside any window


def _files(day: Path) -> list[Path]:
    try:
        with os.scandir(day) as entries:
            return sorted(Path(e.path) for e in entries
                          if parse_name(e.name) and e.is_file(follow_symlinks=False))
    except OSError as exc:
        log.warning("sweep: cannot list %s: %s", day, exc)
        return []


def _state(path: Path, base: Path) -> FileState | None:
    parsed = parse_name(path.name)
    try:
        st = os.lstat(path)
    except OSError:
        return None  # gone since listing
    if parsed is None or not stat.S_ISREG(st.st_mode) or not _inside(path, base):
        return None
    try:
        closed = wav_is_closed(path)
    except AudioError:
        closed = False  # unreadable: repair will say why, in a finding
    return FileState(path, parsed[0], parsed[1], st.st_size, st.st_mtime, closed)


def _inside(path: Path, base: Path) -> bool:
    try:
        return path.resolve(strict=True).is_relative_to(base)
    except OSError:
        return False


# ---------------------------------------------------------------------------------- carry out
def carry_out(action: Action, root: Path) -> SweepFinding | None:
    """Do one planned action. None if the file changed since the scan (someone writes it after
    all, or it was replaced): leave it for the next sweep rather than race a writer."""
    f = action.file
    if not _unchanged(f, root.resolve()):
        return None
    if action.step is Step.NOTE:
        return _finding(action, "noted", None)
    try:
        repaired = action.step is Step.REPAIR and repair_wav_header(f.path)
        facts = file_facts(f.path)
    except AudioError as exc:
        # e.g. a file too short to hold a header: Asterisk died, or the disk was full, at open.
        return _finding(action, "unreadable", None, str(exc))
    return _finding(action, "repaired" if repaired else "hashed", facts)


def _unchanged(f: FileState, base: Path) -> bool:
    try:
        st = os.lstat(f.path)
    except OSError:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_size == f.size and st.st_mtime == f.mtime
            and _inside(f.path, base))


def _finding(action: Action, outcome: str, facts: FileFacts | None,
             error: str | None = None) -> SweepFinding:
    f = action.file
    return SweepFinding(f.path, f.recording_id, f.leg, action.reason, outcome,
                        datetime.fromtimestamp(f.mtime, UTC), facts, error)


# -------------------------------------------------------------------------------- orchestrate
Statuses = Callable[[Collection[UUID]], Awaitable[Mapping[UUID, str]]]


async def sweep(root: Path, statuses: Statuses, running: Callable[[], AbstractSet[UUID]], *,
                now: float, quiet_seconds: float, since: date | None = None,
                done: AbstractSet[Path] = frozenset()) -> list[SweepFinding]:
    """Scan, look the ids up, plan, act. ``statuses`` errors (StoreError) propagate: without the
    rows every file would look orphaned, so no decision is better than a wrong one. Files in
    ``done`` (already reported) are neither looked up nor hashed again."""
    files = [f for f in await asyncio.to_thread(scan, root, since=since) if f.path not in done]
    if not files:
        return []
    rows = await statuses({f.recording_id for f in files})
    # Read after the lookup: a call that started meanwhile is in it (and its file is fresh anyway).
    actions = plan_sweep(files, rows, running(), now, quiet_seconds)
    found = [await asyncio.to_thread(carry_out, a, root) for a in actions]
    return [f for f in found if f is not None]


class RecordingLookup(Protocol):
    async def get_recording(self, id: UUID) -> RecordingInfo | None: ...


def store_statuses(store: RecordingLookup) -> Statuses:
    """A ``Statuses`` over ``Store.get_recording`` (one query per id; fine for a day's files)."""
    async def lookup(ids: Collection[UUID]) -> Mapping[UUID, str]:
        found: dict[UUID, str] = {}
        for rid in ids:
            info = await store.get_recording(rid)
            if info is not None:
                found[rid] = info.recording.status
        return found
    return lookup


class Sweeper:
    """Runs :func:`sweep` again and again; each file is reported once per process, and then left
    out of later passes (a directory shared with others can hold thousands of orphans: each pass
    would otherwise look every one up and hash it again)."""

    def __init__(self, root: Path, statuses: Statuses, *, quiet_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._root = root
        self._statuses = statuses
        self._quiet = quiet_seconds
        self._clock = clock
        self._reported: set[Path] = set()

    async def run_once(self, running: Callable[[], AbstractSet[UUID]],
                       since: date | None = None) -> list[SweepFinding]:
        found = await sweep(self._root, self._statuses, running, now=self._clock(),
                            quiet_seconds=self._quiet, since=since, done=self._reported)
        self._reported.update(f.path for f in found)
        return found
